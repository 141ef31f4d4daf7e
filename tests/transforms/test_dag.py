"""The transforms order is derived from what each step declares, and the SQL headers are checked."""
from __future__ import annotations

import shutil
from importlib import resources
from pathlib import Path

import duckdb
import pytest

from lake import Lake
from lake.catalog import TABLES
from transforms import dag, models, pipeline
from transforms.config import TransformConfig
from transforms.errors import TransformError

SQL = Path(str(resources.files("sql")))


def _empty_tables(con, tables):
    for name in tables:
        cols = ", ".join(f'"{c.name}" {c.type}' for c in TABLES[name].columns)
        con.execute(f'CREATE TABLE "{name}" ({cols})')


@pytest.mark.parametrize("name", [n for n in models.available()])
def test_each_real_header_names_exactly_the_tables_its_sql_binds_to(name):
    """Truth from DuckDB's binder, apart from the header parser: the SQL binds with only its declared tables
    present, and fails naming each one when that one alone is missing."""
    model = models.load(name)
    with duckdb.connect() as con:
        _empty_tables(con, model.reads)
        con.execute(f"EXPLAIN {model.sql}")
    for missing in model.reads:
        with duckdb.connect() as con:
            _empty_tables(con, [t for t in model.reads if t != missing])
            with pytest.raises(duckdb.CatalogException, match=rf"\b{missing}\b"):
                con.execute(f"EXPLAIN {model.sql}")


def test_derived_order_is_a_topological_order_of_the_real_steps():
    plan = pipeline.steps()
    assert sorted(s.name for s in plan) == sorted(
        {*models.available(), *(p.name for p in pipeline.PYTHON_STEPS)})
    written: set[str] = set()
    for step in plan:
        for table in step.inputs:
            assert table in written or TABLES[table].layer in ("raw", "config"), (step.name, table)
        written.update(step.writes)
    assert [s.name for s in plan] == [s.name for s in pipeline.steps()]  # the same on every call


def test_step_name_is_file_name_is_table_written():
    for step in pipeline.steps():
        assert (SQL / f"{step.name}.sql").exists()
        if step.python is None:
            assert step.writes == (step.name,)


@pytest.fixture
def sql_copy(tmp_path):
    folder = tmp_path / "sql"
    shutil.copytree(SQL, folder, ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    return folder


def _edit(folder: Path, name: str, old: str, new: str) -> None:
    path = folder / f"{name}.sql"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def test_a_header_that_leaves_out_a_table_the_sql_reads_is_an_error(sql_copy):
    _edit(sql_copy, "samples", "-- reads: documents, repo_splits, clean_repos", "-- reads: repo_splits, clean_repos")
    with pytest.raises(TransformError, match=r"sql/samples\.sql: .*reads but does not declare: documents$"):
        pipeline.steps(sql_copy)


def test_a_header_that_names_a_table_the_sql_does_not_read_is_an_error(sql_copy):
    _edit(sql_copy, "repo_splits", "-- reads: clean_repos", "-- reads: clean_repos, clean_files")
    with pytest.raises(TransformError, match=r"sql/repo_splits\.sql: .*declares but does not read: clean_files"):
        pipeline.steps(sql_copy)


def test_a_cycle_is_an_error_naming_its_steps(sql_copy):
    (sql_copy / "repo_splits.sql").write_text(
        "-- model: repo_splits\n-- reads: samples\n-- writes: repo_splits\nSELECT repo_id FROM samples\n")
    with pytest.raises(TransformError, match="cycle") as e:
        pipeline.steps(sql_copy)
    assert "repo_splits" in str(e.value) and "samples" in str(e.value)


def test_reading_a_table_nobody_writes_and_no_raw_table_is_an_error(sql_copy):
    # `tokenizers` is declared in lake/tables but is neither raw nor written by a transforms step
    (sql_copy / "clean_files.sql").write_text(
        "-- model: clean_files\n-- reads: files, tokenizers\n-- writes: clean_files\n"
        "SELECT f.repo_id FROM files AS f, tokenizers\n")
    with pytest.raises(TransformError, match="step clean_files reads 'tokenizers', which no step writes"):
        pipeline.steps(sql_copy)


def test_a_model_not_named_for_the_table_it_writes_is_an_error(sql_copy):
    (sql_copy / "samples.sql").rename(sql_copy / "gold_samples.sql")
    _edit(sql_copy, "gold_samples", "-- model: samples", "-- model: gold_samples")
    with pytest.raises(TransformError, match=r"sql/gold_samples\.sql writes 'samples'"):
        pipeline.steps(sql_copy)


def test_two_steps_writing_one_table_is_an_error(sql_copy):
    (sql_copy / "extra.sql").write_text("-- model: extra\n-- reads: files\n-- feeds: extra\nSELECT * FROM files\n")
    extra = dag.PythonStep("extra", ("samples",), lambda lake, source, cfg: {})
    with pytest.raises(TransformError, match="'samples' is written by two steps"):
        dag.order(dag.declared_steps((*pipeline.PYTHON_STEPS, extra), sql_copy))


def test_a_feed_model_without_its_python_step_is_an_error(sql_copy):
    (sql_copy / "extra.sql").write_text("-- model: extra\n-- reads: files\n-- feeds: extra\nSELECT * FROM files\n")
    with pytest.raises(TransformError, match=r"sql/extra\.sql feeds 'extra', but no Python step"):
        pipeline.steps(sql_copy)


def test_a_python_step_that_writes_an_undeclared_table_fails_its_run(tmp_path):
    def sneaky(lake, source, cfg):
        lake.write("near_dup_bands", [{"doc": 1, "band": 0, "bucket": 7, "share": 1, "shares": 1}], mode="overwrite")
        lake.write("exact_dups", [{"repo_id": "r", "path": "a.go", "content_hash": "h", "size": 1,
                                   "kept_repo_id": "k", "kept_path": "a.go"}], mode="overwrite")
        return {"rows": 0}

    base = next(s for s in pipeline.steps() if s.name == "near_dedup")
    step = dag.Step("near_dedup", base.model, base.writes, sneaky)
    with Lake(tmp_path / "lake") as lake:
        before = pipeline.table_versions(lake)
        with pytest.raises(TransformError, match="step near_dedup wrote exact_dups, which it does not declare"):
            pipeline._run_step(lake, step, TransformConfig(), "fp", {}, before, lambda s: None)
        status = lake.con.execute("SELECT status FROM runs WHERE command = 'transforms near_dedup'").fetchone()
    assert status == ("failed",)
