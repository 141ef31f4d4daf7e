"""The near-dedup step: files from sql/near_dedup.sql -> near_dup_bands -> near_dup_clusters.

Out of core: what this process holds is bounded by a batch, whatever the corpus.
1. Documents: the source's keys (repository, path, size; never the text) are numbered in the source's order,
   the corpus-wide rank order, into an in-memory DuckDB table (`DOCS`); a digest of that list ties every share
   of the work to one list.
2. Signatures: the texts of a share of the documents are read from `files` a bounded run of documents per
   query (no sort over the texts, no query over the whole share: either held them all); worker processes
   shingle and sign batches bounded by files and bytes (at most `workers + 1` in flight), and each batch's
   LSH band hashes stream into the lake table `near_dup_bands`.
3. Candidates: DuckDB self-joins `near_dup_bands` on (band, bucket), spilling to disk when it must.
4. Verification: only the candidates' texts are read again, a bounded block of documents at a time, and each
   candidate pair is counted exactly.
5. Clusters around representatives, in rank order (transforms/dedup.py), from the verified pairs only.

Steps 1-2 run as `share` I of K (`--worker I/K`): a document belongs to the share picked by a stable hash of
its key, so K processes on K machines sign disjoint parts of one shared lake; `near_dup_shares` records each
committed share with the digest of the document list it saw. Steps 3-5 (`finish`) refuse to run while a share
of the current list is missing.
"""
from __future__ import annotations

import hashlib
import multiprocessing
import os
from concurrent.futures import Future, ProcessPoolExecutor
from datetime import datetime, timezone

import numpy as np
import pyarrow as pa
from tqdm import tqdm

from lake import Write, retry_on_conflict
from lake.workers import share_of as share_of_key
from transforms import dedup
from transforms.config import TransformConfig
from transforms.errors import TransformError

BATCH_FILES = 2_000     # files per signature batch (and at most per block of re-read candidate texts)
BATCH_BYTES = 4 << 20   # text per signature batch: its shingles and signatures peak at about 10x this
BLOCK_BYTES = 2 << 20   # text per block of re-read candidate texts: exact counting peaks at about 10x this
DOCS = "memory.main.near_dup_docs"  # this process's numbered document keys (every cursor of the lake sees it)
_BUCKET_MIX = np.array([0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9, 0xD6E8FEB86659FD93,
                        0xFF51AFD7ED558CCD, 0xC4CEB9FE1A85EC53, 0x94D049BB133111EB, 0xBF58476D1CE4E5B9],
                       dtype=np.uint64)
BANDS_SCHEMA = pa.schema([("doc", pa.int64()), ("band", pa.int16()), ("bucket", pa.int64()),
                          ("share", pa.int32()), ("shares", pa.int32())])

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


def sign_batch(docs: list[int], texts: list[str], bands: int, rows: int) -> tuple[np.ndarray, np.ndarray]:
    """A worker's job: (documents with shingles, their (documents, bands) bucket hashes) of one batch."""
    if not _worker:
        raise RuntimeError("sign_batch runs in a worker started with _init")
    hashes = [_worker["hasher"](t) for t in texts]
    signed = np.flatnonzero([len(h) > 0 for h in hashes])
    buckets = band_buckets(_worker["minhasher"].signatures([hashes[i] for i in signed]), bands, rows)
    return np.asarray(docs, dtype=np.int64)[signed], buckets


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


def batches(reader, max_files: int = BATCH_FILES, max_bytes: int = BATCH_BYTES):
    """(docs, texts) lists from an Arrow stream of (doc, content), each at most `max_files` files and about
    `max_bytes` of text (a longer file is a batch of its own)."""
    docs: list[int] = []
    texts: list[str] = []
    held = 0
    for b in reader:
        for d, t in zip(b.column("doc").to_pylist(), b.column("content").to_pylist()):
            t = t or ""
            if docs and (len(docs) >= max_files or held + len(t) > max_bytes):
                yield docs, texts
                docs, texts, held = [], [], 0
            docs.append(d)
            texts.append(t)
            held += len(t)
    if docs:
        yield docs, texts


