"""What is in the lake: per-table rows, bytes, partitions and last snapshot; column descriptions."""
from __future__ import annotations

from lake.catalog import TABLES, table as declared
from lake.connection import CATALOG, Lake

_META = f"__ducklake_metadata_{CATALOG}"


def _last_snapshot_by_table_id(lk: Lake) -> dict[int, int]:
    last: dict[int, int] = {}
    for snap_id, changes in lk.con.execute(f"SELECT snapshot_id, changes FROM {CATALOG}.snapshots()").fetchall():
        for kind, ids in (changes or {}).items():
            if "insert" in kind or "delete" in kind or "created_table" in kind or "compact" in kind:
                for i in ids or []:
                    if str(i).isdigit():
                        last[int(i)] = max(last.get(int(i), 0), snap_id)
    return last


def table_stats(lk: Lake) -> list[dict]:
    """One dict per declared table: name, layer, rows, bytes, files, partitions, last_snapshot, description."""
    info = {r[0]: r for r in lk.con.execute(f"SELECT * FROM ducklake_table_info('{CATALOG}')").fetchall()}
    parts = dict(lk.con.execute(f"""
        SELECT f.table_id, count(DISTINCT pv.partition_value)
        FROM {_META}.ducklake_data_file f JOIN {_META}.ducklake_file_partition_value pv USING (data_file_id)
        WHERE f.end_snapshot IS NULL GROUP BY f.table_id""").fetchall())
    last = _last_snapshot_by_table_id(lk)
    out = []
    existing = lk.existing_tables()
    for name, t in TABLES.items():
        if name not in existing:
            continue
        row = info.get(name)
        table_id = row[2] if row else None
        out.append({
            "name": name, "layer": t.layer,
            "rows": lk.con.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0],
            "bytes": int(row[5]) if row else 0,
            "files": int(row[4]) if row else 0,
            "partitions": ",".join(t.partition_by) + (f" ({parts.get(table_id, 0)})" if t.partition_by else ""),
            "last_snapshot": last.get(table_id),
            "description": t.description,
        })
    return out


def describe(name: str) -> list[dict]:
    t = declared(name)
    return [{
        "column": c.name, "type": c.type,
        "key": "key" if c.name in t.key else ("scope" if c.name in t.scope_columns else ""),
        "partition": "yes" if c.name in t.partition_by else "",
        "doc": c.doc,
    } for c in t.columns]
