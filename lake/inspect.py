"""What is in the lake: per-table rows, bytes, partitions and last snapshot; column descriptions."""
from __future__ import annotations

from lake.catalog import TABLES, table as declared
from lake.connection import CATALOG, Lake

_META = f"__ducklake_metadata_{CATALOG}"


def table_versions(lk: Lake) -> dict[str, int]:
    """Table name -> the last snapshot that created, altered, inserted into or deleted from it (DuckLake's
    snapshots() name a created table `main.NAME` and the others by table id; a dropped table's old id is not
    the current one, so it no longer counts)."""
    ids = {str(tid): name for name, tid in lk.con.execute(
        f"SELECT table_name, table_id FROM ducklake_table_info('{CATALOG}')").fetchall()}
    last: dict[str, int] = {}
    for snapshot, changes in lk.con.execute(f"SELECT snapshot_id, changes FROM {CATALOG}.snapshots()").fetchall():
        for values in (changes or {}).values():
            for v in values or []:
                name = ids.get(str(v)) or (v.split(".", 1)[1] if str(v).startswith("main.") else None)
                if name:
                    last[name] = max(last.get(name, -1), int(snapshot))
    return last


def table_stats(lk: Lake) -> list[dict]:
    """One dict per declared table: name, layer, rows, bytes, files, partitions, last_snapshot, description."""
    info = {r[0]: r for r in lk.con.execute(f"SELECT * FROM ducklake_table_info('{CATALOG}')").fetchall()}
    parts = dict(lk.con.execute(f"""
        SELECT f.table_id, count(DISTINCT pv.partition_value)
        FROM {_META}.ducklake_data_file f JOIN {_META}.ducklake_file_partition_value pv USING (data_file_id)
        WHERE f.end_snapshot IS NULL GROUP BY f.table_id""").fetchall())
    last = table_versions(lk)
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
            "last_snapshot": last.get(name),
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
