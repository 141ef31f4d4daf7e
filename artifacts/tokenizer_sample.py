"""The category-stratified sample of the lake's samples that trains a tokenizer and measures it.

Shared by both kinds of tokenizer (transforms/tokenizer.py trains SentencePiece on it; both measure bytes per
token on val with it), so neither tokenizer module needs to import the other.
"""
from __future__ import annotations

from typing import Iterator

import pyarrow as pa

VAL_BYTES_PER_CATEGORY = 4 << 20  # text encoded to measure bytes per token on val


def stratified_quotas(available: dict[str, int], budget: int) -> dict[str, int]:
    """Share `budget` bytes equally between categories; what a small category cannot use goes to the others."""
    quotas, left = {}, budget
    order = sorted(available, key=lambda c: (available[c], c))
    for i, cat in enumerate(order):
        quotas[cat] = min(available[cat], left // (len(order) - i))
        left -= quotas[cat]
    return dict(sorted(quotas.items()))


def _sample_sql() -> str:
    """Documents of `split` in sample_id order per category, until the category's quota (a registered table)."""
    return """
        WITH ranked AS (
            SELECT sample_id, category,
                   sum(bytes) OVER (PARTITION BY category ORDER BY sample_id ROWS UNBOUNDED PRECEDING) - bytes AS before
            FROM samples WHERE split = ?)
        SELECT s.sample_id, s.category, s.text
        FROM samples s JOIN ranked r USING (sample_id) JOIN __tokenizer_quotas q ON q.category = r.category
        WHERE s.split = ? AND r.before < q.quota
        ORDER BY s.category, s.sample_id"""


def stream_sample(lake, split: str, quotas: dict[str, int]) -> Iterator[pa.RecordBatch]:
    name = "__tokenizer_quotas"
    lake.con.register(name, pa.table({"category": list(quotas), "quota": list(quotas.values())}))
    try:
        yield from lake.stream(_sample_sql(), [split, split], batch_rows=256)
    finally:
        lake.con.unregister(name)


def category_bytes(lake, split: str) -> dict[str, int]:
    rows = lake.query("SELECT category, sum(bytes)::BIGINT AS b FROM samples WHERE split = ? GROUP BY category "
                      "ORDER BY category", [split]).to_pylist()
    return {r["category"]: int(r["b"] or 0) for r in rows}


def bytes_per_token(lake, tok, split: str = "val", per_category: int = VAL_BYTES_PER_CATEGORY) -> dict:
    """UTF-8 bytes per token of up to `per_category` bytes of each category of `split`, and overall."""
    counts: dict[str, list[int]] = {}
    available = category_bytes(lake, split)
    for batch in stream_sample(lake, split, {c: per_category for c in available}):
        for cat, text in zip(batch.column("category").to_pylist(), batch.column("text").to_pylist()):
            c = counts.setdefault(cat, [0, 0])
            c[0] += len(text.encode("utf-8", "surrogateescape"))
            c[1] += len(tok.encode(text))
    out = {cat: round(b / t, 4) for cat, (b, t) in counts.items() if t}
    total_b, total_t = sum(c[0] for c in counts.values()), sum(c[1] for c in counts.values())
    if total_t:
        out["all"] = round(total_b / total_t, 4)
    return out
