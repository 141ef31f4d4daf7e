"""The near-dedup step: files from sql/clean_dedup_candidates.sql -> near_dup_clusters."""
from __future__ import annotations

import hashlib

import numpy as np
import pyarrow as pa
from tqdm import tqdm

from transforms import dedup
from transforms.config import TransformConfig


def run(lake, source, cfg: TransformConfig) -> dict:
    hasher = dedup.ShingleHasher(cfg.shingle_tokens)
    repo_ids, paths, sizes, hashes = [], [], [], []
    reader = source(2_000)
    with tqdm(desc="near dedup: shingling", unit=" files", leave=False) as bar:
        for batch in reader:  # texts are hashed and let go: only the shingle hashes stay in memory
            repo_ids += batch.column("repo_id").to_pylist()
            paths += batch.column("path").to_pylist()
            sizes += batch.column("size").to_pylist()
            hashes += [hasher(t) for t in batch.column("content").to_pylist()]
            bar.update(batch.num_rows)
    sigs = dedup.MinHasher(cfg.num_perm, cfg.minhash_seed).signatures(hashes)
    similar, counts = dedup.similar_pairs(hashes, sigs, cfg.jaccard_threshold)
    # the source is ordered by the total order, so a document's index is its rank
    clusters = dedup.cluster(len(hashes), similar, np.arange(len(hashes)))
    rep = clusters.representative
    cluster_ids = [hashlib.sha256(f"{repo_ids[r]}\0{paths[r]}".encode()).hexdigest()[:16] for r in rep]
    table = pa.table({
        "repo_id": repo_ids, "path": paths, "size": pa.array(sizes, pa.int64()), "cluster_id": cluster_ids,
        "cluster_size": pa.array(clusters.size, pa.int32()),
        "is_representative": pa.array(rep == np.arange(len(rep)), pa.bool_()),
    })
    lake.write("near_dup_clusters", table, mode="overwrite")
    dropped = int((rep != np.arange(len(rep))).sum())
    return {"rows": len(hashes), **counts,
            "clusters_with_duplicates": int(len(np.unique(rep[clusters.size > 1]))), "dropped": dropped}
