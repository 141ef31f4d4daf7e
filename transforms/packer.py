"""The packer: gold `samples` -> memory-mapped token shards per split and category, with a `shards` manifest.

`python -m transforms pack --seq-len 2048 [--tokenizer ID] [--workers N]` (transforms/pack_cli.py), or
`pack(lake, PackConfig(...))`.

What it writes, under `lake.artifacts("shards")/<tokenizer_id>/<lake_snapshot>/<split>/<category>/`:
`00000.bin`, `00000.idx.npy`, `00000.docs.parquet`, ... in the format of artifacts/shard_format.py (flat
uint16/uint32 tokens as nanoGPT's train.bin, EOS after every document, Megatron-style document offsets, the
sample id of every document), and one `shards` row per shard (path, split, category, dtype, tokens,
documents, sha256, tokenizer_id, lake_snapshot, and the sample range it holds).

How:
- `lake_snapshot` is the last lake snapshot that changed `samples`; the samples are read as of that
  snapshot (DuckLake time travel, `samples AT (VERSION => N)`), so a pack names exactly what it read, and
  packing again later (after other tables moved on) finds the same shards.
- Documents are ordered by (split, category, sample_id) -- sample_id is a sha256, so this is a fixed
  shuffle -- and cut into shards of about `shard_bytes` of text using the `bytes` column alone: which
  documents a shard holds is known without encoding the ones before it, which is what makes a shard
  resumable on its own.
- Texts come out of DuckDB as Arrow, one shard's sample range at a time, read on one DuckDB thread: memory
  is bounded by a shard and the Parquet row groups DuckDB decompresses to find it, not by the table.
  `samples` is declared sorted by (category, sample_id) in row groups of 2,048 rows (lake/tables/gold.py),
  so those are the one or two row groups the range falls in, and DuckDB's file cache is off while packing
  (it would keep every row group read). They are
  encoded by worker processes in tasks of about `task_bytes`, which import no DuckDB; results come back in
  submission order, so the bytes on disk do not depend on the number of workers.
- Resumable: a shard whose manifest row matches its planned sample range and whose .bin matches the row's
  sha256 is skipped; anything else (a half-written shard, a corrupted one) is packed again. Files are
  written under temporary names and renamed when complete (shard_format.ShardWriter).
- `verify_shards(lake)` (`pack --verify`) checks every shard of the newest pack against its sha256 and
  raises ShardError with a one-line message naming the shard that is corrupted or truncated.
"""
from __future__ import annotations

import multiprocessing
import os
import re
import sys
import time
from collections import deque
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

import numpy as np

from artifacts.manifest import newest_shard_set
from lake.inspect import table_versions
from artifacts.shard_format import ShardError, ShardReader, ShardWriter, dtype_for, verify_row
from artifacts.tokenizer import Tokenizer, load_tokenizer

_NAME = re.compile(r"^[A-Za-z0-9_-]+$")  # split and category become folder names


@dataclass(frozen=True)
class PackConfig:
    seq_len: int = 2048              # recorded with every shard; trainers cut windows of it from the flat stream
    tokenizer_id: str | None = None  # None: the newest tokenizer; hf:DIR: that model folder's tokenizer.json
    hf_markers: str = "text"         # with hf:DIR: region markers as plain "text" or added "special" tokens
    workers: int = field(default_factory=lambda: os.cpu_count() or 1)  # encoding processes; <= 1: in this process
    shard_bytes: int = 64 << 20      # text per shard (~16M tokens of Go at 4 bytes per token)
    task_bytes: int = 256 << 10      # text per worker task
    batch_rows: int = 256            # Arrow batch size read from DuckDB
    duckdb_threads: int = 1          # DuckDB scan threads while packing: each one holds a row group of text
    progress: bool = True


@dataclass(frozen=True)
class ShardPlan:
    """The documents one shard holds: a contiguous run of (split, category) in sample_id order."""
    split: str
    category: str
    index: int
    first_sample_id: str
    last_sample_id: str
    documents: int
    text_bytes: int

    def shard_id(self, tokenizer_id: str, snapshot: int) -> str:
        return f"{tokenizer_id}/{snapshot}/{self.split}/{self.category}/{self.index:05d}"


