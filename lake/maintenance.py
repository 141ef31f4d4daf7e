"""Compaction and snapshot expiry with DuckLake's own maintenance functions.

A snapshot that a training run, a shard or a tokenizer names is never expired: those are the
snapshots a run must be able to reproduce.
"""
from __future__ import annotations

from datetime import timedelta

from lake.connection import CATALOG, Lake

# (table, column) pairs whose values are snapshots someone depends on.
NAMED_SNAPSHOTS = (("training_runs", "lake_snapshot"), ("shards", "lake_snapshot"), ("tokenizers", "sample_snapshot"))


def named_snapshots(lk: Lake) -> set[int]:
    have = lk.existing_tables()
    out: set[int] = set()
    for t, c in NAMED_SNAPSHOTS:
        if t in have:
            out |= {r[0] for r in lk.con.execute(f'SELECT DISTINCT "{c}" FROM "{t}" WHERE "{c}" IS NOT NULL').fetchall()}
    return out


def compact(lk: Lake, retain: timedelta = timedelta(days=7), dry_run: bool = False) -> dict:
    """Flush inlined rows, merge small files, expire unnamed snapshots older than `retain`, delete freed files."""
    keep = named_snapshots(lk) | {lk.snapshot()}
    old = [r[0] for r in lk.con.execute(
        f"SELECT snapshot_id FROM {CATALOG}.snapshots() WHERE snapshot_time < now() - ?::INTERVAL ORDER BY 1",
        [f"{int(retain.total_seconds())} seconds"]).fetchall()]
    expire = [s for s in old if s not in keep]
    report = {"named_snapshots_kept": sorted(keep), "expired": expire, "dry_run": dry_run}
    if dry_run:
        return report
    files_before = lk.con.execute(f"SELECT sum(file_count) FROM ducklake_table_info('{CATALOG}')").fetchone()[0] or 0
    lk.con.execute(f"CALL ducklake_flush_inlined_data('{CATALOG}')")
    lk.con.execute(f"CALL ducklake_merge_adjacent_files('{CATALOG}')")
    if expire:
        lk.con.execute(f"CALL ducklake_expire_snapshots('{CATALOG}', versions => ?)", [expire])
    cleaned = lk.con.execute(f"CALL ducklake_cleanup_old_files('{CATALOG}', cleanup_all => true)").fetchall()
    report["data_files_before"] = int(files_before)
    report["data_files_after"] = int(lk.con.execute(
        f"SELECT sum(file_count) FROM ducklake_table_info('{CATALOG}')").fetchone()[0] or 0)
    report["files_deleted"] = len(cleaned)
    return report
