"""The document steps: rows of a source model -> serialised (artifacts/grammar.py), redacted text.

`documents` turns sql/documents.sql into the `documents` table; `sft_candidates` turns
sql/sft_candidates.sql into `sft_candidates`. Both stream: one Arrow batch at a time.
"""
from __future__ import annotations

import hashlib
from collections import Counter

import pyarrow as pa
from tqdm import tqdm

from lake.arrow import schema as arrow_schema
from artifacts import grammar
from transforms import secrets
from transforms.config import TransformConfig


def _key(row: dict) -> str:
    if row["kind"] == "package_doc":
        return f"doc={row['path']}"
    for k in ("path", "pr_number", "issue_number", "commit"):
        if row.get(k) is not None:
            return f"{k}={row[k]}"
    return "repo"


def doc_id(source_table: str, repo_id: str, key: str) -> str:
    return hashlib.sha256(f"{source_table}\0{repo_id}\0{key}".encode()).hexdigest()


def render(row: dict) -> str:
    kind, repo = row["kind"], row["repo_id"]
    if kind == "file":
        return grammar.render_file(repo, row["path"], row["content"])
    if kind == "package_doc":
        return grammar.render_package_doc(repo, row["path"], row["content"])
    if kind == "readme":
        return grammar.render_readme(repo, row["content"])
    if kind == "structure":
        return grammar.render_structure(repo, row["paths"])
    if kind == "pull":
        return grammar.render_pull(repo, row["title"], row["content"], row["paths"], row["diff"], row["comments"])
    if kind == "issue":
        return grammar.render_issue(repo, row["title"], row["content"], row["comments"])
    if kind == "commit":
        return grammar.render_commit(repo, row["content"], row["paths"], row["diff"])
    raise ValueError(f"unknown document kind {kind!r}")


def _stream(lake, source, build, out_table: str, stats: Counter, desc: str) -> pa.RecordBatchReader:
    schema = arrow_schema(out_table)
    reader = source(1_000)

    def batches():
        with tqdm(desc=desc, unit=" docs", leave=False) as bar:
            for batch in reader:
                rows = [build(r, stats) for r in batch.to_pylist()]
                bar.update(len(rows))
                yield pa.RecordBatch.from_pylist(rows, schema=schema)

    return pa.RecordBatchReader.from_batches(schema, batches())


def _redact(text: str, stats: Counter) -> tuple[str, dict]:
    text, counts = secrets.redact(text)
    stats.update({f"redacted:{k}": v for k, v in counts.items()})
    return text, counts


def build_documents(lake, source, cfg: TransformConfig) -> dict:
    stats: Counter = Counter()

    def build(row: dict, stats: Counter) -> dict:
        text, counts = _redact(render(row), stats)
        stats[f"kind:{row['kind']}"] += 1
        return {"doc_id": doc_id(row["source_table"], row["repo_id"], _key(row)), "kind": row["kind"], "text": text,
                "redactions": list(counts.items()), "path": row["path"], "language": row["language"],
                "near_dup_cluster": row["near_dup_cluster"], "repo_id": row["repo_id"], "commit": row["commit"],
                "pr_number": row["pr_number"], "issue_number": row["issue_number"],
                "source_table": row["source_table"]}

    lake.write("documents", _stream(lake, source, build, "documents", stats, "documents"), mode="overwrite")
    return {"rows": sum(v for k, v in stats.items() if k.startswith("kind:")), **stats}


def build_sft(lake, source, cfg: TransformConfig) -> dict:
    stats: Counter = Counter()

    def build(row: dict, stats: Counter) -> dict:
        if row["kind"] == grammar.PR_EXPLANATION:
            prompt = grammar.render_pull_prompt(row["title"], row["body"], row["paths"], row["diff"])
        else:
            prompt = grammar.render_change(row["paths"], row["diff"])
        prompt, c1 = _redact(prompt, stats)
        response, c2 = _redact(row["response"], stats)
        stats[f"kind:{row['kind']}"] += 1
        key = f"pr={row['pr_number']}" if row["pr_number"] is not None else f"commit={row['commit']}"
        return {"pair_id": doc_id(row["kind"], row["repo_id"], key), "kind": row["kind"], "prompt": prompt,
                "response": response, "redactions": list((Counter(c1) + Counter(c2)).items()),
                "repo_id": row["repo_id"], "commit": row["commit"], "pr_number": row["pr_number"],
                "source_table": row["source_table"]}

    lake.write("sft_candidates", _stream(lake, source, build, "sft_candidates", stats, "sft pairs"),
               mode="overwrite")
    return {"rows": sum(v for k, v in stats.items() if k.startswith("kind:")), **stats}
