"""Near-duplicate detection: MinHash over 5-gram shingles of Go tokens, LSH banding tuned for recall, exact
Jaccard verification of the candidates, clusters around a representative (no chaining).

A near duplicate is a pair whose shingle-hash sets have Jaccard >= the threshold, counted exactly; MinHash and
LSH only propose candidates. The banding misses a pair at the threshold with probability < 1e-4
(`recall_lsh_params`), candidates whose MinHash estimate is far below the threshold are not counted, and the
rest are counted exactly (`exact_jaccard`). Clustering keeps the best-ranked document and drops only its own
verified near duplicates (`cluster`).

Signatures follow datasketch 2.0's default scheme, `affine32`: each 32-bit shingle hash is pre-mixed with the
MurmurHash3 finalizer, then permutation k is `a_k * h + b_k mod 2**32` with datasketch's own (a, b) for the
seed. For the same shingle hashes, `MinHasher.signatures` equals `datasketch.MinHash(num_perm, seed=seed,
hashfunc=int).update_batch(hashes)` bit for bit (tests/transforms/test_dedup.py checks it on a sample).

Why not datasketch itself: it hashes each shingle in a Python call and builds one (shingles x perms) temporary
per document; here shingles are hashed in numpy from per-token hashes and permuted in cache-sized blocks
across documents, then banded with one DuckDB join (bench/dedup_bench.py measures the difference, and the
recall against brute force over all pairs).
"""
from __future__ import annotations

import hashlib
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import duckdb
import numpy as np
import pyarrow as pa
from datasketch import MinHash, MinHashLSH
from scipy.sparse import csr_matrix

# Go tokens: strings and runes whole, numbers, identifiers, the multi-character operators, any other
# character alone. Comments are not special: their words become identifier tokens, `//` two `/` tokens.
GO_TOKEN = re.compile(
    r"`[^`]*`"
    r'|"(?:\\.|[^"\\\n])*"'
    r"|'(?:\\[^\n]{1,9}?|[^'\\\n])'"
    r"|\.?[0-9][0-9A-Za-z_.]*"
    r"|[^\W\d]\w*"
    r"|<<=|>>=|&\^=|\.\.\.|&&|\|\||<-|<<|>>|&\^|\+\+|--|==|!=|<=|>=|:=|[-+*/%&|^]="
    r"|\S"
)

_U32 = np.uint32
# Odd 64-bit multipliers, one per shingle position, so that a shingle's hash depends on token order.
_POSITION_MULTIPLIERS = np.array([0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9,
                                  0xD6E8FEB86659FD93, 0xFF51AFD7ED558CCD, 0xC4CEB9FE1A85EC53,
                                  0x94D049BB133111EB, 0xBF58476D1CE4E5B9], dtype=np.uint64)


def go_tokens(text: str) -> list[str]:
    return GO_TOKEN.findall(text)


def fmix32(h: np.ndarray) -> np.ndarray:
    """MurmurHash3's 32-bit finalizer (datasketch's pre-mix for affine32)."""
    h = h ^ (h >> _U32(16))
    h = h * _U32(0x85EBCA6B)
    h = h ^ (h >> _U32(13))
    h = h * _U32(0xC2B2AE35)
    return h ^ (h >> _U32(16))


class _TokenHashes(dict):
    """Token -> the first 8 bytes of its sha1, computed on first sight. Bounded: a corpus's identifiers and
    literals keep growing with it (82k distinct tokens in 1,000 GOROOT files, 283k in 8,000 edited copies:
    36 MB), so the cache starts afresh past `max_tokens`; a hash is the same whether cached or not."""

    def __init__(self, max_tokens: int = 100_000):
        super().__init__()
        self.max_tokens = max_tokens

    def __missing__(self, token: str) -> int:
        if len(self) >= self.max_tokens:
            self.clear()
        h = int.from_bytes(hashlib.sha1(token.encode("utf-8", "surrogatepass")).digest()[:8], "little")
        self[token] = h
        return h


