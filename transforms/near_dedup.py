"""The near-dedup step: files from sql/near_dedup.sql -> near_dup_bands -> near_dup_clusters.

Out of core: what stays in this process is one small row per file (its key) and the candidate pairs.
1. Signatures: worker processes shingle and sign bounded batches of files (at most `workers + 1` batches in
   flight); each file's LSH band hashes stream into the lake table `near_dup_bands` in one commit.
2. Candidates: DuckDB self-joins `near_dup_bands` on (band, bucket), spilling to disk when it must.
3. Verification: only the candidates' texts are read again (from `files`), a bounded block of documents at a
   time, and each candidate pair is counted exactly.
4. Clusters around representatives in the corpus-wide rank order (transforms/dedup.py).
"""
from __future__ import annotations

import hashlib
import multiprocessing
import os
from concurrent.futures import Future, ProcessPoolExecutor

import numpy as np
import pyarrow as pa
from tqdm import tqdm

from transforms import dedup
from transforms.config import TransformConfig

BATCH_FILES = 2_000     # files per signature batch (and at most per block of re-read candidate texts)
BLOCK_BYTES = 8 << 20   # text per block of re-read candidate texts: below a signature batch's peak
_BUCKET_MIX = np.array([0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9, 0xD6E8FEB86659FD93,
                        0xFF51AFD7ED558CCD, 0xC4CEB9FE1A85EC53, 0x94D049BB133111EB, 0xBF58476D1CE4E5B9],
                       dtype=np.uint64)
BANDS_SCHEMA = pa.schema([("doc", pa.int64()), ("band", pa.int16()), ("bucket", pa.int64())])

_worker: dict = {}


def _init(shingle_tokens: int, num_perm: int, seed: int) -> None:
    _worker["hasher"] = dedup.ShingleHasher(shingle_tokens)
    _worker["minhasher"] = dedup.MinHasher(num_perm, seed)


