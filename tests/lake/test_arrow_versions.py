"""lake.arrow's schemas agree with DuckDB's own Arrow types; lake.inspect.table_versions names the last
snapshot that changed each table (the one definition the pipeline, the packer and `lake tables` use)."""
from __future__ import annotations

import pyarrow as pa

from lake import Lake
from lake.arrow import schema
from lake.catalog import TABLES
from lake.inspect import table_versions
from tests.helpers.lakefill import files_sql


def _same(ours: pa.DataType, theirs: pa.DataType) -> bool:
    """Equal Arrow types, whatever DuckDB names a list's child; a timestamp in any zone name of the same unit."""
    if pa.types.is_list(theirs):
        return pa.types.is_list(ours) and _same(ours.value_type, theirs.value_type)
    if pa.types.is_map(theirs):
        return pa.types.is_map(ours) and _same(ours.key_type, theirs.key_type) and _same(ours.item_type, theirs.item_type)
    if pa.types.is_struct(theirs):
        return pa.types.is_struct(ours) and [f.name for f in ours] == [f.name for f in theirs] and \
            all(_same(a.type, b.type) for a, b in zip(ours, theirs))
    if pa.types.is_timestamp(theirs):  # DuckDB names the session's zone; ours is UTC
        return pa.types.is_timestamp(ours) and ours.unit == theirs.unit and ours.tz is not None
    return ours == theirs


def test_every_declared_table_maps_to_the_arrow_types_duckdb_gives_it(tmp_path):
    with Lake(tmp_path / "lake") as lk:
        lk.ensure_tables()
        for name in TABLES:
            ours = schema(name)
            duck = lk.query(f'SELECT * FROM "{name}" LIMIT 0').schema
            assert ours.names == duck.names, name
            wrong = [(f.name, str(f.type), str(duck.field(f.name).type)) for f in ours
                     if not _same(f.type, duck.field(f.name).type)]
            assert wrong == [], name


def test_table_versions_moves_only_for_the_table_a_commit_changed(tmp_path):
    with Lake(tmp_path / "lake") as lk:
        lk.write("files", files_sql("a/x", 3))
        after_files = lk.snapshot()
        before = table_versions(lk)
        assert before["files"] == after_files
        lk.con.execute("DELETE FROM files WHERE path = 'f0.go'")
        deleted = lk.snapshot()
        now = table_versions(lk)
        assert deleted > after_files and now["files"] == deleted
        assert {t: v for t, v in now.items() if t != "files"} == {t: v for t, v in before.items() if t != "files"}