class ShingleHasher:
    """Text -> the sorted unique 32-bit hashes of its k-token shingles (a quarter of Go's shingles repeat:
    unique costs what it saves in signatures, and exact Jaccard needs sets).

    A shingle's hash is a position-weighted sum of its tokens' hashes, avalanched, top 32 bits.
    A text shorter than k tokens is one shingle; a text without tokens has none.
    """

    def __init__(self, k: int = 5):
        if not 1 <= k <= len(_POSITION_MULTIPLIERS):
            raise ValueError(f"shingle length {k} outside 1..{len(_POSITION_MULTIPLIERS)}")
        self.k = k
        self._token_hash = _TokenHashes()

    def __call__(self, text: str) -> np.ndarray:
        tokens = GO_TOKEN.findall(text)
        if not tokens:
            return np.empty(0, dtype=_U32)
        t = np.fromiter(map(self._token_hash.__getitem__, tokens), dtype=np.uint64, count=len(tokens))
        k = min(self.k, len(t))
        n = len(t) - k + 1
        h = t[:n] * _POSITION_MULTIPLIERS[0]
        for i in range(1, k):
            h += t[i:i + n] * _POSITION_MULTIPLIERS[i]
        h ^= h >> np.uint64(33)
        h *= np.uint64(0xFF51AFD7ED558CCD)
        h ^= h >> np.uint64(33)
        return np.unique((h >> np.uint64(32)).astype(_U32))


class MinHasher:
    """Vectorised MinHash signatures, bit-exact with datasketch's affine32 scheme for the same seed."""

    def __init__(self, num_perm: int = 256, seed: int = 1, block_cols: int = 4096, workers: int = 1):
        a, b = MinHash(num_perm=num_perm, seed=seed).permutations  # datasketch's own parameters
        self.a = a.astype(_U32)
        self.b = b.astype(_U32)
        self.num_perm = num_perm
        self.block_cols = block_cols
        self.workers = workers

    def signatures(self, hashes: list[np.ndarray]) -> np.ndarray:
        """(documents, num_perm) uint32; a document with no shingles keeps the all-0xFFFFFFFF signature."""
        out = np.full((len(hashes), self.num_perm), np.iinfo(_U32).max, dtype=_U32)
        if not hashes:
            return out
        parts = np.array_split(np.arange(len(hashes)), max(1, min(self.workers, len(hashes))))
        with ThreadPoolExecutor(len(parts)) as pool:  # numpy releases the GIL in the permutation loop
            list(pool.map(lambda ids: self._fill(hashes, ids, out), parts))
        return out

    def _fill(self, hashes: list[np.ndarray], doc_ids: np.ndarray, out: np.ndarray) -> None:
        if len(doc_ids) == 0:
            return
        lengths = np.array([len(hashes[i]) for i in doc_ids], dtype=np.int64)
        flat = fmix32(np.concatenate([hashes[i] for i in doc_ids]).astype(_U32, copy=False))
        owner = np.repeat(doc_ids, lengths)  # document of each flat shingle
        # (perms x shingles) blocks: each document's shingles are a contiguous run of columns, so the
        # per-document minimum is a contiguous reduceat along the last axis (the fast direction).
        buf = np.empty((self.num_perm, self.block_cols), dtype=_U32)
        a, b = self.a[:, None], self.b[:, None]
        for start in range(0, len(flat), self.block_cols):
            hv = flat[start:start + self.block_cols]
            docs = owner[start:start + self.block_cols]
            block = buf[:, :len(hv)]
            np.multiply(a, hv[None, :], out=block)  # wraps mod 2**32: the scheme's modulo
            np.add(block, b, out=block)
            seg = np.flatnonzero(np.r_[True, docs[1:] != docs[:-1]])  # each document's run inside the block
            mins = np.minimum.reduceat(block, seg, axis=1).T
            ids = docs[seg]
            out[ids] = np.minimum(out[ids], mins)


def lsh_params(threshold: float, num_perm: int) -> tuple[int, int]:
    """(bands, rows) exactly as datasketch's MinHashLSH chooses them (the bench's baseline)."""
    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
    return lsh.b, lsh.r


