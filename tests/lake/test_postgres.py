"""The shared lake: DuckLake's PostgreSQL catalog with a shared data path, many processes at once."""
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from lake import Lake, LakeError
from tests.helpers.pg import fresh_database

ROOT = Path(__file__).resolve().parents[2]

WRITER = """
import sys
from lake import Lake
from tests.helpers.lakefill import files_sql
lk = Lake(sys.argv[1], data_path=sys.argv[2])
for i in range(5):
    lk.write("files", files_sql(sys.argv[3], 40, marker=f"m{i}"))
"""


@pytest.fixture
def pg_lake(tmp_path):
    return fresh_database(), str(tmp_path / "shared-data")


def _lake_cli(*args):
    return subprocess.run([sys.executable, "-m", "lake", *args], cwd=ROOT, capture_output=True, text=True)


def test_init_creates_a_postgres_catalog_once_and_is_idempotent(pg_lake):
    spec, data = pg_lake
    first = _lake_cli("init", "--lake", spec, "--data-path", data)
    again = _lake_cli("init", "--lake", spec, "--data-path", data)
    assert first.returncode == 0 and "created" in first.stdout, first.stderr
    assert again.returncode == 0 and "nothing to create" in again.stdout
    assert "password" not in first.stdout + again.stdout


@pytest.mark.slow
def test_four_writers_replacing_disjoint_keys_lose_and_duplicate_nothing(pg_lake):
    spec, data = pg_lake
    assert _lake_cli("init", "--lake", spec, "--data-path", data).returncode == 0
    procs = [subprocess.Popen([sys.executable, "-c", textwrap.dedent(WRITER), spec, data, f"repo/{i}"], cwd=ROOT)
             for i in range(4)]
    assert [p.wait(timeout=400) for p in procs] == [0] * 4
    with Lake(spec, data_path=data) as lk:
        assert lk.query("SELECT repo_id, count(*) n, count(DISTINCT path) d, min(commit) c, max(commit) m "
                        "FROM files GROUP BY 1 ORDER BY 1").to_pylist() == [
            {"repo_id": f"repo/{i}", "n": 40, "d": 40, "c": "m4", "m": "m4"} for i in range(4)]


@pytest.mark.slow
def test_writer_killed_mid_commit_leaves_nothing_visible(pg_lake):
    spec, data = pg_lake
    with Lake(spec, data_path=data) as lk:
        lk.write("files", __import__("tests.helpers.lakefill").helpers.lakefill.files_sql("a/x", 10, marker="before"))
    code = textwrap.dedent("""
        import sys
        from lake import Lake
        from tests.helpers.lakefill import files_sql
        Lake(sys.argv[1], data_path=sys.argv[2]).write("files", files_sql("a/x", 6_000_000, marker="during"))
        print("committed", flush=True)
    """)
    before = set(Path(data).rglob("*.parquet"))
    p = subprocess.Popen([sys.executable, "-c", code, spec, data], cwd=ROOT, stdout=subprocess.PIPE)
    deadline = time.time() + 60
    # kill it once it has a data file of its own on disk (row groups are flushed as they fill), before its commit
    while time.time() < deadline and p.poll() is None and not any(
            f.stat().st_size > 0 for f in set(Path(data).rglob("*.parquet")) - before):
        time.sleep(0.01)
    p.send_signal(signal.SIGKILL)
    out, _ = p.communicate()
    assert p.returncode == -signal.SIGKILL and b"committed" not in out  # killed mid-write, not after its commit
    with Lake(spec, data_path=data) as lk:
        state = lk.query("SELECT count(*) n, min(commit) c FROM files").to_pylist()[0]
        assert state in ({"n": 10, "c": "before"}, {"n": 2_000_000, "c": "during"})


def test_bad_postgres_catalog_is_one_line_without_the_password(tmp_path):
    spec = "postgres:host=127.0.0.1 port=1 user=nobody password=s3cr3t-pass dbname=none"
    with pytest.raises(LakeError) as e:
        Lake(spec, data_path=str(tmp_path))
    assert "s3cr3t-pass" not in str(e.value) and "\n" not in str(e.value)
    r = _lake_cli("tables", "--lake", spec, "--data-path", str(tmp_path))
    assert r.returncode == 2 and "s3cr3t-pass" not in r.stderr + r.stdout
