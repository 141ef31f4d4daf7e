"""`fetch --worker I/N`: workers split the repositories and share each token's budget through the lake."""
import itertools
import json
import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest

from tests.helpers import github_fixtures as F
from tests.helpers.github_server import FakeClock, assert_no_duplicates, client_for, counts, github  # noqa: F401 (fixture)
from ingest.github.budget import LakeBudget
from ingest.github.config import GitHubConfig
from ingest.github.fetch import RepoCollector
from ingest.github.ratelimit import fingerprint, preferred_token
from ingest.github.records import repo_row
from lake.workers import Worker
from lake import Lake
from lake.catalog import table as declared
from lake.tables.github import TABLES as GITHUB_TABLES

ROOT = Path(__file__).resolve().parents[3]
RESERVE = GitHubConfig().reserve_graphql
# Columns that say when a run happened, not what it collected; and the budget, which depends on who spent it.
VOLATILE = {"updated_at", "since", "started_at", "fetched_at", "window_limit", "remaining", "reset_at"}


def cli(args, token="test-token"):
    env = {**os.environ, "GITHUB_TOKENS": token, "PYTHONPATH": str(ROOT)}
    env.pop("GITHUB_TOKEN", None)
    return subprocess.Popen([sys.executable, "-m", "ingest", "github", *args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(proc, timeout=300):
    out, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, err
    return out


def repos_for(shares: dict[int, int], n: int, prefix: str, **build) -> dict[int, list[F.Repo]]:
    """Repositories named so that worker i of n owns shares[i] of them (by the workers' own hash)."""
    out = {i: [] for i in shares}
    for k in itertools.count():
        name = f"{prefix}-{k}"
        i = next(i for i in range(1, n + 1) if Worker(i, n).owns(f"acme/{name}"))
        if i in out and len(out[i]) < shares[i]:
            out[i].append(F.build_repo("acme", name, repo_id=500 + k, seed=k, **build))
        if all(len(out[i]) == shares[i] for i in shares):
            return out


def lake_rows(lake_dir) -> dict[str, dict]:
    """Every github_* table and readmes, keyed by the table's key, without the volatile columns."""
    out = {}
    with Lake(lake_dir) as lake:
        for name in [t.name for t in GITHUB_TABLES] + ["readmes"]:
            rows = lake.query(f"SELECT * FROM {name}").to_pylist()
            key = declared(name).key
            out[name] = {tuple(r[k] for k in key): {c: v for c, v in r.items() if c not in VOLATILE} for r in rows}
            assert len(out[name]) == len(rows), f"{name} has duplicate keys"
    return out


def graphql_of(gh, names) -> int:
    return sum(1 for h in list(gh.hits) if h.variables and h.variables.get("name") in names)


@pytest.mark.slow
def test_four_workers_one_killed_and_restarted_collect_what_one_process_does(github, tmp_path):
    victim = 2
    owned = repos_for({1: 1, 2: 2, 3: 1, 4: 1}, 4, "svc", n_pulls=6, n_issues=4)
    repos = [r for i in sorted(owned) for r in owned[i]]
    gh = github(repos)
    names = [r.full_name for r in repos]
    common = ["--api-url", gh.url, "--page-size", "3"]
    finish(cli(["fetch", *names, *common, "--lake", str(tmp_path / "solo")]))

    gh.inject("slow", "/graphql", delay=0.05, times=100_000)  # widen the windows a kill can land in
    # As the README says: create the lake once, then start the workers (first opens race on creating it).
    subprocess.run([sys.executable, "-m", "lake", "init", "--lake", str(tmp_path / "shared")], cwd=ROOT,
                   check=True, capture_output=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    shared = ["fetch", *names, *common, "--lake", str(tmp_path / "shared")]
    workers = {i: cli([*shared, "--worker", f"{i}/4"]) for i in range(1, 5)}
    victim_names = {r.name for r in owned[victim]}
    start = graphql_of(gh, victim_names)
    while graphql_of(gh, victim_names) - start < 3 and workers[victim].poll() is None:
        time.sleep(0.01)
    assert workers[victim].poll() is None, "the worker finished before it could be killed"
    os.kill(workers[victim].pid, signal.SIGKILL)
    workers[victim].communicate()
    assert workers[victim].returncode == -signal.SIGKILL
    with Lake(tmp_path / "shared") as lake:
        partial = {r.full_name: counts(lake, r.full_name) for r in owned[victim]}
    assert any(c != F.expected_counts(r) for r, c in zip(owned[victim], partial.values())), \
        "the kill left nothing to redo"
    workers[victim] = cli([*shared, "--worker", f"{victim}/4"])  # restarted, with the same I/N
    outputs = {i: finish(p) for i, p in workers.items()}
    assert all(f"{len(owned[i])}/{len(owned[i])} repositories" in outputs[i] for i in outputs), outputs

    solo, multi = lake_rows(tmp_path / "solo"), lake_rows(tmp_path / "shared")
    for table in solo:
        assert multi[table].keys() == solo[table].keys(), table
        assert multi[table] == solo[table], table
    assert len(solo["github_pulls"]) == sum(len(r.pulls) for r in repos)
    with Lake(tmp_path / "shared") as lake:
        assert_no_duplicates(lake)
        for r in repos:
            assert counts(lake, r.full_name) == F.expected_counts(r)
        args = [json.loads(a)["worker"] for a in lake.query(
            "SELECT args FROM runs WHERE command = 'ingest github fetch' AND status = 'ok'").column(0).to_pylist()]
    assert sorted(args) == ["1/4", "2/4", "3/4", "4/4"]


def test_worker_spec_is_checked_with_one_line(tmp_path):
    proc = cli(["fetch", "acme/widget", "--worker", "5/4", "--lake", str(tmp_path / "lake")])
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 2 and err.strip() == "ingest: --worker '5/4': need 1 <= I <= N"


def test_second_worker_on_a_spent_token_pauses_instead_of_overspending(github, tmp_path):
    # In one process with a fake clock: two workers' clients, each with its own lake connection.
    clock = FakeClock()
    first, second = (F.build_repo("acme", n, repo_id=i, n_pulls=6, n_issues=3) for i, n in ((1, "one"), (2, "two")))
    gh = github([first, second], clock=clock.time, limits={"graphql": RESERVE + 3})  # 3 points above reserve
    with Lake(tmp_path / "lake") as lake_a, Lake(tmp_path / "lake") as lake_b:
        a = client_for(gh, lake_a, clock=clock, shared=LakeBudget(lake_a), pr_page=3, issue_page=3)
        RepoCollector(lake_a, a).fetch("acme/one")  # 3 one-point pages: the token is at its reserve
        reset = gh.bucket("test-token", "graphql")["reset"]
        b = client_for(gh, lake_b, clock=clock, shared=LakeBudget(lake_b), pr_page=3, issue_page=3)
        RepoCollector(lake_b, b).fetch("acme/two")
        assert counts(lake_b, "acme/two") == F.expected_counts(second)
    charged = [h for h in gh.hits if h.resource == "graphql" and h.charged]
    assert sum(h.charged for h in charged if h.at < reset) == 3, "the shared budget was overspent"
    assert a.limiter.waits == [] and [why for why, _ in b.limiter.waits] == [
        f"graphql budget low on {a.limiter.fingerprints[0]}, until reset"]
    assert all(h.at >= reset for h in charged if h.variables["name"] == "two")
    assert not [h for h in gh.hits if h.status == 403]


def test_worker_switches_from_its_token_when_the_shared_state_says_another_worker_spent_it(github, tmp_path):
    clock = FakeClock()
    tokens = ["tok-one", "tok-two"]
    repos = [F.build_repo("acme", f"r{i}", repo_id=i, n_pulls=6, n_issues=3) for i in (1, 3)]
    gh = github(repos, clock=clock.time, tokens=tokens, limits={"graphql": RESERVE + 3})

    def worker(lake, i):  # worker i of 3: 1 and 3 both prefer tok-one
        return client_for(gh, lake, clock=clock, tokens=tokens, prefer=preferred_token(i, len(tokens)),
                          shared=LakeBudget(lake), pr_page=3, issue_page=3)

    with Lake(tmp_path / "lake") as lake_1, Lake(tmp_path / "lake") as lake_3:
        w1 = worker(lake_1, 1)
        RepoCollector(lake_1, w1).fetch("acme/r1")  # 3 one-point pages on tok-one: at its reserve
        w3 = worker(lake_3, 3)
        RepoCollector(lake_3, w3).fetch("acme/r3")
        assert counts(lake_3, "acme/r3") == F.expected_counts(repos[1])
    tokens_of = {name: [h.token for h in gh.hits if h.variables and h.variables["name"] == name]
                 for name in ("r1", "r3")}
    assert tokens_of["r1"] == ["tok-one"] * 3 and tokens_of["r3"] == ["tok-two"] * 3
    points = sum(h.charged for h in gh.hits if h.resource == "graphql" and h.token == "tok-one")
    assert points == 3, "tok-one was spent past its reserve"
    assert w1.limiter.waits == w3.limiter.waits == []
    assert not [h for h in gh.hits if h.status == 403]


@pytest.mark.slow
def test_worker_processes_sharing_a_token_spend_one_budget(github, tmp_path):
    # Workers 1/3 and 3/3 both prefer tok-one (a pool of 2 tokens over 3 workers); worker 1 runs first.
    owned = repos_for({1: 1, 3: 1}, 3, "pool", n_pulls=6, n_issues=4)
    gh = github([owned[1][0], owned[3][0]], tokens=["tok-one", "tok-two"], limits={"graphql": RESERVE + 4})
    with Lake(tmp_path / "lake") as lake:  # what `top` would have written; the workers take --from-top
        lake.write("github_repos", [repo_row(F.rest_search_item(r[0]), datetime.now(timezone.utc))
                                    for r in owned.values()], mode="upsert")
    common = ["fetch", "--from-top", "--api-url", gh.url, "--page-size", "3", "--lake", str(tmp_path / "lake")]
    out = finish(cli([*common, "--worker", "1/3"], token="tok-one,tok-two"))  # 4 one-point pages: tok-one at its reserve
    assert "1/1 repositories" in out, out
    out = finish(cli([*common, "--worker", "3/3"], token="tok-one,tok-two"))
    assert "1/1 repositories" in out, out
    points = {t: sum(h.charged for h in gh.hits if h.resource == "graphql" and h.token == t)
              for t in ("tok-one", "tok-two")}
    assert points == {"tok-one": 4, "tok-two": 4}, "worker 3 spent tok-one's reserve instead of switching"
    third = owned[3][0].name
    assert {h.token for h in gh.hits if h.variables and h.variables["name"] == third} == {"tok-two"}
    assert not [h for h in gh.hits if h.status == 403]
    with Lake(tmp_path / "lake") as lake:
        assert counts(lake, owned[3][0].full_name) == F.expected_counts(owned[3][0])
        left = {r["resource"]: r["remaining"] for r in lake.query(
            "SELECT * FROM github_rate_limits WHERE token_fingerprint = ?", [fingerprint("tok-one")]).to_pylist()}
    assert left["graphql"] == RESERVE


def test_a_secondary_limit_pauses_every_worker_on_that_token(github, tmp_path):
    clock = FakeClock()
    first, second = (F.build_repo("acme", n, repo_id=i, n_pulls=6, n_issues=3) for i, n in ((1, "one"), (2, "two")))
    gh = github([first, second], clock=clock.time)
    gh.inject("secondary", "/graphql", status=403, retry_after=30)
    with Lake(tmp_path / "lake") as lake_a, Lake(tmp_path / "lake") as lake_b:
        a = client_for(gh, lake_a, clock=clock, shared=LakeBudget(lake_a))
        b = client_for(gh, lake_b, clock=clock, shared=LakeBudget(lake_b))

        def a_sleeps(seconds):  # while worker A waits out its secondary limit, worker B starts on the token
            if not b.limiter.waits:
                RepoCollector(lake_b, b).fetch("acme/two")
            clock.sleep(seconds)

        a.limiter.sleep = a_sleeps
        RepoCollector(lake_a, a).fetch("acme/one")
        assert counts(lake_a, "acme/one") == F.expected_counts(first)
        assert counts(lake_b, "acme/two") == F.expected_counts(second)
    assert [w for _, w in a.limiter.waits] == [30]
    assert [why.split(" on ")[0] for why, _ in b.limiter.waits] == ["secondary limit"]
    assert b.limiter.waits[0][1] == pytest.approx(30, abs=0.01)  # the rest of A's pause (microsecond rows)
    assert gh.violations == [], "worker B sent a request while the token's secondary limit held"
