"""python -m lake {sql,tables,describe,snapshots,init,index,search}: look at the lake."""
from __future__ import annotations

import argparse
import importlib
import json
import sys
from datetime import timedelta

import pyarrow as pa

from lake import render
from lake.inspect import describe, table_stats
from lake.maintenance import compact
from lake.options import add_lake_options, open_lake

# Subcommands kept here by name for old command lines; the search stage implements them (argv[0] passed through).
DELEGATED = {"index": "search.cli", "search": "search.cli"}


def _output(p: argparse.ArgumentParser) -> None:
    p.add_argument("--format", choices=render.FORMATS, default="table")
    p.add_argument("--out", help="write to FILE instead of standard output")


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m lake", description="Query and inspect the repo-llm lake.")
    sub = ap.add_subparsers(dest="command", required=True)
    p = sub.add_parser("sql", help="run a SQL query against the lake")
    p.add_argument("query")
    p.add_argument("--snapshot", type=int, help="query the lake as it was at this snapshot")
    add_lake_options(p), _output(p)
    p = sub.add_parser("tables", help="tables with layer, rows, bytes, partitions, last snapshot")
    add_lake_options(p), _output(p)
    p = sub.add_parser("describe", help="columns of one table")
    p.add_argument("table")
    add_lake_options(p), _output(p)
    p = sub.add_parser("snapshots", help="the lake's snapshots (time-travel points)")
    add_lake_options(p), _output(p)
    p = sub.add_parser("init", help="create the lake and its tables (idempotent; run once before many workers)")
    add_lake_options(p)
    p = sub.add_parser("compact", help="merge small files, expire unnamed snapshots older than --retain-days")
    p.add_argument("--retain-days", type=float, default=7.0)
    p.add_argument("--dry-run", action="store_true")
    add_lake_options(p)
    for name in DELEGATED:
        sub.add_parser(name, help=f"see python -m lake {name} --help", add_help=False)
    return ap


def run(args: argparse.Namespace) -> int:
    if args.command == "describe":
        render.write(pa.Table.from_pylist(describe(args.table)), args.format, args.out)
        return 0
    snapshot = getattr(args, "snapshot", None)
    create = args.command == "init"
    with open_lake(args, snapshot=snapshot, create=create) as lk:
        if args.command == "init":
            changed = lk.created
            print(f"lake at {lk.location.describe()}: {len(lk.existing_tables())} tables"
                  + (f", created {len(changed)}" if changed else ", nothing to create"))
        elif args.command == "compact":
            report = compact(lk, timedelta(days=args.retain_days), dry_run=args.dry_run)
            print(json.dumps(report))
        elif args.command == "sql":
            render.write(lk.query(args.query), args.format, args.out)
        elif args.command == "tables":
            render.write(pa.Table.from_pylist(table_stats(lk)), args.format, args.out)
        elif args.command == "snapshots":
            render.write(lk.snapshots(), args.format, args.out)
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in DELEGATED:
        return importlib.import_module(DELEGATED[argv[0]]).main(argv)
    args = parser().parse_args(argv)
    try:
        return run(args)
    except BrokenPipeError:  # `python -m lake sql ... | head`: the reader has what it wanted
        return 0
