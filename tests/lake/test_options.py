"""The options every command takes (lake/options.py) do what they say, through the real `python -m` CLIs."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from lake import Lake
from tests.helpers.gitrepos import build_repo

ROOT = Path(__file__).resolve().parents[2]


def _py(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    env.pop("REPO_LLM_DATA_PATH", None)
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


def test_data_path_puts_a_command_s_parquet_files_there(tmp_path):
    """`ingest git` and `lake compact` with --data-path D write Parquet under D, none under the lake folder."""
    repo = build_repo(tmp_path / "widget", {"a.go": "package a\n", "b.go": "package a\n\nfunc B() {}\n"})
    lake, data = tmp_path / "lake", tmp_path / "parquet"
    made = _py("-m", "lake", "init", "--lake", str(lake), "--data-path", str(data))
    assert made.returncode == 0, made.stderr
    ran = _py("-m", "ingest", "git", repo.workdir, "--lake", str(lake), "--data-path", str(data), "--quiet")
    assert ran.returncode == 0, ran.stderr
    # small writes are inlined in the catalog: compaction flushes them to Parquet, under D too
    flushed = _py("-m", "lake", "compact", "--lake", str(lake), "--data-path", str(data))
    assert flushed.returncode == 0, flushed.stderr
    tables = {p.relative_to(data).parts[1] for p in data.rglob("*.parquet")}
    assert {"files", "repos", "commits"} <= tables and not (lake / "files").exists()
    count = _py("-m", "lake", "sql", "SELECT count(*) AS n FROM files", "--format", "csv", "--lake", str(lake),
                "--data-path", str(data))
    assert count.returncode == 0 and count.stdout.split() == ["n", "2"], count.stderr
    with Lake(lake, data_path=str(data)) as lk:
        assert sorted(lk.query("SELECT path FROM files").column(0).to_pylist()) == ["a.go", "b.go"]


QUIET_PROBE = """
import argparse, logging, subprocess, sys
from tqdm import tqdm
from lake.options import add_lake_options
add_lake_options(argparse.ArgumentParser()).parse_args(sys.argv[1:])
logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
logging.getLogger("ingest.github").info("an info record")
logging.getLogger("ingest.github").warning("a warning record")
for _ in tqdm(range(3), desc="parent bar", disable=False, file=sys.stderr):
    pass
# a worker process started from here: tqdm is imported afresh there
subprocess.run([sys.executable, "-c", "from tqdm import tqdm\\nfor _ in tqdm(range(3), desc='worker bar'): pass"])
"""


def test_quiet_silences_bars_here_and_in_workers_and_info_records_but_not_warnings():
    loud, quiet = _py("-c", QUIET_PROBE), _py("-c", QUIET_PROBE, "--quiet")
    assert loud.returncode == quiet.returncode == 0, loud.stderr + quiet.stderr
    for text in ("an info record", "a warning record", "parent bar", "worker bar"):
        assert text in loud.stderr, loud.stderr
    assert "a warning record" in quiet.stderr
    for text in ("an info record", "parent bar", "worker bar"):
        assert text not in quiet.stderr, quiet.stderr
