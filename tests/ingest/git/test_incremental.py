"""Re-runs: unchanged is a no-op, changed is replaced in one commit, history adds only new commits,
a run killed at any moment then re-run leaves the lake as one clean run."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pygit2
import pytest

from lake import Lake
from ingest.git import ingest_repo
from tests.helpers.gitrepos import add_pull, build_repo, commit

ROOT = Path(__file__).resolve().parents[3]
TABLES = ("repos", "license_scopes", "files", "trees", "commits", "git_pulls", "readmes", "ingest_errors")
VOLATILE = {"repos": "fetched_at", "ingest_errors": "run_id, \"at\""}


def _dump(lake) -> dict:
    out = {}
    for t in TABLES:
        excl = f" EXCLUDE ({VOLATILE[t]})" if t in VOLATILE else ""
        rows = lake.query(f"SELECT *{excl} FROM {t}").to_pylist()
        out[t] = sorted(map(repr, rows))
    return out


def test_ingest_git_unchanged_repo_is_a_no_op(lake, tmp_path):
    repo = build_repo(tmp_path / "r", {"a.go": "package a\n"})
    add_pull(repo, 1, {"b.go": "package a\n"}, "b")
    ingest_repo(lake, repo.path, progress=False)
    snap = lake.snapshot()
    again = ingest_repo(lake, repo.path, progress=False)
    assert again.status == "unchanged" and lake.snapshot() == snap


def test_ingest_git_new_pull_ref_alone_changes_the_fingerprint(lake, tmp_path):
    repo = build_repo(tmp_path / "r", {"a.go": "package a\n"})
    ingest_repo(lake, repo.path, progress=False)
    add_pull(repo, 5, {"b.go": "package a\n"}, "b")
    assert ingest_repo(lake, repo.path, progress=False).status == "ingested"
    assert lake.query("SELECT number FROM git_pulls").column(0).to_pylist() == [5]


def test_ingest_git_changed_repo_is_replaced_in_one_commit(lake, tmp_path):
    repo = build_repo(tmp_path / "r", {"a.go": "package a\n", "gone.go": "package a\n"})
    ingest_repo(lake, repo.path, progress=False)
    snap = lake.snapshot()
    commit(repo, {"gone.go": None, "new.go": "package a\n"}, "swap")
    ingest_repo(lake, repo.path, progress=False)
    assert lake.snapshot() == snap + 1  # every table of the repository changed in one lake commit
    paths = lake.query("SELECT path FROM files ORDER BY path").column(0).to_pylist()
    assert paths == ["a.go", "new.go"]
    assert lake.query("SELECT count(DISTINCT commit) FROM files").to_pylist()[0]["count(DISTINCT \"commit\")"] == 1


def test_ingest_git_history_ingests_only_new_commits(lake, tmp_path):
    repo = build_repo(tmp_path / "r", {"a.go": "package a\n"})
    commit(repo, {"b.go": "package a\n"}, "two")
    first = ingest_repo(lake, repo.path, progress=False)
    commit(repo, {"c.go": "package a\n"}, "three")
    second = ingest_repo(lake, repo.path, progress=False)
    assert (first.counts["commits_new"], second.counts["commits_new"], second.counts["commits_total"]) == (2, 1, 3)
    assert lake.count("commits") == 3


def test_ingest_git_incremental_equals_one_clean_run(tmp_path):
    repo = build_repo(tmp_path / "r", {"a.go": "package a\n"})
    with Lake(tmp_path / "step") as step:
        ingest_repo(step, repo.path, progress=False)
        commit(repo, {"b.go": "package a\n"}, "two")
        add_pull(repo, 9, {"p.go": "package a\n"}, "pr", merged=True, title="PR nine")
        ingest_repo(step, repo.path, progress=False)
        with Lake(tmp_path / "clean") as clean:
            ingest_repo(clean, repo.path, progress=False)
            assert _dump(step) == _dump(clean)


def test_ingest_git_rewritten_history_is_replaced(lake, tmp_path):
    repo = build_repo(tmp_path / "r", {"a.go": "package a\n"})
    commit(repo, {"b.go": "package a\n"}, "to be rewritten")
    ingest_repo(lake, repo.path, progress=False)
    root = repo[repo.head.target].parents[0].id
    repo.references["refs/heads/main"].set_target(root)  # force-push: drop the last commit
    commit(repo, {"c.go": "package a\n"}, "rewritten")
    ingest_repo(lake, repo.path, progress=False)
    msgs = sorted(m.strip() for m in lake.query("SELECT message FROM commits").column(0).to_pylist())
    assert msgs == ["initial commit", "rewritten"]


def _bigger_repo(path: Path) -> pygit2.Repository:
    repo = build_repo(path, {f"pkg{i}/f.go": f"package p{i}\n" + "// line\n" * 200 for i in range(150)})
    for i in range(60):
        commit(repo, {f"pkg{i % 150}/f.go": f"package p{i}\n// v{i}\n" + "// line\n" * 200}, f"change {i}")
    for n in range(1, 6):
        add_pull(repo, n, {f"pr{n}.go": "package pr\n"}, f"pr {n}", merged=n % 2 == 0, title=f"PR {n}")
    return repo


@pytest.mark.slow
def test_ingest_git_killed_at_any_moment_then_rerun_equals_one_clean_run(tmp_path):
    repo = _bigger_repo(tmp_path / "big")
    cmd = [sys.executable, "-m", "ingest", "git", repo.path, "--quiet"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    clean = tmp_path / "clean"
    subprocess.run(cmd + ["--lake", str(clean)], check=True, env=env, cwd=ROOT, capture_output=True)
    killed = tmp_path / "killed"
    kills = 0
    for delay in (0.5, 1.5, 3.0):
        proc = subprocess.Popen(cmd + ["--lake", str(killed)], env=env, cwd=ROOT,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        kills += proc.wait() == -signal.SIGKILL
    subprocess.run(cmd + ["--lake", str(killed)], check=True, env=env, cwd=ROOT, capture_output=True)
    with Lake(clean) as a, Lake(killed) as b:
        assert _dump(a) == _dump(b)
        assert a.count("commits") == len(list(repo.walk(repo.head.target))) and a.count("git_pulls") == 5
    assert kills >= 1  # at least one run really died mid-way