def band_stream(texts, cfg: TransformConfig, workers: int, share: int = 1, shares: int = 1, bar=None):
    """near_dup_bands rows of the (docs, texts) batches `texts`, as an Arrow stream (in the batches' order)."""
    bands, rows = dedup.recall_lsh_params(cfg.jaccard_threshold, cfg.num_perm)
    init = (cfg.shingle_tokens, cfg.num_perm, cfg.minhash_seed)

    def table(job: Future) -> pa.RecordBatch:
        docs, buckets = job.result()
        n = len(docs)
        return pa.RecordBatch.from_pydict({
            "doc": np.repeat(docs, bands), "band": np.tile(np.arange(bands, dtype=np.int16), n),
            "bucket": buckets.ravel(), "share": np.full(n * bands, share, np.int32),
            "shares": np.full(n * bands, shares, np.int32)}, schema=BANDS_SCHEMA)

    def signed():
        if workers > 1:  # spawned: DuckDB's threads make fork unsafe
            pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"), initializer=_init,
                                       initargs=init)
        else:
            _init(*init)
            pool = _InProcess()
        with pool:
            pending = []
            for docs, batch in texts:
                pending.append((len(docs), pool.submit(sign_batch, docs, batch, bands, rows)))
                while len(pending) > workers:  # bounded: texts of at most workers + 1 batches in memory
                    n, job = pending.pop(0)
                    yield table(job)
                    if bar is not None:
                        bar.update(n)
            for n, job in pending:
                yield table(job)
                if bar is not None:
                    bar.update(n)

    return pa.RecordBatchReader.from_batches(BANDS_SCHEMA, signed())


def share_of(repo_ids: list[str], paths: list[str], shares: int) -> np.ndarray:
    """The share (1..shares) of each document: a stable hash of its key, the same on every machine."""
    return np.array([share_of_key(f"{r}\0{p}", shares) for r, p in zip(repo_ids, paths)], dtype=np.int32)


def number_documents(lake, source, shares: int = 1) -> tuple[int, str]:
    """Fill `DOCS` (doc, repo_id, path, size, share) from the source's keys in its order: (documents, digest)."""
    con = lake.con
    con.execute(f"CREATE OR REPLACE TABLE {DOCS} (doc BIGINT, repo_id VARCHAR, path VARCHAR, size BIGINT, "
                "share INTEGER)")
    digest = hashlib.sha256()
    n = 0
    for batch in source(50_000):
        repos, paths = batch.column("repo_id").to_pylist(), batch.column("path").to_pylist()
        sizes = batch.column("size")
        digest.update("\n".join(f"{r}\0{p}\0{s}" for r, p, s in zip(repos, paths, sizes.to_pylist()))
                      .encode("utf-8", "surrogatepass") + b"\n")
        keys = pa.table({"doc": np.arange(n, n + batch.num_rows, dtype=np.int64), "repo_id": batch.column("repo_id"),
                         "path": batch.column("path"), "size": sizes.cast(pa.int64()),
                         "share": share_of(repos, paths, shares)})
        con.register("__near_dup_keys", keys)
        try:
            con.execute(f"INSERT INTO {DOCS} SELECT * FROM __near_dup_keys")
        finally:
            con.unregister("__near_dup_keys")
        n += batch.num_rows
    return n, digest.hexdigest()[:32]


def _texts_where(lake, where: str, params: list) -> pa.Table:
    """(doc, content) of the numbered documents matching `where` (over `d`, the DOCS row), by one query over
    only their repositories' files (DuckLake reads no other repository's Parquet). Materialised: DuckDB 1.5.5
    buffers a whole streaming result of long VARCHARs when the reader is made (duckdb/duckdb-python#617), so
    a query's texts are bounded by what it asks for, never by the corpus. (Filtering on the paths too gave a
    higher 8x peak of bench/dedup_scale_bench.py: 481 MB in one run, against 438 and 451 without.)"""
    cur = lake.con.cursor()
    try:
        repos = [r for (r,) in cur.execute(f"SELECT DISTINCT repo_id FROM {DOCS} AS d WHERE {where}", params).fetchall()]
        return cur.execute(f"SELECT d.doc, f.content FROM lake.files AS f JOIN {DOCS} AS d USING (repo_id, path) "
                           f"WHERE list_contains(?, f.repo_id) AND {where}", [repos, *params]).to_arrow_table()
    finally:
        cur.close()


def _contents(lake, share: int, max_files: int = BATCH_FILES, max_bytes: int = BATCH_BYTES):
    """(doc, content) tables of one share's documents, read a run of documents at a time (at most `max_files`
    files and about `max_bytes` of text, by the sizes numbered with the keys): one query over a whole share
    held every text of it (`_texts_where`)."""
    keys = lake.con.cursor().execute(f"SELECT doc, coalesce(size, 0) AS size FROM {DOCS} WHERE share = ? ORDER BY doc",
                                     [share]).to_arrow_reader(50_000)
    run: list[int] = []
    held = 0
    for batch in keys:
        for doc, size in zip(batch.column("doc").to_pylist(), batch.column("size").to_pylist()):
            if run and (len(run) >= max_files or held + size > max_bytes):
                yield _texts_where(lake, "d.share = ? AND d.doc BETWEEN ? AND ?", [share, run[0], run[-1]])
                run, held = [], 0
            run.append(doc)
            held += size
    if run:
        yield _texts_where(lake, "d.share = ? AND d.doc BETWEEN ? AND ?", [share, run[0], run[-1]])