def recall_lsh_params(threshold: float, num_perm: int, miss: float = 1e-3) -> tuple[int, int]:
    """(bands, rows) for recall: the longest bands such that a pair AT the threshold is missed with probability
    <= `miss` (every pair above it less). MinHashLSH balances misses against false candidates instead (25 x 10
    at 0.7: a pair at 0.7 becomes a candidate with probability 0.51); here false candidates are cheap, since
    verification is exact. At 0.7 and 256 permutations: 51 bands of 5 rows, miss 8e-5."""
    for rows in range(num_perm, 0, -1):
        bands = num_perm // rows
        if (1 - threshold ** rows) ** bands <= miss:
            return bands, rows
    raise ValueError(f"no banding of {num_perm} permutations misses <= {miss} at Jaccard {threshold}")


def candidate_pairs(signatures: np.ndarray, bands: int, rows: int, active: np.ndarray | None = None) -> np.ndarray:
    """Pairs (i < j) sharing at least one band bucket: a DuckDB self-join over (band, bucket) rows.

    The bucket is the band's raw bytes (no second hash), so the set equals MinHashLSH's for the same banding.
    """
    n = len(signatures)
    ids = np.arange(n, dtype=np.int64) if active is None else np.flatnonzero(active).astype(np.int64)
    if len(ids) < 2:
        return np.empty((0, 2), dtype=np.int64)
    width = 4 * rows
    tables = []
    for band in range(bands):
        chunk = np.ascontiguousarray(signatures[ids, band * rows:(band + 1) * rows])
        keys = pa.FixedSizeBinaryArray.from_buffers(pa.binary(width), len(ids), [None, pa.py_buffer(chunk.tobytes())])
        tables.append(pa.table({"doc": ids, "band": np.full(len(ids), band, dtype=np.int16), "bucket": keys}))
    con = duckdb.connect()
    try:
        con.register("buckets", pa.concat_tables(tables))
        return bucket_pairs(con, "buckets")
    finally:
        con.close()


def bucket_pairs(con, table: str) -> np.ndarray:
    """Pairs (a < b) of `doc`s sharing a (band, bucket) row of `table`, by one DuckDB self-join (it spills to
    disk rather than hold a big corpus in memory)."""
    pairs = con.execute(f"""
        WITH shared AS (  -- buckets holding more than one document
            SELECT band, bucket FROM {table} GROUP BY ALL HAVING count(*) > 1
        ), members AS (
            SELECT b.band, b.bucket, b.doc FROM {table} b JOIN shared USING (band, bucket)
        )
        SELECT DISTINCT x.doc AS a, y.doc AS b
        FROM members x JOIN members y ON x.band = y.band AND x.bucket = y.bucket AND x.doc < y.doc
        ORDER BY a, b
    """).fetchnumpy()
    return np.stack([pairs["a"], pairs["b"]], axis=1).astype(np.int64) if len(pairs["a"]) else np.empty((0, 2), np.int64)


def estimated_jaccard(signatures: np.ndarray, pairs: np.ndarray) -> np.ndarray:
    if len(pairs) == 0:
        return np.empty(0)
    return (signatures[pairs[:, 0]] == signatures[pairs[:, 1]]).mean(axis=1)


def exact_jaccard(hashes: list[np.ndarray], pairs: np.ndarray, batch_shingles: int = 2_000_000) -> np.ndarray:
    """|A & B| / |A | B| of each pair's shingle-hash sets (sorted, unique), counted, not estimated.

    Only the documents named in `pairs` are touched: their sets become the rows of one sparse 0/1 matrix, and
    a batch of pairs is an element-wise product of two row selections, summed per row. A batch holds at most
    about `batch_shingles` shingles of each side: the row selections are copies, and near duplicates share
    documents, so a block of pairs would otherwise copy the same long rows many times over.
    """
    if len(pairs) == 0:
        return np.empty(0)
    docs, local = np.unique(pairs, return_inverse=True)
    local = local.reshape(pairs.shape)
    lengths = np.array([len(hashes[d]) for d in docs], dtype=np.int64)
    flat = np.concatenate([hashes[d] for d in docs])
    _, columns = np.unique(flat, return_inverse=True)
    indptr = np.r_[0, np.cumsum(lengths)]
    x = csr_matrix((np.ones(len(flat), dtype=np.int32), columns.ravel(), indptr), shape=(len(docs), columns.max() + 1))
    out = np.empty(len(pairs))
    cost = np.cumsum(np.maximum(lengths[local[:, 0]], lengths[local[:, 1]]))
    start = 0
    while start < len(pairs):
        end = max(start + 1, int(np.searchsorted(cost, (cost[start - 1] if start else 0) + batch_shingles, "right")))
        a, b = local[start:end, 0], local[start:end, 1]
        inter = np.asarray(x[a].multiply(x[b]).sum(axis=1)).ravel()
        union = lengths[a] + lengths[b] - inter
        out[start:end] = np.divide(inter, union, out=np.zeros(len(a)), where=union > 0)
        start = end
    return out


