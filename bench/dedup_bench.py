"""Near-dedup throughput on the Go source tree: transforms.dedup vs datasketch, same run, same inputs.

    .venv/bin/python bench/dedup_bench.py [--limit N] [--goroot DIR]

Both sides get the same per-file shingle-hash sets (5-gram Go-token shingles, hashed once, timed apart),
256 permutations, datasketch's default affine32 scheme, seed 1, and LSH at Jaccard 0.7 with the bands and rows
MinHashLSH picks. datasketch: MinHash.bulk(..., hashfunc=int) + MinHashLSH insert and query. Ours:
MinHasher.signatures + candidate_pairs (one DuckDB join over band buckets). The candidate-pair sets must be
identical; the bench says so, or exits 1.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from datasketch import MinHash, MinHashLSH

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from transforms import dedup  # noqa: E402

DEFAULT_GOROOT = Path(__file__).resolve().parents[1] / ".venv/lib/python3.11/site-packages/go"


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
    shingles = sum(len(h) for h in hashes)
    print(f"shingling (shared by both): {t_shingle:6.2f} s  {shingles:,} shingles")

    bands, rows = dedup.lsh_params(0.7, 256)
    active = np.array([len(h) > 0 for h in hashes])

    t0 = time.perf_counter()
    sigs = dedup.MinHasher(256, seed=1, workers=args.workers).signatures(hashes)
    t_sig = time.perf_counter() - t0
    ours = dedup.candidate_pairs(sigs, bands, rows, active)
    t_ours = time.perf_counter() - t0

    t0 = time.perf_counter()
    minhashes = MinHash.bulk([h.tolist() for h in hashes], num_perm=256, seed=1, hashfunc=int)
    t_ds_sig = time.perf_counter() - t0
    lsh = MinHashLSH(threshold=0.7, num_perm=256, params=(bands, rows))
    with lsh.insertion_session() as session:
        for i, m in enumerate(minhashes):
            if active[i]:
                session.insert(i, m)
    theirs = {(min(i, j), max(i, j)) for i, m in enumerate(minhashes) if active[i] for j in lsh.query(m) if i != j}
    t_ds = time.perf_counter() - t0

    same_sigs = all(np.array_equal(m.hashvalues, s) for m, s in zip(minhashes, sigs))
    ours_set = {tuple(p) for p in ours.tolist()}
    print(f"ours:       signatures {t_sig:6.2f} s, + LSH {t_ours:6.2f} s  -> {n / t_ours:8,.0f} docs/s")
    print(f"datasketch: MinHash.bulk {t_ds_sig:6.2f} s, + MinHashLSH {t_ds:6.2f} s  -> {n / t_ds:8,.0f} docs/s")
    print(f"speed-up (MinHash + LSH): {t_ds / t_ours:.1f}x   (target >= 4x)")
    print(f"end to end incl. shingling: ours {n / (t_shingle + t_ours):,.0f} docs/s, "
          f"datasketch {n / (t_shingle + t_ds):,.0f} docs/s, {(t_shingle + t_ds) / (t_shingle + t_ours):.1f}x")
    print(f"signatures bit-exact: {same_sigs}; candidate pairs: ours {len(ours_set):,}, datasketch {len(theirs):,}, "
          f"identical: {ours_set == theirs}")
    return 0 if same_sigs and ours_set == theirs else 1


if __name__ == "__main__":
    sys.exit(main())