def band_buckets(signatures: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """(documents, bands) int64: each band's `rows` values mixed into 64 bits. A collision only adds a false
    candidate, which exact verification removes."""
    if rows > len(_BUCKET_MIX):
        raise ValueError(f"bands of {rows} rows: at most {len(_BUCKET_MIX)}")
    cut = signatures[:, :bands * rows].reshape(len(signatures), bands, rows).astype(np.uint64)
    h = (cut * _BUCKET_MIX[:rows]).sum(axis=2, dtype=np.uint64)
    h ^= h >> np.uint64(31)
    h *= np.uint64(0xBF58476D1CE4E5B9)
    h ^= h >> np.uint64(29)
    return h.view(np.int64)


def sign_batch(first_doc: int, texts: list[str], bands: int, rows: int) -> pa.Table:
    """A worker's job: the band rows of one batch of files (none for a file without shingles)."""
    if not _worker:
        raise RuntimeError("sign_batch runs in a worker started with _init")
    hashes = [_worker["hasher"](t) for t in texts]
    buckets = band_buckets(_worker["minhasher"].signatures(hashes), bands, rows)
    docs = first_doc + np.flatnonzero([len(h) > 0 for h in hashes])
    buckets = buckets[docs - first_doc]
    return pa.table({"doc": np.repeat(docs, bands).astype(np.int64),
                     "band": np.tile(np.arange(bands, dtype=np.int16), len(docs)),
                     "bucket": buckets.ravel()}, schema=BANDS_SCHEMA)


class _InProcess:
    """One worker: the jobs run here, in order, when submitted."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def submit(self, fn, *args) -> Future:
        done: Future = Future()
        done.set_result(fn(*args))
        return done


def _band_stream(source, cfg: TransformConfig, keys: list, workers: int, bands: int, rows: int):
    """near_dup_bands rows as an Arrow stream, in document order; fills `keys` (repo_id, path, size) as it goes."""
    init = (cfg.shingle_tokens, cfg.num_perm, cfg.minhash_seed)

    def batches():
        if workers > 1:  # spawned: DuckDB's threads make fork unsafe
            pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"), initializer=_init,
                                       initargs=init)
        else:
            _init(*init)
            pool = _InProcess()
        with pool, tqdm(desc="near dedup: signatures", unit=" files", leave=False) as bar:
            pending = []
            for batch in source(BATCH_FILES):
                keys.extend(zip(batch.column("repo_id").to_pylist(), batch.column("path").to_pylist(),
                                batch.column("size").to_pylist()))
                pending.append((batch.num_rows, pool.submit(sign_batch, len(keys) - batch.num_rows,
                                                            batch.column("content").to_pylist(), bands, rows)))
                while len(pending) > workers:  # bounded: texts of at most workers + 1 batches in memory
                    n, job = pending.pop(0)
                    yield from job.result().to_batches()
                    bar.update(n)
            for n, job in pending:
                yield from job.result().to_batches()
                bar.update(n)

    return pa.RecordBatchReader.from_batches(BANDS_SCHEMA, batches())


def _texts(lake, keys: list, docs: np.ndarray) -> dict[int, str]:
    """The content of documents `docs` (indexes into keys), read again from `files`. A filter on the block's
    repositories and paths, not a join: DuckDB may build a join's hash table from `files`, every content in it."""
    wanted = {(keys[d][0], keys[d][1]): int(d) for d in docs}
    repos, paths = sorted({r for r, _ in wanted}), sorted({p for _, p in wanted})
    got = lake.con.execute("SELECT repo_id, path, content FROM files WHERE list_contains(?, repo_id) "
                           "AND list_contains(?, path)", [repos, paths]).to_arrow_table()
    return {wanted[k]: c for k, c in zip(zip(got.column("repo_id").to_pylist(), got.column("path").to_pylist()),
                                         got.column("content").to_pylist()) if k in wanted}


def verify_pairs(candidates: np.ndarray, read_texts, cfg: TransformConfig, block_docs: int = BATCH_FILES,
                 sizes: np.ndarray | None = None, block_bytes: int = BLOCK_BYTES) -> np.ndarray:
    """The candidate pairs whose exact Jaccard reaches the threshold. Pairs are taken in blocks touching at most
    `block_docs` documents (and, with `sizes`, about `block_bytes` of text), whose texts
    `read_texts(docs) -> {doc: text}` reads again: memory is one block, whatever the corpus."""
    hasher = dedup.ShingleHasher(cfg.shingle_tokens)
    keep = []
    start = 0
    with tqdm(total=len(candidates), desc="near dedup: exact verification", unit=" pairs", leave=False) as bar:
        while start < len(candidates):
            seen: set[int] = set()
            end, held = start, 0
            while end < len(candidates):
                new = {int(candidates[end, 0]), int(candidates[end, 1])} - seen
                more = 0 if sizes is None else int(sum(sizes[d] for d in new))
                if end > start and (len(seen) + len(new) > block_docs or held + more > block_bytes):
                    break
                seen |= new
                held += more
                end += 1
            block = candidates[start:end]
            docs = np.unique(block)
            texts = read_texts(docs)
            hashes = [hasher(texts[d]) for d in docs.tolist()]
            keep.append(block[dedup.exact_jaccard(hashes, np.searchsorted(docs, block)) >= cfg.jaccard_threshold])
            bar.update(end - start)
            start = end
    return np.concatenate(keep) if keep else np.empty((0, 2), np.int64)


def run(lake, source, cfg: TransformConfig, workers: int | None = None) -> dict:
    workers = workers or max(1, min(4, (os.cpu_count() or 2) - 1))
    bands, rows = dedup.recall_lsh_params(cfg.jaccard_threshold, cfg.num_perm)
    keys: list[tuple[str, str, int]] = []
    lake.write("near_dup_bands", _band_stream(source, cfg, keys, workers, bands, rows), mode="overwrite")
    candidates = dedup.bucket_pairs(lake.con, "near_dup_bands")
    similar = verify_pairs(candidates, lambda docs: _texts(lake, keys, docs), cfg,
                           sizes=np.array([k[2] or 0 for k in keys], dtype=np.int64))
    # the source is ordered by the total order, so a document's index is its rank
    n = len(keys)
    clusters = dedup.cluster(n, similar, np.arange(n))
    rep = clusters.representative
    cluster_ids = [hashlib.sha256(f"{keys[r][0]}\0{keys[r][1]}".encode()).hexdigest()[:16] for r in rep]
    table = pa.table({
        "repo_id": [k[0] for k in keys], "path": [k[1] for k in keys], "size": pa.array([k[2] for k in keys], pa.int64()),
        "cluster_id": cluster_ids, "cluster_size": pa.array(clusters.size, pa.int32()),
        "is_representative": pa.array(rep == np.arange(n), pa.bool_()),
    })
    lake.write("near_dup_clusters", table, mode="overwrite")
    dropped = int((rep != np.arange(n)).sum())
    return {"rows": n, "candidate_pairs": len(candidates), "similar_pairs": len(similar),
            "clusters_with_duplicates": int(len(np.unique(rep[clusters.size > 1]))), "dropped": dropped}
