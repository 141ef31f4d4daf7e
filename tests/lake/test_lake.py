import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lake import Lake, LakeError, Write
from tests.helpers.lakefill import files_sql, row

ROOT = Path(__file__).resolve().parents[2]


def _py(code: str, *args: str, **kw) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(code), *args], cwd=ROOT, **kw)


def test_write_replaces_rows_by_scope_and_rerun_never_duplicates(lake):
    lake.write("files", files_sql("a/x", 10))
    lake.write("files", files_sql("b/y", 5))
    lake.write("files", files_sql("a/x", 10))
    assert lake.query("SELECT repo_id, count(*) n FROM files GROUP BY 1 ORDER BY 1").to_pylist() == [
        {"repo_id": "a/x", "n": 10}, {"repo_id": "b/y", "n": 5}]
    lake.write("files", files_sql("a/x", 3, marker="v2"))
    assert lake.query("SELECT count(*) n, min(commit) c FROM files WHERE repo_id='a/x'").to_pylist() == [
        {"n": 3, "c": "v2"}]


def test_explicit_scope_empties_a_repository(lake):
    lake.write("files", files_sql("a/x", 4))
    lake.write("files", None, scope=[{"repo_id": "a/x"}])
    assert lake.count("files") == 0


def test_upsert_replaces_by_key(lake):
    lake.write("repos", [row("repos", repo_id="r", head_commit="h1")], mode="upsert")
    lake.write("repos", [row("repos", repo_id="r", head_commit="h2"), row("repos", repo_id="s")], mode="upsert")
    assert lake.query("SELECT repo_id, head_commit FROM repos ORDER BY 1").to_pylist() == [
        {"repo_id": "r", "head_commit": "h2"}, {"repo_id": "s", "head_commit": ""}]


def test_time_travel_returns_the_older_snapshot(lake, tmp_path):
    lake.write("files", files_sql("a/x", 7, marker="old"))
    old = lake.snapshot()
    lake.write("files", files_sql("a/x", 2, marker="new"))
    with Lake(tmp_path / "lake", snapshot=old) as past:
        assert past.query("SELECT count(*) n, min(commit) c FROM files").to_pylist() == [{"n": 7, "c": "old"}]
        with pytest.raises(LakeError, match="read-only"):
            past.write("files", files_sql("a/x", 1))
    assert lake.query(f"SELECT count(*) n FROM files AT (VERSION => {old})").to_pylist() == [{"n": 7}]


def test_commit_across_tables_is_all_or_nothing(lake):
    lake.write("repos", [row("repos", repo_id="r", head_commit="h1")])
    bad = [row("files", repo_id="r", path="a.go", size="not a number")]
    with pytest.raises(LakeError, match="column 'size'"):
        lake.commit([Write("repos", [row("repos", repo_id="r", head_commit="h2")]), Write("files", bad)])
    assert lake.query("SELECT head_commit FROM repos").to_pylist() == [{"head_commit": "h1"}]
    assert lake.count("files") == 0


def test_schema_mismatch_names_table_and_column(lake):
    with pytest.raises(LakeError, match=r"table repos: unknown column 'stars'"):
        lake.write("repos", [row("repos", repo_id="r") | {"stars": 3}])
    r = row("repos", repo_id="r")
    del r["license"]
    with pytest.raises(LakeError, match=r"table repos: column 'license' missing"):
        lake.write("repos", [r])


def test_unknown_table_error_lists_tables(lake):
    with pytest.raises(LakeError, match=r"unknown table 'nope'; tables: .*files"):
        lake.query("SELECT * FROM nope")
    with pytest.raises(KeyError, match="unknown table 'nope'"):
        lake.write("nope", [{"a": 1}])


def test_table_is_partitioned_parquet(lake, tmp_path):
    lake.write("files", files_sql("a/x", 3000))
    lake.write("files", files_sql("b/y", 3000))
    parquet = sorted(p.relative_to(tmp_path / "lake" / "files") for p in (tmp_path / "lake" / "files").rglob("*.parquet"))
    assert {p.parts[-2] for p in parquet} >= {"repo_id=a%2Fx", "repo_id=b%2Fy"} or \
        {p.parts[-2] for p in parquet} >= {"repo_id=a/x", "repo_id=b/y"}, parquet


