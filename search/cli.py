"""python -m search index [--category NAT,MIX] [--model M]  |  python -m search query "QUERY" [--k 10] [--mode hybrid]

Also `python -m lake index` and `python -m lake search "QUERY"`, as before the search stage left the lake.
argv[0] is the subcommand (search/__main__.py and lake/cli.py pass it through). This module only parses and prints.
"""
from __future__ import annotations

import argparse
import os
import sys

import pyarrow as pa

from lake import render
from lake.options import add_lake_options, open_lake
from search.config import CATEGORIES, DEFAULT_MODEL, MODES, IndexConfig, parse_categories
from search.indexer import index_samples
from search.query import search

_SHOWN = ["rank", "score", "sample_id", "category", "repo_id", "where", "snippet"]  # --format table


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m search", description="Semantic and full-text search of samples.")
    sub = ap.add_subparsers(dest="command", required=True)
    p = sub.add_parser("index", help="embed gold samples into the search index (only what changed)")
    p.add_argument("--category", default=",".join(CATEGORIES), help="comma-separated: NAT,MIX,CODE (default all)")
    p.add_argument("--model", default=DEFAULT_MODEL, help="sentence-transformers model name or folder, local only")
    p.add_argument("--batch-rows", type=int, default=IndexConfig.batch_rows)
    p.add_argument("--limit", type=int, help="embed at most N samples this run; the next run embeds the rest")
    add_lake_options(p)
    p = sub.add_parser("search", aliases=["query"], help="vector, full-text or hybrid search of the indexed samples")
    p.add_argument("query")
    p.add_argument("--k", type=int, default=10, help="number of results (default 10)")
    p.add_argument("--category", help="comma-separated categories to search (default all)")
    p.add_argument("--split", help="only samples of this split (train, val, test)")
    p.add_argument("--mode", choices=MODES, default="hybrid")
    p.add_argument("--format", choices=render.FORMATS, default="table")
    p.add_argument("--out", help="write to FILE instead of standard output")
    add_lake_options(p)
    return ap


def _for_table(hits: pa.Table) -> pa.Table:
    """A terminal view: short ids, one `where` column (PR, issue or path), scores to 4 places."""
    rows = []
    for r in hits.to_pylist():
        where = (f"PR #{r['pr_number']}" if r["pr_number"] is not None else
                 f"issue #{r['issue_number']}" if r["issue_number"] is not None else r["path"] or "")
        rows.append({**r, "sample_id": r["sample_id"][:12], "score": round(r["score"], 4), "where": where})
    return pa.Table.from_pylist([{c: r[c] for c in _SHOWN} for r in rows]) if rows else \
        pa.table({c: pa.array([], pa.string()) for c in _SHOWN})


def _summary(stats) -> str:
    counts = [f"embedded {stats.embedded}", f"unchanged {stats.unchanged}", f"deleted {stats.deleted}"]
    if stats.remaining:
        counts.append(f"{stats.remaining} left for the next run (--limit)")
    if stats.no_text:
        counts.append(f"{stats.no_text} without text")
    return (f"search index at lake snapshot {stats.lake_snapshot} ({stats.model}, {','.join(stats.categories)}): "
            f"{', '.join(counts)}; {stats.rows} rows{' (rebuilt for a new model)' if stats.rebuilt else ''} "
            f"in {stats.seconds:.1f}s")


def run(args: argparse.Namespace) -> int:
    if args.command == "index":
        config = IndexConfig(model=args.model, categories=parse_categories(args.category),
                             batch_rows=args.batch_rows, limit=args.limit)
        with open_lake(args) as lk:
            with lk.run("lake index", vars(args)) as record:
                stats = index_samples(lk, config)
                record.rows = stats.embedded
                record.stats = stats.as_dict()
        print(_summary(stats))
        return 0
    with open_lake(args, create=False) as lk:
        hits = search(lk, args.query, k=args.k, categories=args.category, mode=args.mode, split=args.split)
    render.write(_for_table(hits) if args.format == "table" else hits, args.format, args.out)
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # belt and braces: models load from local files only
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")  # our own bar is the one that counts documents
    os.environ.setdefault("LANCEDB_LOG", "error")  # Lance's Rust warnings (e.g. "creating a dataset") are noise here
    return run(parser().parse_args(argv))