@dataclass
class Clusters:
    representative: np.ndarray  # document index of each document's representative (itself when kept)
    size: np.ndarray            # documents sharing each document's representative
    edges: int                  # verified near-duplicate pairs


def cluster(n: int, pairs: np.ndarray, rank: np.ndarray) -> Clusters:
    """Clusters around a representative, no chaining: in `rank` order, a document not yet taken is kept and
    takes every neighbour not yet taken. So each dropped document is a verified near duplicate of the document
    kept for it, and A~B, B~C never drops C when A and C differ (C is kept unless C~A). Deterministic for a
    total order `rank`: the result does not depend on the order of `pairs`."""
    rep = np.full(n, -1, dtype=np.int64)
    if len(pairs):
        graph = csr_matrix((np.ones(2 * len(pairs), dtype=np.int8),
                            (np.r_[pairs[:, 0], pairs[:, 1]], np.r_[pairs[:, 1], pairs[:, 0]])), shape=(n, n))
        indptr, indices = graph.indptr, graph.indices
        linked = np.flatnonzero(np.diff(indptr))
        for i in linked[np.argsort(rank[linked], kind="stable")]:
            if rep[i] >= 0:
                continue
            rep[i] = i
            neighbours = indices[indptr[i]:indptr[i + 1]]
            rep[neighbours[rep[neighbours] < 0]] = i
    alone = rep < 0
    rep[alone] = np.flatnonzero(alone)
    return Clusters(rep, np.bincount(rep, minlength=n)[rep].astype(np.int64), len(pairs))


# A pair's estimate is within 4 standard deviations (sqrt(J(1-J)/num_perm) <= 0.031 at 256) of its Jaccard
# this much below the threshold: candidates estimated lower are not worth an exact count.
ESTIMATE_SLACK = 0.125


def similar_pairs(hashes: list[np.ndarray], signatures: np.ndarray, threshold: float) -> tuple[np.ndarray, dict]:
    """Verified pairs (exact Jaccard >= threshold) among the recall-tuned LSH candidates, and counts."""
    bands, rows = recall_lsh_params(threshold, signatures.shape[1])
    active = np.array([len(h) > 0 for h in hashes], dtype=bool)
    candidates = candidate_pairs(signatures, bands, rows, active)
    plausible = candidates[estimated_jaccard(signatures, candidates) >= threshold - ESTIMATE_SLACK]
    similar = plausible[exact_jaccard(hashes, plausible) >= threshold]
    return similar, {"candidate_pairs": len(candidates), "verified_pairs": len(plausible), "similar_pairs": len(similar)}


def near_duplicates(texts: list[str], rank: np.ndarray, *, num_perm: int = 256, shingle_tokens: int = 5,
                    threshold: float = 0.7, seed: int = 1, workers: int = 1) -> Clusters:
    """The whole near-dedup of a list of texts (see the module docstring)."""
    hasher = ShingleHasher(shingle_tokens)
    hashes = [hasher(t) for t in texts]
    sigs = MinHasher(num_perm, seed, workers=workers).signatures(hashes)
    similar, _ = similar_pairs(hashes, sigs, threshold)
    return cluster(len(texts), similar, rank)