def _samples(n: int, texts: int = 64) -> pa.Table:
    import hashlib
    from lake.arrow import to_arrow
    return to_arrow("samples", [{"sample_id": hashlib.sha256(str(i).encode()).hexdigest(), "split": "train",
                                 "category": ("CODE", "NAT")[i % 2], "text": "x" * texts, "bytes": texts}
                                for i in range(n)])


def _samples_row_groups(lake) -> list[tuple[int, list[tuple[str, str]]]]:
    """(rows, (category, sample_id) in file order) of each row group of the current samples Parquet files."""
    out = []
    for (f,) in lake.con.execute("SELECT data_file FROM ducklake_list_files('lake', 'samples')").fetchall():
        pf = pq.ParquetFile(f)
        for i in range(pf.num_row_groups):
            t = pf.read_row_group(i, columns=["category", "sample_id"])
            out.append((t.num_rows, list(zip(t.column(0).to_pylist(), t.column(1).to_pylist()))))
    return out


def test_samples_are_written_sorted_in_small_row_groups(lake):
    from lake.catalog import table
    lake.write("samples", _samples(5000), mode="overwrite")
    groups = _samples_row_groups(lake)
    limit = table("samples").row_group_rows
    assert sum(n for n, _ in groups) == 5000 and len(groups) >= 3
    assert all(n <= limit for n, _ in groups), [n for n, _ in groups]
    keys = [k for _, ks in groups for k in ks]
    assert keys == sorted(keys)  # one file, so the row groups follow each other in (category, sample_id) order


def test_files_of_one_repository_are_written_in_small_row_groups(lake):
    # whole files per row: DuckDB's default row group (122,880 rows) would hold all 5,000 in one
    lake.write("files", files_sql("a/x", 5000))
    sizes = []
    for (f,) in lake.con.execute("SELECT data_file FROM ducklake_list_files('lake', 'files')").fetchall():
        meta = pq.ParquetFile(f).metadata
        sizes += [meta.row_group(i).num_rows for i in range(meta.num_row_groups)]
    assert sum(sizes) == 5000 and max(sizes) <= 2048, sizes


def test_settings_are_put_back_after_the_block_even_on_error(lake):
    def now():
        return lake.con.execute("SELECT current_setting('threads'), current_setting('enable_external_file_cache')").fetchone()
    before = now()
    with pytest.raises(RuntimeError):
        with lake.settings(threads=1, enable_external_file_cache=not before[1]):
            assert now() == (1, not before[1])
            raise RuntimeError("x")
    assert now() == before


def test_a_lake_made_before_a_layout_was_declared_gets_it_on_open(tmp_path):
    from dataclasses import replace
    from lake.catalog import TABLES
    (tmp_path / "lake").mkdir()
    with Lake(tmp_path / "lake", create=False) as old:
        old.ensure_tables({n: replace(t, sort_by=(), row_group_rows=0) for n, t in TABLES.items()})
        old.write("samples", _samples(3000), mode="overwrite")
        assert [n for n, _ in _samples_row_groups(old)] == [3000]  # DuckDB's default row group
    with Lake(tmp_path / "lake") as lk:
        assert "samples layout" in lk.created
        lk.write("samples", _samples(3000), mode="overwrite")
        assert max(n for n, _ in _samples_row_groups(lk)) <= 2048
    with Lake(tmp_path / "lake") as lk:
        assert lk.created == []  # applied once, not at every open


def test_runs_records_command_without_secrets(lake):
    with lake.run("ingest github", {"token": "ghp_" + "a" * 36, "repos": ["x/y"], "url": "ghp_" + "b" * 36}) as run:
        lake.write("files", files_sql("x/y", 2))
        run.rows += 2
    rec = lake.query("SELECT * FROM runs").to_pylist()[0]
    assert rec["status"] == "ok" and rec["rows_written"] == 2 and rec["snapshot_id"] >= 1
    assert "ghp_" not in rec["args"] and "x/y" in rec["args"]
    with pytest.raises(RuntimeError):
        with lake.run("transforms run", {}):
            raise RuntimeError("boom")
    assert lake.query("SELECT status, error FROM runs WHERE command = 'transforms run'").to_pylist() == [
        {"status": "failed", "error": "RuntimeError: boom"}]


