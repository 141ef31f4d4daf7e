"""lake.arrow's schemas agree with DuckDB's own Arrow types; lake.inspect.table_versions names the last
snapshot that changed each table (the one definition the pipeline, the packer and `lake tables` use)."""
from __future__ import annotations

import pyarrow as pa

from lake import Lake
from lake.arrow import schema
from lake.catalog import TABLES
from lake.inspect import table_versions
from tests.lakefill import files_sql


def test_every_declared_table_maps_to_the_arrow_types_duckdb_gives_it(tmp_path):
    with Lake(tmp_path / "lake") as lk:
        lk.ensure_tables()
        for name in TABLES:
            ours = schema(name)
            duck = lk.query(f'SELECT * FROM "{name}" LIMIT 0').schema
            assert ours.names == duck.names, name
            for field in ours:
                theirs = duck.field(field.name).type
                if pa.types.is_timestamp(theirs):  # DuckDB names the session's zone; ours is UTC
                    assert pa.types.is_timestamp(field.type) and field.type.unit == theirs.unit, (name, field)
                else:
                    assert field.type == theirs, (name, field.name, field.type, theirs)


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
