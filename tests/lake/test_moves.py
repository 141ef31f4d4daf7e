"""A local lake opens wherever its folder is: moved, copied, reached through a symlink. --data-path is kept."""
import os
import shutil

import pytest

from lake import Lake, LakeError
from tests.helpers.lakefill import row

ROWS = [row("files", repo_id=f"acme/r{i}", path=f"p{j}.go", content=f"package p{i}{j}\n") for i in range(3) for j in range(100)]


def _fill(lake_dir, **kw) -> list[dict]:
    """Enough rows that DuckLake writes Parquet files (not rows inlined in the catalog); returns them sorted."""
    with Lake(lake_dir, **kw) as lk:
        lk.write("files", ROWS)
        return _files(lk)


def _files(lk) -> list[dict]:
    return lk.query("SELECT repo_id, path, content FROM files ORDER BY repo_id, path").to_pylist()


def _stored_data_path(lk) -> str:
    return lk.con.execute("SELECT value FROM __ducklake_metadata_lake.ducklake_metadata WHERE key = 'data_path'").fetchone()[0]


def test_a_local_lake_stores_its_data_path_relative_to_itself(tmp_path):
    _fill(tmp_path / "lake")
    with Lake(tmp_path / "lake") as lk:
        assert _stored_data_path(lk) == "files/"
    assert list((tmp_path / "lake" / "files").rglob("*.parquet"))


def test_a_moved_lake_opens_and_answers_the_same_rows(tmp_path):
    rows = _fill(tmp_path / "old")
    assert rows and len(rows) == len(ROWS)
    shutil.move(tmp_path / "old", tmp_path / "elsewhere" / "new")
    with Lake(tmp_path / "elsewhere" / "new", create=False) as lk:
        assert _files(lk) == rows
        lk.write("files", [row("files", repo_id="acme/r9", path="x.go", content="package x\n")])
        assert lk.count("files") == len(rows) + 1
    assert not (tmp_path / "old").exists()  # nothing was written where the lake used to be


def test_a_copied_lake_is_independent_of_the_original(tmp_path):
    rows = _fill(tmp_path / "a")
    shutil.copytree(tmp_path / "a", tmp_path / "b")
    with Lake(tmp_path / "b") as copy:
        assert _files(copy) == rows
        copy.write("files", None, scope=[{"repo_id": "acme/r0"}])  # empty the copy's acme/r0
        assert {r["repo_id"] for r in _files(copy)} == {"acme/r1", "acme/r2"}
    with Lake(tmp_path / "a") as original:
        assert _files(original) == rows
    shutil.rmtree(tmp_path / "a")  # the copy reads only its own files
    with Lake(tmp_path / "b") as copy:
        assert len(_files(copy)) == 200


def test_a_lake_reached_through_a_symlink_opens(tmp_path):
    rows = _fill(tmp_path / "real")
    os.symlink(tmp_path / "real", tmp_path / "link")
    with Lake(tmp_path / "link") as lk:
        assert _files(lk) == rows
    with Lake(tmp_path / "link", snapshot=1) as lk:  # time travel too
        assert lk.count("files") == 0


def test_a_lake_made_with_an_absolute_data_path_before_opens_after_a_move(tmp_path):
    # lakes made before the data path was stored relative: DuckLake itself stored the absolute folder
    import duckdb
    from lake import extensions
    (tmp_path / "old").mkdir()
    con = duckdb.connect()
    for ext in ("ducklake", "sqlite"):
        extensions.load(con, ext)
    con.execute(f"ATTACH 'ducklake:sqlite:{tmp_path}/old/catalog.sqlite' AS old (DATA_PATH '{tmp_path}/old/files/')")
    con.close()
    rows = _fill(tmp_path / "old")
    shutil.move(tmp_path / "old", tmp_path / "new")
    with Lake(tmp_path / "new") as lk:
        assert _stored_data_path(lk) == f"{tmp_path}/old/files/"
        assert _files(lk) == rows


def test_an_explicit_data_path_is_kept(tmp_path):
    data = tmp_path / "shared" / "files"
    rows = _fill(tmp_path / "lake", data_path=str(data))
    with Lake(tmp_path / "lake", data_path=str(data)) as lk:
        assert _stored_data_path(lk) == str(data) + "/"
    shutil.move(tmp_path / "lake", tmp_path / "moved")  # the catalog moves, the data stays where it was
    with Lake(tmp_path / "moved", data_path=str(data)) as lk:
        assert _files(lk) == rows
    with pytest.raises(LakeError, match="does not match existing data path"):
        Lake(tmp_path / "moved", data_path=str(tmp_path / "other"))
