"""K ingest workers over one lake (split by lake/workers.py) end as one clean single-process run."""
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lake.workers import Worker, WorkerSpecError
from lake import Lake
from tests.helpers.gitrepos import build_repo, commit

ROOT = Path(__file__).resolve().parents[3]
# columns that say when or by which run, not what
VOLATILE = {"fetched_at", "run_id", "at"}
TABLES = ("repos", "license_scopes", "files", "trees", "commits", "git_pulls", "readmes", "ingest_errors")


def test_worker_split_is_a_partition_and_stable():
    names = [f"owner/repo{i}" for i in range(200)]
    shares = [list(Worker.parse(f"{i}/4").take(names)) for i in range(1, 5)]
    assert sorted(sum(shares, [])) == sorted(names)
    assert all(25 <= len(s) <= 75 for s in shares), [len(s) for s in shares]
    assert shares == [list(Worker.parse(f"{i}/4").take(names)) for i in range(1, 5)]
    for bad in ("0/4", "5/4", "x", "1/0"):
        with pytest.raises(WorkerSpecError, match="--worker"):
            Worker.parse(bad)


def _repos(tmp_path, n=8) -> list[Path]:
    paths = []
    for r in range(n):
        repo = build_repo(tmp_path / "src" / f"r{r}", {"go.mod": f"module example.com/r{r}\n",
                                                        "LICENSE": "MIT License\n", "a.go": "package a\n"}, bare=True)
        for c in range(30):
            commit(repo, {f"p{c % 5}/f{c}.go": f"package p\n\n// change {c} of repo {r}\nfunc F{c}() int {{ return {c} }}\n"},
                   f"Add F{c} to repo {r}")
        paths.append(Path(repo.path))
    return paths


def _ingest(lake: Path, listing: Path, worker: str | None = None) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "ingest", "git", "--from-list", str(listing), "--lake", str(lake), "--quiet",
           "--license", "MIT"]
    return subprocess.Popen(cmd + (["--worker", worker] if worker else []), cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def _content(lake: Path) -> dict:
    with Lake(lake) as lk:
        out = {}
        for t in TABLES:
            cols = [c for c in lk.query(f"SELECT * FROM {t} LIMIT 0").column_names if c not in VOLATILE]
            out[t] = lk.query(f"SELECT {', '.join(cols)} FROM {t} ORDER BY ALL").to_pylist()
        return out


@pytest.mark.slow
def test_four_workers_one_killed_and_restarted_equal_one_clean_run(tmp_path):
    repos = _repos(tmp_path)
    listing = tmp_path / "repos.txt"
    listing.write_text("\n".join(map(str, repos)) + "\n")

    single = tmp_path / "single"
    p = _ingest(single, listing)
    assert p.wait(timeout=600) == 0, p.stderr.read()

    shared = tmp_path / "shared"
    Lake(shared).close()  # `lake init` once before the workers
    workers = {i: _ingest(shared, listing, f"{i}/4") for i in range(1, 5)}
    time.sleep(2.0)
    workers[2].send_signal(signal.SIGKILL)
    workers[2].wait()
    workers[2] = _ingest(shared, listing, "2/4")  # restarted by its launcher with the same I/N
    for i, w in workers.items():
        assert w.wait(timeout=600) == 0, (i, w.stderr.read())

    a, b = _content(single), _content(shared)
    assert len(a["repos"]) == len(repos) and len(a["commits"]) == len(repos) * 31
    for t in TABLES:
        assert a[t] == b[t], t
