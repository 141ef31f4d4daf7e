"""Semantic decontamination: training samples that are near-duplicates of evaluation texts."""
from __future__ import annotations

from typing import Iterable

import pyarrow as pa

from search.embedder import Embedder
from search.errors import SearchError
from search.query import query_embedder, where_clause
from search.store import SearchIndex

NEAR_DUP_SCHEMA = pa.schema([
    pa.field("eval_index", pa.int64()),    # position of the evaluation text in the input
    pa.field("sample_id", pa.string()),
    pa.field("similarity", pa.float64()),  # cosine similarity of the two embeddings
    pa.field("split", pa.string()),
    pa.field("category", pa.string()),
    pa.field("repo_id", pa.string()),
    pa.field("path", pa.string()),
    pa.field("pr_number", pa.int32()),
])
_SELECT = ["sample_id", "split", "category", "repo_id", "path", "pr_number"]


def near_duplicates(lk_or_index, eval_texts: Iterable[str], threshold: float = 0.9, k: int = 5,
                    split: str | None = "train", batch: int = 64, embedder: Embedder | None = None) -> pa.Table:
    """For each evaluation text, up to k indexed samples (of `split`; None = any) whose cosine similarity to it
    is at least `threshold`, sorted by evaluation text then similarity."""
    if not 0.0 < threshold <= 1.0:
        raise SearchError(f"threshold must be in (0, 1], not {threshold}")
    index = lk_or_index if isinstance(lk_or_index, SearchIndex) else SearchIndex.of(lk_or_index)
    table = index.samples()
    embedder = query_embedder(index, embedder)
    where = where_clause(split=split)
    rows, texts, offset = [], [], 0

    def flush():
        nonlocal offset
        for i, vector in enumerate(embedder.encode(texts)):
            q = table.search(vector, query_type="vector").distance_type("cosine")
            if where:
                q = q.where(where, prefilter=True)
            for hit in q.select(_SELECT + ["_distance"]).limit(k).to_arrow().to_pylist():
                similarity = 1.0 - float(hit["_distance"])
                if similarity >= threshold:
                    rows.append({"eval_index": offset + i, "similarity": similarity,
                                 **{c: hit[c] for c in _SELECT}})
        offset += len(texts)
        texts.clear()

    for text in eval_texts:
        texts.append(text)
        if len(texts) >= batch:
            flush()
    flush()
    rows.sort(key=lambda r: (r["eval_index"], -r["similarity"], r["sample_id"]))
    return pa.Table.from_pylist(rows, schema=NEAR_DUP_SCHEMA)