@dataclass
class PackResult:
    tokenizer_id: str
    lake_snapshot: int
    rows: list[dict]
    packed: list[str]      # shard ids encoded by this run
    skipped: list[str]     # shard ids found complete and left alone
    repaired: list[str]    # shard ids that had a row but failed their checksum, packed again
    text_bytes: int        # of the shards packed by this run
    seconds: float

    @property
    def mb_per_s(self) -> float:
        return self.text_bytes / 1e6 / self.seconds if self.seconds else 0.0


# -- reading the lake -----------------------------------------------------------------------------
def samples_snapshot(lake) -> int:
    """The last snapshot that created, altered, inserted into or deleted from `samples`."""
    last = table_versions(lake).get("samples")
    if last is None:
        raise ShardError("the lake has no samples table")
    return last


def _samples_at(snapshot: int) -> str:
    return f"samples AT (VERSION => {int(snapshot)})"


def plan_shards(lake, snapshot: int, shard_bytes: int) -> list[ShardPlan]:
    """Cut every (split, category) into shards of about `shard_bytes` text bytes (a document is never split)."""
    plans: list[ShardPlan] = []
    current: dict | None = None

    def close() -> None:
        if current and current["documents"]:
            plans.append(ShardPlan(**current))

    for batch in lake.stream(f"SELECT split, category, sample_id, bytes FROM {_samples_at(snapshot)} "
                             "ORDER BY split, category, sample_id", batch_rows=65_536):
        cols = [batch.column(c).to_pylist() for c in ("split", "category", "sample_id", "bytes")]
        for split, category, sid, nbytes in zip(*cols):
            if sid is None:
                raise ShardError(f"a sample of {split}/{category} has no sample_id")
            for name, value in (("split", split), ("category", category)):
                if value is None or not _NAME.match(value):
                    raise ShardError(f"sample {sid}: {name} {value!r} cannot name a shard folder")
            if current is None or (current["split"], current["category"]) != (split, category) \
                    or current["text_bytes"] >= shard_bytes:
                close()
                same = current is not None and (current["split"], current["category"]) == (split, category)
                current = {"split": split, "category": category, "index": current["index"] + 1 if same else 0,
                           "first_sample_id": sid, "last_sample_id": sid, "documents": 0, "text_bytes": 0}
            current["last_sample_id"] = sid
            current["documents"] += 1
            current["text_bytes"] += int(nbytes or 0)
    close()
    return plans


def _shard_texts(lake, snapshot: int, plan: ShardPlan, batch_rows: int) -> Iterator[tuple[str, str]]:
    """(sample_id, text) of one shard, in order.

    One shard's rows are fetched as one Arrow table (bounded by shard_bytes, never the whole samples table)
    rather than kept as an open stream: an open read holds the SQLite catalog, and the manifest row of the
    shard before it, written meanwhile, would wait on it ("database is locked")."""
    rows = lake.query(f"SELECT sample_id, text FROM {_samples_at(snapshot)} WHERE split = ? AND category = ? "
                      "AND sample_id BETWEEN ? AND ? ORDER BY sample_id",
                      [plan.split, plan.category, plan.first_sample_id, plan.last_sample_id])
    for batch in rows.to_batches(max_chunksize=batch_rows):
        yield from zip(batch.column("sample_id").to_pylist(), batch.column("text").to_pylist())


# -- encoding (runs in the worker processes) ------------------------------------------------------
_worker: tuple[Tokenizer, np.dtype] | BaseException | None = None


def _init_worker(model_path: str, dtype: str) -> None:
    global _worker
    # a process per core already: Hugging Face tokenizers' own thread pool (one per core) would oversubscribe
    os.environ["TOKENIZERS_PARALLELISM"] = "false"
    try:
        _worker = (Tokenizer.from_file(model_path), np.dtype(dtype))
    except Exception as e:  # raised from the first task instead: a Pool respawns workers whose initializer fails
        _worker = e


