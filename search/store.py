"""The LanceDB dataset beside the lake: embedded samples (vector + full text) and a log of index runs."""
from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pyarrow as pa

from search.config import INDEX_DIR, MANIFEST_TABLE, SAMPLES_TABLE
from search.errors import SearchError

# Carried from the gold `samples` row; text_hash is sha256(text) as DuckDB computes it.
SAMPLE_FIELDS = [
    pa.field("sample_id", pa.string()),
    pa.field("text_hash", pa.string()),
    pa.field("category", pa.string()),
    pa.field("split", pa.string()),
    pa.field("repo_id", pa.string()),
    pa.field("license", pa.string()),
    pa.field("path", pa.string()),
    pa.field("pr_number", pa.int32()),
    pa.field("issue_number", pa.int32()),
    pa.field("source_table", pa.string()),
    pa.field("lake_snapshot", pa.int64()),
    pa.field("text", pa.string()),
]
BOOKKEEPING = ["sample_id", "text_hash", "category", "split", "repo_id", "indexed_snapshot"]
MANIFEST_SCHEMA = pa.schema([
    pa.field("indexed_at", pa.timestamp("us", tz="UTC")),
    pa.field("lake_snapshot", pa.int64()),
    pa.field("model", pa.string()),
    pa.field("dim", pa.int32()),
    pa.field("categories", pa.string()),
    pa.field("embedded", pa.int64()),
    pa.field("deleted", pa.int64()),
    pa.field("rows", pa.int64()),
])
_IN_CHUNK = 1000  # ids per DELETE ... IN (...) predicate


def samples_schema(dim: int, model: str | None = None) -> pa.Schema:
    """The index rows; the model that made the vectors is recorded in the schema itself."""
    return pa.schema(SAMPLE_FIELDS + [pa.field("indexed_snapshot", pa.int64()),
                                      pa.field("vector", pa.list_(pa.float32(), dim))],
                     metadata={"model": model} if model else None)


def _sql_list(values) -> str:
    return ", ".join("'" + str(v).replace("'", "''") + "'" for v in values)


class SearchIndex:
    """A LanceDB database folder, normally lake.artifacts("lancedb")."""

    def __init__(self, root: str | Path):
        import lancedb

        self.root = Path(root)
        self.db = lancedb.connect(str(self.root))

    @classmethod
    def of(cls, lk) -> "SearchIndex":
        return cls(lk.artifacts(INDEX_DIR))

    def _names(self) -> list[str]:
        return list(self.db.list_tables().tables)

    def samples(self, required: bool = True):
        if SAMPLES_TABLE in self._names():
            return self.db.open_table(SAMPLES_TABLE)
        if required:
            raise SearchError(f"no search index at {self.root} (run `python -m lake index` first)")
        return None

    def create(self, model: str, dim: int):
        return self.db.create_table(SAMPLES_TABLE, schema=samples_schema(dim, model), mode="overwrite")

    def model(self) -> tuple[str, int] | None:
        """(model name, vector size) the index was built with; None if there is no index yet."""
        tbl = self.samples(required=False)
        if tbl is None:
            return None
        schema = tbl.schema
        return (schema.metadata or {}).get(b"model", b"").decode(), schema.field("vector").type.list_size

    def drop(self) -> None:
        for name in (SAMPLES_TABLE, MANIFEST_TABLE):
            if name in self._names():
                self.db.drop_table(name)

    # -- bookkeeping ------------------------------------------------------------------------
    def keys(self) -> pa.Table:
        """What is embedded already, without vectors or text: the input of the incremental diff."""
        tbl = self.samples(required=False)
        if tbl is None:
            return pa.schema([f for f in samples_schema(1) if f.name in BOOKKEEPING]).empty_table()
        return tbl.search().select(BOOKKEEPING).limit(None).to_arrow()

    def last_run(self) -> dict | None:
        if MANIFEST_TABLE not in self._names():
            return None
        runs = self.db.open_table(MANIFEST_TABLE).to_arrow().sort_by([("indexed_at", "descending")])
        return runs.slice(0, 1).to_pylist()[0] if runs.num_rows else None

    def record_run(self, lake_snapshot: int, model: str, dim: int, categories, embedded: int, deleted: int,
                   rows: int) -> None:
        row = pa.Table.from_pylist([{
            "indexed_at": datetime.now(timezone.utc), "lake_snapshot": lake_snapshot, "model": model, "dim": dim,
            "categories": json.dumps(list(categories)), "embedded": embedded, "deleted": deleted, "rows": rows,
        }], schema=MANIFEST_SCHEMA)
        if MANIFEST_TABLE in self._names():
            self.db.open_table(MANIFEST_TABLE).add(row)
        else:
            self.db.create_table(MANIFEST_TABLE, row)

    # -- changes ----------------------------------------------------------------------------
    def delete(self, sample_ids: list[str]) -> None:
        tbl = self.samples()
        for i in range(0, len(sample_ids), _IN_CHUNK):
            tbl.delete(f"sample_id IN ({_sql_list(sample_ids[i:i + _IN_CHUNK])})")

    def finish(self) -> None:
        """After changes: compact the appended fragments and bring the full-text index up to date."""
        from lancedb.index import FTS

        tbl = self.samples()
        if not any(ix.index_type == "FTS" for ix in tbl.list_indices()):
            tbl.create_index("text", config=FTS(), replace=True)
        tbl.optimize()  # merges new rows into the FTS index; vectors are searched exactly (flat)