WRITER = """
import os, sys, time
from lake import Lake
from tests.helpers.lakefill import files_sql
lk = Lake(sys.argv[1])
while not os.path.exists(sys.argv[3]):  # the reader has seen the first generation: each commit is now observable
    time.sleep(0.01)
for i in range(int(sys.argv[2])):
    lk.write("files", files_sql("a/x", 500, marker=f"gen{i:04d}"))
"""

READER = """
import sys, json, time
from lake import Lake
lk = Lake(sys.argv[1], create=False)
lk.con.execute("SET enable_progress_bar = false")  # a slow query would print a bar into the JSON on stdout
seen = []
deadline = time.monotonic() + 120
while len(seen) < int(sys.argv[2]) or (len({s[2] for s in seen}) < 3 and time.monotonic() < deadline):
    r = lk.con.execute("SELECT count(*), count(DISTINCT commit), min(commit) FROM files").fetchone()
    seen.append(list(r))
    if len(seen) == 1:
        open(sys.argv[3], "w").close()
print(json.dumps(seen))
"""


@pytest.mark.slow
def test_reader_never_sees_a_partial_commit(tmp_path):
    path = str(tmp_path / "lake")
    Lake(path).write("files", files_sql("a/x", 500, marker="gen-init"))
    ready = str(tmp_path / "reader-ready")
    reader = _py(READER, path, "60", ready, stdout=subprocess.PIPE)
    writer = _py(WRITER, path, "15", ready)
    out, _ = reader.communicate(timeout=300)
    assert writer.wait(timeout=300) == 0 and reader.returncode == 0
    import json
    seen = json.loads(out.splitlines()[-1])
    # every observation is exactly one whole commit: 500 rows, all from one generation
    assert all(n == 500 and distinct == 1 for n, distinct, _ in seen), seen
    # and it saw the writer's commits land: the first generation, then the writer's
    generations = [gen for *_, gen in seen]
    assert generations[0] == "gen-init" and len(set(generations)) >= 2, generations


@pytest.mark.slow
def test_sigkill_during_a_write_leaves_the_previous_state(tmp_path):
    path = str(tmp_path / "lake")
    with Lake(path) as lk:
        lk.write("files", files_sql("a/x", 100, marker="before"))
    before = set((Path(path) / "files").rglob("*.parquet"))
    big = _py("""
import sys
from lake import Lake
from tests.helpers.lakefill import files_sql
Lake(sys.argv[1]).write("files", files_sql("a/x", 3_000_000, marker="during"))
print("committed", flush=True)
""", path, stdout=subprocess.PIPE)
    files = Path(path) / "files"
    deadline = time.time() + 60
    # kill it once it has a data file of its own on disk (but before it could have committed)
    while time.time() < deadline and big.poll() is None and not any(
            p.stat().st_size > 0 for p in set(files.rglob("*.parquet")) - before):
        time.sleep(0.01)
    big.send_signal(signal.SIGKILL)
    out, _ = big.communicate()
    # it died by the signal, mid-write: data files on disk, no commit reported
    assert big.returncode == -signal.SIGKILL and b"committed" not in out
    assert any(p.stat().st_size > 0 for p in set(files.rglob("*.parquet")) - before)
    with Lake(path) as lk:
        state = lk.query("SELECT count(*) n, min(commit) c FROM files").to_pylist()[0]
        assert state in ({"n": 100, "c": "before"}, {"n": 3_000_000, "c": "during"})
        lk.write("files", files_sql("a/x", 10, marker="after"))
        assert lk.query("SELECT count(*) n, min(commit) c FROM files").to_pylist() == [{"n": 10, "c": "after"}]


