"""Embed gold samples into the search index, incrementally.

A sample is embedded once per (sample_id, sha256(text), category): re-indexing an unchanged lake snapshot
reads the index's keys, finds nothing to do and embeds nothing. Rows whose sample changed text or left the
lake are deleted before the new ones are appended, so a run that dies half-way leaves a consistent index
that the next run completes.
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass

import pyarrow as pa
from tqdm import tqdm

from search.config import IndexConfig
from search.embedder import Embedder
from search.store import SAMPLE_FIELDS, SearchIndex, samples_schema

_INDEXED = "__search_indexed"  # the index's keys, registered in the lake's DuckDB connection for the diff
_SAME = f"""EXISTS (SELECT 1 FROM {_INDEXED} i
                    WHERE i.sample_id = s.sample_id AND i.text_hash = sha256(s.text) AND i.category = s.category)"""


@dataclass
class IndexStats:
    lake_snapshot: int
    model: str
    categories: tuple[str, ...]
    embedded: int = 0      # samples embedded by this run
    deleted: int = 0       # index rows removed (sample gone, text or category changed)
    unchanged: int = 0     # samples of the chosen categories already embedded as they are
    no_text: int = 0       # samples of the chosen categories whose text is NULL (not indexed)
    remaining: int = 0     # samples still to embed because config.limit stopped this run (the next run goes on)
    rows: int = 0          # rows in the index after the run
    rebuilt: bool = False  # the index was made with another model and was rebuilt
    seconds: float = 0.0

    def as_dict(self) -> dict:
        return asdict(self)


def index_samples(lk, config: IndexConfig = IndexConfig(), embedder: Embedder | None = None,
                  progress: bool | None = None) -> IndexStats:
    """Bring the index up to date with the lake's `samples` of config.categories at the current snapshot."""
    started = time.perf_counter()
    index = SearchIndex.of(lk)
    embedder = embedder or Embedder(config.model, device=config.device, batch_size=config.embed_batch)
    stats = IndexStats(lake_snapshot=-1, model=embedder.name, categories=config.categories)

    built = index.model()
    if built is not None and built != (embedder.name, embedder.dim):
        index.drop()  # vectors of two models are not comparable: start over with this one
        stats.rebuilt = True
    table = index.samples(required=False)
    if table is None:
        table = index.create(embedder.name, embedder.dim)

    cats = ", ".join(f"'{c}'" for c in config.categories)  # validated names (config.parse_categories)
    # a sample without text has nothing to embed; it is counted (no_text), never silently dropped
    wanted = f"s.category IN ({cats}) AND s.text IS NOT NULL"
    lk.con.register(_INDEXED, index.keys())
    # every read names one snapshot (time travel), whatever others commit meanwhile; no transaction or
    # stream stays open while embedding runs (minutes), which would hold the SQLite catalog from writers
    stats.lake_snapshot = lk.snapshot()
    samples = f"samples s AT (VERSION => {int(stats.lake_snapshot)})"  # DuckLake wants the alias first
    try:
        stale = lk.query(f"""
            SELECT i.sample_id FROM {_INDEXED} i
            WHERE NOT EXISTS (SELECT 1 FROM {samples} WHERE s.sample_id = i.sample_id
                              AND sha256(s.text) = i.text_hash AND s.category = i.category)
              AND (i.category IN ({cats})
                   OR i.sample_id IN (SELECT s.sample_id FROM {samples} WHERE {wanted}))
            ORDER BY i.sample_id""").column("sample_id").to_pylist()
        todo, stats.unchanged = lk.con.execute(
            f"SELECT count(*) FILTER (WHERE NOT {_SAME}), count(*) FILTER (WHERE {_SAME}) "
            f"FROM {samples} WHERE {wanted}").fetchone()
        stats.no_text = lk.con.execute(
            f"SELECT count(*) FROM {samples} WHERE text IS NULL AND category IN ({cats})").fetchone()[0]
        limit = f" LIMIT {int(config.limit)}" if config.limit is not None else ""
        ids = lk.query(f"SELECT s.sample_id FROM {samples} WHERE {wanted} AND NOT {_SAME} "
                       f"ORDER BY s.sample_id{limit}").column("sample_id").to_pylist()
    finally:
        lk.con.unregister(_INDEXED)
    if stale:
        index.delete(stale)
        stats.deleted = len(stale)
    columns = ", ".join("sha256(s.text) AS text_hash" if f.name == "text_hash" else f"s.{f.name}"
                        for f in SAMPLE_FIELDS)
    stats.remaining = todo - len(ids)
    schema = samples_schema(embedder.dim)
    with tqdm(total=len(ids), desc="embed samples", unit="doc", disable=None if progress is None else not progress) as bar:
        for start in range(0, len(ids), config.batch_rows):
            batch = lk.query(f"SELECT {columns} FROM {samples} WHERE s.sample_id IN "
                             "(SELECT unnest(?::VARCHAR[])) ORDER BY s.sample_id",
                             [ids[start:start + config.batch_rows]])
            vectors = embedder.encode(batch.column("text").to_pylist())
            arrays = [batch.column(f.name).cast(f.type) for f in SAMPLE_FIELDS]
            arrays.append(pa.array([stats.lake_snapshot] * batch.num_rows, pa.int64()))
            arrays.append(pa.FixedSizeListArray.from_arrays(pa.array(vectors.reshape(-1)), embedder.dim))
            table.add(pa.Table.from_arrays(arrays, schema=schema))
            stats.embedded += batch.num_rows
            bar.update(batch.num_rows)

    if stats.embedded or stats.deleted or built is None or stats.rebuilt:
        index.finish()
    stats.rows = index.samples().count_rows()
    index.record_run(stats.lake_snapshot, embedder.name, embedder.dim, config.categories, stats.embedded,
                     stats.deleted, stats.rows)
    stats.seconds = round(time.perf_counter() - started, 3)
    return stats