def encode_documents(texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(tokens of all texts back to back, each followed by EOS; tokens per text, EOS included)."""
    if isinstance(_worker, BaseException):
        raise _worker
    tok, dtype = _worker
    encoded = tok.encode_batch(texts)
    lengths = np.fromiter((len(ids) + 1 for ids in encoded), np.int64, len(encoded))
    flat = np.empty(int(lengths.sum()), dtype)
    ends = np.cumsum(lengths)
    flat[ends - 1] = tok.eos_id
    start = 0
    for ids, end in zip(encoded, ends):
        flat[start:end - 1] = ids
        start = end
    return flat, lengths


class _Encoder:
    """Map encode_documents over tasks in order, with at most `window` tasks in flight.

    multiprocessing's imap feeds its queue from the whole input as fast as it can read it, which would
    pull an entire shard's text into memory ahead of the encoders; this window keeps it bounded."""

    def __init__(self, model_path: Path, dtype: np.dtype, workers: int):
        self.pool = None
        if workers > 1:
            ctx = multiprocessing.get_context("spawn")  # DuckDB's threads make fork unsafe
            self.pool = ctx.Pool(workers, _init_worker, (str(model_path), dtype.name))
        else:
            _init_worker(str(model_path), dtype.name)
        self.window = 2 * max(workers, 1)

    def map(self, tasks: Iterator):
        """tasks yield (payload, texts); results yield (payload, tokens, lengths) in the same order."""
        if self.pool is None:
            for payload, texts in tasks:
                yield (payload, *encode_documents(texts))
            return
        pending: deque = deque()
        for payload, texts in tasks:
            pending.append((payload, self.pool.apply_async(encode_documents, (texts,))))
            if len(pending) >= self.window:
                payload, res = pending.popleft()
                yield (payload, *res.get())
        while pending:
            payload, res = pending.popleft()
            yield (payload, *res.get())

    def close(self) -> None:
        if self.pool is not None:
            self.pool.close()
            self.pool.join()


def _tasks(lake, snapshot: int, plans: list[ShardPlan], cfg: PackConfig) -> Iterator[tuple[tuple, list[str]]]:
    """((plan, sample_ids, last task of its shard?), texts) for every planned shard, in order."""
    for plan in plans:
        ids, texts, size = [], [], 0
        for sid, text in _shard_texts(lake, snapshot, plan, cfg.batch_rows):
            ids.append(sid)
            texts.append(text)
            size += len(text)
            if size >= cfg.task_bytes:
                yield (plan, ids, False), texts
                ids, texts, size = [], [], 0
        yield (plan, ids, True), texts


# -- the pack -------------------------------------------------------------------------------------
def _existing_rows(lake, tokenizer_id: str, snapshot: int) -> dict[str, dict]:
    rows = lake.query("SELECT * FROM shards WHERE tokenizer_id = ? AND lake_snapshot = ? ORDER BY created_at",
                      [tokenizer_id, snapshot]).to_pylist()  # a crashed run's appended rows are newer
    return {r["shard_id"]: r for r in rows}


def _is_complete(lake, row: dict | None, plan: ShardPlan) -> bool | None:
    """True: the shard on disk is the planned one, whole. None: it has a row but fails its checksum. False: redo."""
    if row is None or (row["first_sample_id"], row["last_sample_id"], row["documents"], row["text_bytes"]) != (
            plan.first_sample_id, plan.last_sample_id, plan.documents, plan.text_bytes):
        return False
    stem = Path(lake.root) / row["path"]
    try:
        verify_row(stem, row)
        reader = ShardReader(stem, row["dtype"])
        if reader.documents != plan.documents or not stem.with_suffix(".docs.parquet").exists():
            return None
    except ShardError:
        return None
    return True


def pack(lake, cfg: PackConfig = PackConfig()) -> PackResult:
    """Pack every sample of the lake's latest `samples` snapshot into shards; skip those already complete."""
    if cfg.seq_len < 1 or cfg.shard_bytes < 1 or cfg.task_bytes < 1:
        raise ShardError(f"seq_len, shard_bytes and task_bytes must be positive ({cfg.seq_len}, {cfg.shard_bytes}, "
                         f"{cfg.task_bytes})")
    if cfg.duckdb_threads < 1:
        raise ShardError(f"duckdb_threads must be >= 1 ({cfg.duckdb_threads})")
    t0 = time.monotonic()
    # Each shard's query decompresses the text of the row groups its range falls in; with DuckDB's default
    # of a thread per core that cost the packer 40 MB more at peak (bench/pack_bench.py, 2 cores), and
    # encoding, not reading, is the slow part. DuckDB's file cache would keep every row group read.
    with lake.settings(threads=cfg.duckdb_threads, enable_external_file_cache=False):
        return _pack(lake, cfg, t0)


def _pack(lake, cfg: PackConfig, t0: float) -> PackResult:
    tok = load_tokenizer(lake, cfg.tokenizer_id, cfg.hf_markers)
    snapshot = samples_snapshot(lake)
    dtype = dtype_for(tok.vocab_size)
    created = datetime.now(timezone.utc)
    plans = plan_shards(lake, snapshot, cfg.shard_bytes)
    if not plans:
        raise ShardError(f"no samples at lake snapshot {snapshot} (build the `samples` table first)")
    existing = _existing_rows(lake, tok.tokenizer_id, snapshot)
    rows, todo, skipped, repaired = {}, [], [], []
    for plan in plans:
        sid = plan.shard_id(tok.tokenizer_id, snapshot)
        state = _is_complete(lake, existing.get(sid), plan)
        if state:
            rows[sid] = existing[sid]
            skipped.append(sid)
        else:
            if state is None:
                print(f"shard {sid}: checksum mismatch, packing it again", file=sys.stderr)
                repaired.append(sid)
            todo.append(plan)
    if todo:
        _pack_shards(lake, todo, tok, dtype, snapshot, cfg, created, rows)
    ordered = [rows[p.shard_id(tok.tokenizer_id, snapshot)] for p in plans]
    # one final commit naming exactly the planned shards of this (tokenizer, snapshot): stale rows go
    lake.write("shards", ordered, mode="scope", message=f"pack {tok.tokenizer_id} @ {snapshot}")
    return PackResult(tok.tokenizer_id, snapshot, ordered, [p.shard_id(tok.tokenizer_id, snapshot) for p in todo],
                      skipped, repaired, sum(p.text_bytes for p in todo), time.monotonic() - t0)


def _pack_shards(lake, todo: list[ShardPlan], tok: Tokenizer, dtype: np.dtype, snapshot: int,
                 cfg: PackConfig, created, rows: dict) -> None:
    from tqdm import tqdm

    base = lake.artifacts("shards")
    encoder = _Encoder(tok.model_path, dtype, cfg.workers)
    writer: ShardWriter | None = None
    try:
        with tqdm(total=sum(p.text_bytes for p in todo), unit="B", unit_scale=True, desc="pack",
                  disable=not cfg.progress) as bar:
            for (plan, sample_ids, last), tokens, lengths in encoder.map(_tasks(lake, snapshot, todo, cfg)):
                shard_id = plan.shard_id(tok.tokenizer_id, snapshot)
                if writer is None:
                    writer = ShardWriter(base / shard_id, dtype)
                writer.add(tokens, lengths, sample_ids)
                if not last:
                    continue
                if writer.documents != plan.documents:
                    raise ShardError(f"shard {shard_id}: planned {plan.documents} documents, read "
                                     f"{writer.documents} (samples changed under the snapshot?)")
                writer.close()
                row = {**asdict(plan), "shard_id": shard_id, "path": writer.stem.relative_to(lake.root).as_posix(),
                       "dtype": dtype.name, "tokens": writer.tokens, "documents": writer.documents, **writer.checksums,
                       "tokenizer_id": tok.tokenizer_id, "lake_snapshot": snapshot, "seq_len": cfg.seq_len,
                       "created_at": created}
                row.pop("index")
                writer = None
                # recorded at once, so that a run killed after this shard resumes after it; an append is half
                # the cost of an upsert, and the final commit of pack() replaces these rows
                lake.write("shards", [row], mode="append")
                rows[shard_id] = row
                bar.update(plan.text_bytes)
    finally:
        if writer is not None:
            writer.abort()
        encoder.close()


def verify_shards(lake, tokenizer_id: str | None = None) -> list[dict]:
    """Check every shard of the newest pack (of `tokenizer_id`) against the manifest; ShardError on the first bad one."""
    rows = lake.query("SELECT * FROM shards WHERE tokenizer_id = ? AND lake_snapshot = ? ORDER BY shard_id",
                      list(newest_shard_set(lake, tokenizer_id))).to_pylist()
    for r in rows:
        stem = Path(lake.root) / r["path"]
        verify_row(stem, r)
        reader = ShardReader(stem, r["dtype"])
        if reader.documents != r["documents"]:
            raise ShardError(f"shard {stem}: index has {reader.documents} documents, the manifest says {r['documents']}")
    return rows
