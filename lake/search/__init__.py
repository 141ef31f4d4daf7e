"""Semantic and full-text search over gold samples, in a LanceDB index beside the lake.

    from lake.search import index_samples, search, near_duplicates
    index_samples(lk, IndexConfig(categories=("NAT", "MIX")))   # incremental: embeds only what changed
    hits = search(lk, "nil pointer in an HTTP handler", k=10, mode="hybrid")   # a pyarrow Table
    register(lk, "hits", hits)   # then: SELECT ... FROM hits JOIN samples USING (sample_id)

Heavy libraries (torch, sentence-transformers, lancedb) load on first use, not on `import lake`.
"""
from lake.search.config import CATEGORIES, DEFAULT_MODEL, MODES, IndexConfig
from lake.search.decontam import near_duplicates
from lake.search.embedder import Embedder
from lake.search.errors import SearchError
from lake.search.indexer import IndexStats, index_samples
from lake.search.query import search
from lake.search.sql import register, register_index
from lake.search.store import SearchIndex

__all__ = ["CATEGORIES", "DEFAULT_MODEL", "MODES", "Embedder", "IndexConfig", "IndexStats", "SearchError",
           "SearchIndex", "index_samples", "near_duplicates", "register", "register_index", "search"]