def sign_share(lake, cfg: TransformConfig, share: int, shares: int, digest: str, documents: int,
               workers: int) -> int:
    """Sign share `share` of `shares` of the numbered documents and commit its band rows with its share record
    (after removing that share's earlier ones). Returns the documents signed.

    Two commits: the removal (a delete, retried on conflict like any write), then the rows and the record
    appended together, so a share is recorded only with all its bands. Appends do not conflict with the other
    shares' appends; a lost conflict signs the share again."""
    n = lake.con.execute(f"SELECT count(*) FROM {DOCS} WHERE share = ?", [share]).fetchone()[0]
    label = f"near dedup: signatures {share}/{shares}" if shares > 1 else "near dedup: signatures"
    if shares == 1:  # the whole list: every earlier share, of any K, is stale
        lake.commit([Write("near_dup_bands", None, mode="overwrite"), Write("near_dup_shares", None, mode="overwrite")])
    else:
        scope = [{"share": share, "shares": shares}]
        lake.commit([Write("near_dup_bands", None, scope=scope), Write("near_dup_shares", None, scope=scope)])

    def signed() -> int:
        with tqdm(total=n, desc=label, unit=" files", leave=False) as bar:
            rows = band_stream(batches(_contents(lake, share)), cfg, workers, share, shares, bar)
            record = {"share": share, "shares": shares, "documents_digest": digest, "documents": documents,
                      "signed": n, "committed_at": datetime.now(timezone.utc)}
            return lake.commit([Write("near_dup_bands", rows, mode="append"),
                                Write("near_dup_shares", [record], mode="append")])

    retry_on_conflict(signed)
    return n


def missing_shares(lake, shares: int, digest: str) -> list[str]:
    """The shares of `shares` with no committed record for the document list `digest`."""
    done = {r[0] for r in lake.con.execute("SELECT share FROM near_dup_shares WHERE shares = ? AND documents_digest = ?",
                                           [shares, digest]).fetchall()}
    return [f"{i}/{shares}" for i in range(1, shares + 1) if i not in done]


def _texts(lake, docs: np.ndarray) -> dict[int, str]:
    """The content of documents `docs`, read again from `files`."""
    got = _texts_where(lake, "list_contains(?, d.doc)", [docs.tolist()])
    return {d: c or "" for d, c in zip(got.column("doc").to_pylist(), got.column("content").to_pylist())}


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


def finish(lake, cfg: TransformConfig, documents: int, shares: int, digest: str) -> dict:
    """Candidates, exact verification and clusters over the committed bands of `shares` shares of the
    numbered documents; writes near_dup_clusters. Refuses while a share is missing."""
    missing = missing_shares(lake, shares, digest)
    if missing:
        raise TransformError(f"near dedup: worker share(s) {', '.join(missing)} not committed for the current "
                             f"document list (run `python -m transforms near-dedup --worker I/{shares}` for each)")
    lake.con.execute("CREATE OR REPLACE TEMP VIEW __near_dup_share_bands AS "
                     f"SELECT doc, band, bucket FROM lake.near_dup_bands WHERE shares = {int(shares)}")
    candidates = dedup.bucket_pairs(lake.con, "__near_dup_share_bands")
    sizes = lake.con.execute(f"SELECT coalesce(size, 0) AS size FROM {DOCS} ORDER BY doc").fetchnumpy()["size"]
    similar = verify_pairs(candidates, lambda docs: _texts(lake, docs), cfg, sizes=sizes.astype(np.int64))
    # documents are numbered in the total order, so a document's index is its rank
    clusters = dedup.cluster(documents, similar, np.arange(documents))
    rep = clusters.representative
    lake.con.register("__near_dup_reps", pa.table({"doc": np.arange(documents, dtype=np.int64), "rep": rep,
                                                    "cluster_size": clusters.size.astype(np.int32)}))
    try:
        lake.write("near_dup_clusters", f"""
            SELECT d.repo_id, d.path, d.size,
                   substr(sha256(r.repo_id || chr(0) || r.path), 1, 16) AS cluster_id,
                   c.cluster_size, c.rep = c.doc AS is_representative
            FROM __near_dup_reps AS c JOIN {DOCS} AS d USING (doc) JOIN {DOCS} AS r ON r.doc = c.rep
            ORDER BY d.doc""", mode="overwrite")
    finally:
        lake.con.unregister("__near_dup_reps")
    return {"rows": documents, "shares": shares, "candidate_pairs": len(candidates), "similar_pairs": len(similar),
            "clusters_with_duplicates": int(len(np.unique(rep[clusters.size > 1]))),
            "dropped": int((rep != np.arange(documents)).sum())}


def default_workers() -> int:
    return max(1, min(4, (os.cpu_count() or 2) - 1))


def run(lake, source, cfg: TransformConfig, workers: int | None = None) -> dict:
    """The pipeline's step: every document signed here (share 1/1), then `finish`."""
    documents, digest = number_documents(lake, source)
    sign_share(lake, cfg, 1, 1, digest, documents, workers or default_workers())
    return finish(lake, cfg, documents, 1, digest)
