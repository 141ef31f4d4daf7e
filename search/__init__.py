"""Semantic and full-text search over gold samples, in a LanceDB index beside the lake.

    from search import index_samples, search, near_duplicates
    index_samples(lk, IndexConfig(categories=("NAT", "MIX")))   # incremental: embeds only what changed
    hits = search(lk, "nil pointer in an HTTP handler", k=10, mode="hybrid")   # a pyarrow Table
    register(lk, "hits", hits)   # then: SELECT ... FROM hits JOIN samples USING (sample_id)

Heavy libraries (torch, sentence-transformers, lancedb) load on first use, not on `import search`.
"""
from search.config import CATEGORIES, DEFAULT_MODEL, MODES, IndexConfig
from search.decontam import near_duplicates
from search.embedder import Embedder
from search.errors import SearchError
from search.indexer import IndexStats, index_samples
from search.query import search
from search.sql import register, register_index
from search.store import SearchIndex

__all__ = ["CATEGORIES", "DEFAULT_MODEL", "MODES", "Embedder", "IndexConfig", "IndexStats", "SearchError",
           "SearchIndex", "index_samples", "near_duplicates", "register", "register_index", "search"]
