"""The real CLI in a subprocess: killed with SIGKILL and resumed, and never leaking its token."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers import github_fixtures as F
from tests.helpers.github_server import assert_no_duplicates, counts, github  # noqa: F401 (fixture)
from lake import Lake

ROOT = Path(__file__).resolve().parents[3]


def cli(args, token="test-token", **kw):
    env = {**os.environ, "GITHUB_TOKENS": token, "PYTHONPATH": str(ROOT)}
    env.pop("GITHUB_TOKEN", None)
    return subprocess.Popen([sys.executable, "-m", "ingest", "github", *args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


def graphql_answers(gh) -> int:
    return sum(1 for h in gh.hits if h.resource == "graphql" and h.status == 200)


@pytest.mark.slow
def test_fetch_killed_at_any_moment_resumes_without_duplicates_or_gaps(github, tmp_path):
    repo = F.build_repo("acme", "widget", repo_id=42, n_pulls=45, n_issues=15, big=True)
    gh = github([repo])
    lake_dir = tmp_path / "lake"
    args = ["fetch", "acme/widget", "--api-url", gh.url, "--lake", str(lake_dir), "--page-size", "3"]
    gh.inject("slow", "/graphql", delay=0.1, times=10_000)  # widen the windows a kill can land in
    progress = []
    for answers in (8, 5, 5):  # GraphQL answers each run gets before SIGKILL (the PRs need 19)
        start = graphql_answers(gh)
        proc = cli(args)
        while graphql_answers(gh) - start < answers and proc.poll() is None:
            time.sleep(0.01)
        assert proc.poll() is None, "the run finished before it could be killed"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        assert proc.returncode == -signal.SIGKILL, proc.stderr.read()
        with Lake(lake_dir) as lake:
            progress.append(lake.count("github_pulls") + lake.count("github_issues"))
            cursors = {r["resource"]: r for r in lake.query("SELECT * FROM github_cursors").to_pylist()}
    assert progress == sorted(progress) and progress[-1] > 0, progress
    open_cursors = {r: c["cursor"] for r, c in cursors.items() if not c["complete"] and c["cursor"]}
    assert open_cursors, "no kill landed between two pages"
    resumed_at = len(gh.variables)
    gh.faults.clear()
    proc = cli(args)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    for resource, cursor in open_cursors.items():
        name = "query Pulls" if resource == "pulls" else "query Issues"
        first = next(v for q, v in zip(gh.queries[resumed_at:], gh.variables[resumed_at:]) if q.startswith(name))
        assert first["after"] == cursor, f"the resumed run did not start {resource} at its cursor"
    with Lake(lake_dir) as lake:
        assert counts(lake, "acme/widget") == F.expected_counts(repo)
        assert_no_duplicates(lake)
        numbers = lake.query("SELECT number FROM github_pulls ORDER BY number").column(0).to_pylist()
        assert numbers == [p.number for p in repo.pulls]


@pytest.mark.slow
def test_token_never_reaches_logs_errors_or_the_lake(github, tmp_path):
    secret, second = "ghp_" + "Zq7" * 12, "github_pat_" + "Kx9" * 10
    repo = F.build_repo("acme", "widget", repo_id=42, n_pulls=5)
    gh = github([repo], tokens=[secret, second], search_population=[repo] + F.search_population(150))
    gh.inject("secondary", "/graphql", status=403, retry_after=0)
    gh.inject("status", "/graphql", status=502)
    lake_dir = tmp_path / "lake"
    Lake(lake_dir).close()  # created once first: the three runs below start on it at the same moment
    common = ["--api-url", gh.url, "--lake", str(lake_dir)]
    runs = [cli(["top", "--language", "Go", "--n", "100", *common], token=f"{secret},{second}"),
            cli(["fetch", "acme/widget", "acme/missing", *common], token=f"{second},{secret}"),  # prefers second
            cli(["fetch", "acme/widget", *common], token=secret + "-revoked")]
    outputs = []
    for proc in runs:
        out, err = proc.communicate(timeout=300)
        outputs.append((proc.returncode, out + err))
    assert [rc for rc, _ in outputs] == [0, 1, 2], outputs
    assert "Bad credentials" in outputs[2][1] and len(outputs[2][1].strip().splitlines()[-1]) < 200
    for needle in (secret, second, secret[4:20]):
        for _, text in outputs:
            assert needle not in text
        for path in lake_dir.rglob("*"):
            if path.is_file():
                assert needle.encode() not in path.read_bytes(), path
    with Lake(lake_dir) as lake:
        tables = [r[0] for r in lake.con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_catalog = 'lake'").fetchall()]
        for t in tables:
            text = str(lake.con.execute(f'SELECT CAST(COLUMNS(*) AS VARCHAR) FROM "{t}"').fetchall())
            assert secret not in text and second not in text and secret[4:20] not in text, t
        fingerprints = lake.query("SELECT DISTINCT token_fingerprint FROM github_rate_limits").column(0).to_pylist()
        assert len(fingerprints) == 2 and all(f.startswith("sha256:") for f in fingerprints)
        errors = lake.query("SELECT error FROM ingest_errors WHERE stage = 'github'").column(0).to_pylist()
        assert errors and "acme/missing" in errors[0]
        assert lake.count("github_repos") == 100 and lake.count("github_pulls") == 5


def test_cli_rejects_bad_input_with_one_line(tmp_path):
    proc = cli(["fetch", "not-a-repo", "--lake", str(tmp_path / "lake")])
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 2 and err.strip() == "ingest: repository 'not-a-repo' is not owner/name"
    proc = cli(["fetch", "--lake", str(tmp_path / "lake")])
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 2 and "--from-top" in err and "Traceback" not in err
