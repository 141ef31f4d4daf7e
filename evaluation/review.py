"""Human review: a CSV of sampled generations for people to rate, and their ratings back into the lake."""
from __future__ import annotations

import csv
from datetime import datetime, timezone
from pathlib import Path

from lake import Lake, Write
from evaluation.errors import EvalError
from evaluation.results import Metric, metric_rows

COLUMNS = ["eval_run", "item_id", "suite", "kind", "checkpoint", "prompt", "reference", "generation",
           "rating", "rater", "comment"]
RATING_HELP = "rating: 1 (useless) .. 5 (as good as the reference)"
MAX_PROMPT_CHARS = 4000  # a reviewer reads the end of a long prompt (the signature, the diff's tail)


def export_review(lake: Lake, eval_run: str, path: Path, per_kind: int, seed: int = 0) -> int:
    """Write up to per_kind generations of each kind of the run, in a seeded stable sample; returns rows."""
    rows = lake.query("""
        SELECT eval_run, item_id, suite, kind, checkpoint, prompt, reference, generation FROM (
          SELECT *, row_number() OVER (PARTITION BY kind ORDER BY md5(item_id || ?::VARCHAR), item_id) AS k
          FROM eval_items WHERE eval_run = ? AND status = 'scored' AND generation IS NOT NULL)
        WHERE k <= ? ORDER BY suite, kind, k""", [seed, eval_run, per_kind]).to_pylist()
    if not rows:
        raise EvalError(f"evaluation run {eval_run!r} has no generations to review (run the explain, code or fim suite)")
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, COLUMNS)
        w.writeheader()
        for r in rows:
            p = r["prompt"]
            r["prompt"] = p if len(p) <= MAX_PROMPT_CHARS else "…" + p[-MAX_PROMPT_CHARS:]
            w.writerow({**r, "rating": "", "rater": "", "comment": ""})
    return len(rows)


def _parse(path: Path) -> list[dict]:
    if not path.is_file():
        raise EvalError(f"no review file at {path}")
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        missing = [c for c in ("eval_run", "item_id", "rating", "rater") if c not in (reader.fieldnames or [])]
        if missing:
            raise EvalError(f"{path}: missing column {missing[0]!r} (expected {', '.join(COLUMNS)})")
        out = []
        for line, row in enumerate(reader, start=2):
            if not (row.get("rating") or "").strip():
                continue  # not rated (yet)
            try:
                rating = int(row["rating"].strip())
            except ValueError:
                rating = 0
            if not 1 <= rating <= 5:
                raise EvalError(f"{path} line {line}: rating {row['rating']!r} is not an integer 1..5 ({RATING_HELP})")
            if not (row.get("rater") or "").strip():
                raise EvalError(f"{path} line {line}: a rating needs a rater")
            out.append({"eval_run": row["eval_run"], "item_id": row["item_id"], "rater": row["rater"].strip(),
                        "rating": rating, "comment": (row.get("comment") or "").strip() or None})
    return out


def import_review(lake: Lake, path: Path) -> dict:
    """Store the rated rows of a review CSV (re-importing replaces a rater's earlier rating of an item) and the
    mean rating per kind as `review` rows of `evals`. Nothing is written if any row is invalid."""
    ratings = _parse(path)
    if not ratings:
        raise EvalError(f"{path}: no rated rows (fill the rating and rater columns)")
    known = {(r["eval_run"], r["item_id"]): r for r in lake.query(
        "SELECT eval_run, item_id, kind, checkpoint FROM eval_items WHERE eval_run IN (SELECT unnest(?))",
        [sorted({r['eval_run'] for r in ratings})]).to_pylist()}
    for r in ratings:
        if (r["eval_run"], r["item_id"]) not in known:
            raise EvalError(f"{path}: item {r['item_id']!r} of run {r['eval_run']!r} is not in the lake's eval_items")
    merged = {(r["eval_run"], r["item_id"], r["rater"]): r["rating"] for r in lake.query(
        "SELECT eval_run, item_id, rater, rating FROM review_ratings WHERE eval_run IN (SELECT unnest(?))",
        [sorted({r['eval_run'] for r in ratings})]).to_pylist()}
    merged.update({(r["eval_run"], r["item_id"], r["rater"]): r["rating"] for r in ratings})
    now, snapshot = datetime.now(timezone.utc), lake.snapshot()
    writes = [Write("review_ratings", [{**r, "source_file": str(path), "imported_at": now} for r in ratings], "upsert")]
    summary = {}
    for eval_run in sorted({run for run, _, _ in merged}):
        by_kind: dict[str, list[int]] = {}
        for (run, item_id, _), rating in merged.items():
            if run == eval_run:
                by_kind.setdefault(known[(run, item_id)]["kind"], []).append(rating)
        metrics = [Metric("review", "rating_mean", kind, sum(v) / len(v), len(v), "human")
                   for kind, v in sorted(by_kind.items())]
        checkpoint = next(v["checkpoint"] for k, v in known.items() if k[0] == eval_run)
        writes.append(Write("evals", metric_rows(eval_run, checkpoint, snapshot, metrics), "upsert"))
        summary[eval_run] = {m.category: (round(m.value, 3), m.n) for m in metrics}
    lake.commit(writes, message=f"import review {path.name}")
    return {"ratings": len(ratings), "runs": summary}
