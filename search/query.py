"""Vector, full-text and hybrid (reciprocal rank fusion) queries over the search index."""
from __future__ import annotations

import re

import pyarrow as pa

from search.config import HYBRID_CANDIDATES, SNIPPET_CHARS, check_mode, parse_categories
from search.embedder import Embedder, plain_text
from search.errors import SearchError
from search.store import SearchIndex

RESULT_SCHEMA = pa.schema([
    pa.field("rank", pa.int32()),
    pa.field("score", pa.float64()),  # vector: cosine similarity; fts: BM25; hybrid: RRF
    pa.field("sample_id", pa.string()),
    pa.field("category", pa.string()),
    pa.field("split", pa.string()),
    pa.field("repo_id", pa.string()),
    pa.field("pr_number", pa.int32()),
    pa.field("issue_number", pa.int32()),
    pa.field("path", pa.string()),
    pa.field("snippet", pa.string()),
])
_SELECT = ["sample_id", "category", "split", "repo_id", "pr_number", "issue_number", "path", "text"]
_WORD = re.compile(r"\w{3,}")


def where_clause(categories=None, split: str | None = None) -> str | None:
    parts = []
    if categories:
        parts.append("category IN (" + ", ".join(f"'{c}'" for c in parse_categories(categories)) + ")")
    if split:
        parts.append("split = '" + split.replace("'", "''") + "'")
    return " AND ".join(parts) or None


def query_embedder(index: SearchIndex, embedder: Embedder | None) -> Embedder:
    """The model the index was built with: a query vector from another model would be meaningless."""
    built = index.model()
    if built is None:
        raise SearchError(f"no search index at {index.root} (run `python -m lake index` first)")
    if not built[0]:
        raise SearchError(f"the search index at {index.root} records no model (rebuild it: `python -m lake index`)")
    embedder = embedder or Embedder(built[0])
    if (embedder.name, embedder.dim) != built:
        raise SearchError(f"the index was built with {built[0]!r}, not {embedder.name!r}")
    return embedder


def _vector(table, vector, where: str | None, limit: int, row_id: bool = False) -> pa.Table:
    q = table.search(vector, query_type="vector").distance_type("cosine").with_row_id(row_id)
    if where:
        q = q.where(where, prefilter=True)
    return q.select(_SELECT + ["_distance"]).limit(limit).to_arrow()  # naming the score keeps Lance quiet


def _fts(table, query: str, where: str | None, limit: int, row_id: bool = False) -> pa.Table:
    q = table.search(query, query_type="fts").with_row_id(row_id)
    if where:
        q = q.where(where, prefilter=True)
    return q.select(_SELECT + ["_score"]).limit(limit).to_arrow()


def snippet(text: str, query: str, width: int = SNIPPET_CHARS) -> str:
    """About `width` characters of the text around the first query word it contains, on one line."""
    flat = " ".join(plain_text(text).split())
    lower = flat.lower()
    hits = [p for p in (lower.find(w.lower()) for w in _WORD.findall(query)) if p >= 0]
    start = max(0, min(hits) - width // 4) if hits else 0
    piece = flat[start:start + width]
    return ("…" if start else "") + piece + ("…" if start + width < len(flat) else "")


def search(lk_or_index, query: str, k: int = 10, categories=None, mode: str = "hybrid", split: str | None = None,
           embedder: Embedder | None = None) -> pa.Table:
    """The k best samples for `query` as a pyarrow Table (RESULT_SCHEMA), best first."""
    check_mode(mode)
    if not query.strip():
        raise SearchError("empty search query")
    if k < 1:
        raise SearchError(f"--k must be at least 1, not {k}")
    index = lk_or_index if isinstance(lk_or_index, SearchIndex) else SearchIndex.of(lk_or_index)
    table = index.samples()
    where = where_clause(categories, split)

    if mode == "fts":
        hits, score = _fts(table, query, where, k), "_score"
    else:
        vector = query_embedder(index, embedder).encode([query])[0]
        if mode == "vector":
            hits, score = _vector(table, vector, where, k), "_distance"
        else:
            from lancedb.rerankers import RRFReranker
            # Each leg brings more candidates than k: a document ranked 4th in both legs should beat one
            # ranked 1st in one leg only, which it cannot if each leg stops at k.
            n = max(k, HYBRID_CANDIDATES)
            hits = RRFReranker().rerank_hybrid(query, _vector(table, vector, where, n, row_id=True),
                                               _fts(table, query, where, n, row_id=True))
            score = "_relevance_score"
    # ties broken by sample_id, so the same lake and query always print the same list
    hits = hits.sort_by([(score, "ascending" if score == "_distance" else "descending"), ("sample_id", "ascending")])

    rows = []
    for rank, row in enumerate(hits.slice(0, k).to_pylist(), start=1):
        value = float(row[score])
        rows.append({**{c: row[c] for c in _SELECT if c != "text"}, "rank": rank,
                     "score": 1.0 - value if score == "_distance" else value,
                     "snippet": snippet(row["text"], query)})
    return pa.Table.from_pylist(rows, schema=RESULT_SCHEMA)