CONCURRENT = """
import sys
from lake import Lake
lk = Lake(sys.argv[1])
from tests.helpers.lakefill import files_sql
for i in range(3):
    lk.write("files", files_sql(sys.argv[2], 50, marker=f"m{i}"))
"""


@pytest.mark.slow
def test_concurrent_writers_of_disjoint_keys_lose_nothing(tmp_path):
    path = str(tmp_path / "lake")
    Lake(path).close()
    procs = [_py(CONCURRENT, path, f"repo/{i}") for i in range(4)]
    assert [p.wait(timeout=300) for p in procs] == [0, 0, 0, 0]
    with Lake(path) as lk:
        assert lk.query("SELECT repo_id, count(*) n, count(DISTINCT path) d, min(commit) c FROM files "
                        "GROUP BY 1 ORDER BY 1").to_pylist() == [
            {"repo_id": f"repo/{i}", "n": 50, "d": 50, "c": "m2"} for i in range(4)]


def _cli(*args, lake_path):
    return subprocess.run([sys.executable, "-m", "lake", *args, "--lake", str(lake_path)], cwd=ROOT,
                          capture_output=True, text=True)


def test_cli_sql_formats_and_errors(tmp_path):
    lk = tmp_path / "lake"
    with Lake(lk) as l:
        l.write("files", files_sql("a/x", 3))
    r = _cli("sql", "SELECT repo_id, count(*) AS n FROM files GROUP BY 1", lake_path=lk)
    assert r.returncode == 0 and "a/x" in r.stdout and "(1 row)" in r.stdout
    r = _cli("sql", "SELECT path FROM files ORDER BY path", "--format", "csv", lake_path=lk)
    assert r.stdout.splitlines() == ["path", "f0.go", "f1.go", "f2.go"]
    out = tmp_path / "x.parquet"
    r = _cli("sql", "SELECT * FROM files", "--format", "parquet", "--out", str(out), lake_path=lk)

    assert r.returncode == 0 and pq.read_table(out).num_rows == 3
    for bad, expect in ((["sql", "SELECT * FROM nope"], "unknown table 'nope'; tables:"),
                        (["sql", "SELEC 1"], "syntax error"), (["describe", "nope"], "unknown table 'nope'")):
        r = _cli(*bad, lake_path=lk)
        assert r.returncode == 2, r
        assert r.stderr.count("\n") == 1 and expect in r.stderr and "Traceback" not in r.stderr


def test_cli_tables_and_snapshots(tmp_path):
    lk = tmp_path / "lake"
    with Lake(lk) as l:
        l.write("files", files_sql("a/x", 3))
        l.write("files", files_sql("b/y", 3))
    r = _cli("tables", "--format", "json", lake_path=lk)
    import json
    stats = {t["name"]: t for t in json.loads(r.stdout)}
    assert stats["files"]["rows"] == 6 and stats["files"]["layer"] == "raw"
    assert stats["files"]["last_snapshot"] is not None
    r = _cli("snapshots", "--format", "csv", lake_path=lk)
    assert r.returncode == 0 and len(r.stdout.splitlines()) >= 4


def test_missing_lake_is_a_one_line_error(tmp_path):
    r = _cli("tables", lake_path=tmp_path / "none")
    assert r.returncode == 2 and "no lake at" in r.stderr and "Traceback" not in r.stderr


def test_a_column_declared_later_is_added_on_open_and_rows_keep_their_values(tmp_path):
    from dataclasses import replace
    from lake.catalog import TABLES
    (tmp_path / "lake").mkdir()
    repos = TABLES["repos"]
    with Lake(tmp_path / "lake", create=False) as old:
        old.ensure_tables({**TABLES, "repos": replace(repos, columns=repos.columns[:-1])})
        old.con.execute("INSERT INTO repos (repo_id) VALUES ('a/x')")  # the declared write would want every column
    with Lake(tmp_path / "lake") as lk:
        assert lk.created == [f"repos.{repos.columns[-1].name}"]
        assert lk.query("SELECT repo_id FROM repos").column(0).to_pylist() == ["a/x"]
