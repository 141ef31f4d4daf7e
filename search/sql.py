"""The index and search hits as DuckDB relations (through Arrow), to join back to any lake table."""
from __future__ import annotations

import pyarrow as pa

from search.store import BOOKKEEPING, SearchIndex


def register(lk, name: str, hits: pa.Table) -> str:
    """Make an Arrow table (e.g. search hits) a relation of the lake's connection:
    SELECT h.rank, s.license FROM hits h JOIN samples s USING (sample_id)."""
    lk.con.register(name, hits)
    return name


def register_index(lk, name: str = "search_index", with_vectors: bool = False) -> str:
    """What the index holds, as a relation: sample_id, text_hash, category, split, repo_id, indexed_snapshot
    (and vector). Text stays out: it is in `samples`, one join away."""
    table = SearchIndex.of(lk).samples()
    columns = BOOKKEEPING + (["vector"] if with_vectors else [])
    return register(lk, name, table.search().select(columns).limit(None).to_arrow())
