"""Near-dedup on the Go source tree: recall against brute force, and throughput next to datasketch.

    .venv/bin/python bench/dedup_bench.py [--limit N] [--goroot DIR] [--workers N]

Every side gets the same per-file shingle-hash sets (5-gram Go-token shingles, hashed once, timed apart).
- truth: brute force over ALL pairs, the exact Jaccard of the shingle-hash sets (a sparse X @ X.T in row blocks),
  pairs at >= 0.7.
- ours: MinHasher.signatures + similar_pairs (recall banding, exact verification) + cluster (representatives).
- datasketch: MinHash.bulk(..., hashfunc=int) + MinHashLSH (its own bands and rows) insert and query, pairs kept
  on the estimated Jaccard, as the datasketch recipe does (and as this project did before).
Prints recall of the truth pairs for both, the documents dropped below the threshold of their representative
(checked against the truth, apart from the code), docs/s and the ratio. Exits 1 when recall < 99% or a document
is dropped below the threshold.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from datasketch import MinHash, MinHashLSH
from scipy.sparse import csr_matrix

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from transforms import dedup  # noqa: E402

DEFAULT_GOROOT = Path(__file__).resolve().parents[1] / ".venv/lib/python3.11/site-packages/go"
THRESHOLD = 0.7


def brute_force_pairs(hashes: list[np.ndarray], threshold: float, block: int = 256) -> set[tuple[int, int]]:
    """Every pair (i < j) whose shingle-hash sets have Jaccard >= threshold, from all n^2 / 2 intersections."""
    lengths = np.array([len(h) for h in hashes], dtype=np.int64)
    flat = np.concatenate(hashes)
    _, cols = np.unique(flat, return_inverse=True)
    x = csr_matrix((np.ones(len(flat), np.int32), cols.ravel(), np.r_[0, np.cumsum(lengths)]),
                   shape=(len(hashes), int(cols.max()) + 1))
    xt = x.T.tocsr()
    out = set()
    for start in range(0, len(hashes), block):
        inter = (x[start:start + block] @ xt).tocoo()
        i, j, v = inter.row + start, inter.col, inter.data
        keep = (i < j) & (v >= threshold * (lengths[i] + lengths[j] - v))
        out.update(zip(i[keep].tolist(), j[keep].tolist()))
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--goroot", type=Path, default=DEFAULT_GOROOT)
    ap.add_argument("--limit", type=int, default=None, help="first N .go files (sorted by path)")
    ap.add_argument("--workers", type=int, default=1, help="threads for our permutation loop")
    args = ap.parse_args()
    paths = sorted(p for p in (args.goroot / "src").rglob("*.go") if p.is_file())[: args.limit]
    texts = [p.read_text(encoding="utf-8", errors="surrogateescape") for p in paths]
    mb = sum(len(t.encode("utf-8", "surrogateescape")) for t in texts) / 1e6
    n = len(texts)
    print(f"corpus: {n} Go files, {mb:.1f} MB from {args.goroot / 'src'}")

    t0 = time.perf_counter()
    hasher = dedup.ShingleHasher(5)
    hashes = [hasher(t) for t in texts]
    t_shingle = time.perf_counter() - t0
    print(f"shingling (shared by all): {t_shingle:6.2f} s  {sum(len(h) for h in hashes):,} shingles")

    t0 = time.perf_counter()
    truth = brute_force_pairs(hashes, THRESHOLD)
    print(f"truth: brute force over {n * (n - 1) // 2:,} pairs in {time.perf_counter() - t0:.1f} s: "
          f"{len(truth):,} pairs at Jaccard >= {THRESHOLD}")

    t0 = time.perf_counter()
    sigs = dedup.MinHasher(256, seed=1, workers=args.workers).signatures(hashes)
    similar, counts = dedup.similar_pairs(hashes, sigs, THRESHOLD)
    clusters = dedup.cluster(n, similar, np.arange(n))
    t_ours = time.perf_counter() - t0

    t0 = time.perf_counter()
    bands, rows = dedup.lsh_params(THRESHOLD, 256)
    minhashes = MinHash.bulk([h.tolist() for h in hashes], num_perm=256, seed=1, hashfunc=int)
    lsh = MinHashLSH(threshold=THRESHOLD, num_perm=256, params=(bands, rows))
    with lsh.insertion_session() as session:
        for i, m in enumerate(minhashes):
            if len(hashes[i]):
                session.insert(i, m)
    theirs = {(min(i, j), max(i, j)) for i, m in enumerate(minhashes) if len(hashes[i]) for j in lsh.query(m)
              if i != j and m.jaccard(minhashes[j]) >= THRESHOLD}
    t_ds = time.perf_counter() - t0

    ours = {tuple(p) for p in similar.tolist()}
    rep = clusters.representative
    dropped = np.flatnonzero(rep != np.arange(n))
    below = [int(d) for d in dropped if (min(d, rep[d]), max(d, rep[d])) not in truth]
    recall = len(ours & truth) / max(len(truth), 1)
    print(f"ours:       {counts['candidate_pairs']:,} candidates ({bands}x{rows} -> "
          f"{dedup.recall_lsh_params(THRESHOLD, 256)[0]}x{dedup.recall_lsh_params(THRESHOLD, 256)[1]} bands), "
          f"{counts['verified_pairs']:,} counted exactly, {len(ours):,} similar, {len(ours - truth)} not in the truth")
    print(f"recall of the Jaccard >= {THRESHOLD} pairs: ours {100 * recall:.2f}%  (target >= 99%), "
          f"datasketch {100 * len(theirs & truth) / max(len(truth), 1):.2f}% "
          f"({len(theirs - truth)} of its {len(theirs):,} pairs below the threshold)")
    print(f"documents dropped: {len(dropped):,}; dropped below the threshold of their representative: {len(below)} "
          f"(target 0)")
    print(f"ours:       {t_ours:6.2f} s -> {n / t_ours:8,.0f} docs/s (signatures, LSH, exact verification, clusters)")
    print(f"datasketch: {t_ds:6.2f} s -> {n / t_ds:8,.0f} docs/s (MinHash.bulk, MinHashLSH, estimated Jaccard)")
    print(f"speed-up: {t_ds / t_ours:.1f}x (target >= 4x); end to end incl. shingling "
          f"{(t_shingle + t_ds) / (t_shingle + t_ours):.1f}x")
    return 0 if recall >= 0.99 and not below else 1


if __name__ == "__main__":
    sys.exit(main())
