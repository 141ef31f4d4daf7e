"""GitHub's ordinary failures, injected by the fake server: the lake ends as after a fault-free run."""
import pytest

from tests.helpers import github_fixtures as F
from tests.helpers.github_server import (PROFILES, FakeClock, FakeGitHub, client_for, github,  # noqa: F401 (fixture)
                                 lake_contents)
from ingest.github.fetch import RepoCollector, fetch_repositories
from lake import Lake

REPOS = ("acme/widget", "acme/gadget", "acme/sprocket")


def build_repos():
    return [F.build_repo("acme", "widget", repo_id=42, n_pulls=14, n_issues=6, big=True),
            F.build_repo("acme", "gadget", repo_id=43, n_pulls=9, n_issues=4, seed=1),
            F.build_repo("acme", "sprocket", repo_id=44, n_pulls=6, n_issues=3, seed=2)]


@pytest.fixture(scope="module")
def repos():
    return build_repos()


@pytest.fixture(scope="module")
def reference(repos, tmp_path_factory):
    """The lake a fault-free run writes (whole pages: what is in the lake does not depend on page sizes)."""
    with FakeGitHub(repos) as gh, Lake(tmp_path_factory.mktemp("reference") / "lake") as lake:
        failed, _ = fetch_repositories(lake, RepoCollector(lake, client_for(gh, lake)), REPOS, "reference")
        assert failed == [] and gh.invalid_queries == []
        return lake_contents(lake)


def only(contents: dict, *repo_ids) -> dict:
    return {t: [r for r in rows if r["repo_id"] in repo_ids] for t, rows in contents.items()}


def run(gh, lake, clock=None, repos=REPOS, **config):
    client = client_for(gh, lake, clock=clock, **config)
    failed, _ = fetch_repositories(lake, RepoCollector(lake, client), repos, "test")
    return failed, client


FAULTS = {
    "502 page": ("status", {"status": 502}),
    "503 page": ("status", {"status": 503}),
    "504 page": ("status", {"status": 504}),
    "secondary 403 retry-after": ("secondary", {"status": 403, "retry_after": 30}),
    "secondary 429 no retry-after": ("secondary", {"status": 429}),
    "dropped connection": ("drop", {}),
    "truncated body": ("truncate", {}),
    "truncated body, no length": ("truncate", {"sized": False}),
    "slow answer past the timeout": ("slow", {"delay": 0.6}),
    "graphql data null": ("graphql_null", {}),
    "graphql timeout on a nested field": ("graphql_timeout", {}),
}


@pytest.mark.parametrize("name", FAULTS)
def test_each_fault_kind_is_retried_and_the_lake_equals_a_fault_free_run(github, lake, repos, reference, name):
    kind, kw = FAULTS[name]
    clock = FakeClock()
    gh = github(repos, clock=clock.time)
    gh.inject(kind, "/graphql", times=2, skip=1, **kw)  # the issues page, twice in a row
    gh.inject(kind, "/graphql", times=1, **kw)          # the PR page
    if not kind.startswith("graphql"):
        gh.inject(kind, "/repos/acme/sprocket/readme", **kw)
        gh.inject(kind, "/repos/acme/sprocket/issues", **kw)  # the change probe
    failed, client = run(gh, lake, clock, repos=["acme/sprocket"], timeout_s=0.3)
    assert failed == []
    assert not [f for f in gh.faults if f.times], "a fault was never served"
    assert lake_contents(lake) == only(reference, "acme/sprocket")
    assert gh.violations == [], "a request came while a secondary limit held"
    if kind == "secondary":
        waits = [w for _, w in client.limiter.waits]
        assert len(waits) == 5 and min(waits) >= kw.get("retry_after", 60)


@pytest.mark.slow
def test_heavy_fault_profile_loses_nothing_and_keeps_the_rate_limit_rules(github, lake, repos, reference):
    clock = FakeClock()
    gh = github(repos, clock=clock.time, profile=PROFILES["heavy"])  # about half the requests fail
    failed, client = run(gh, lake, clock, timeout_s=0.25, pr_page=4, issue_page=4)
    assert failed == []
    assert lake_contents(lake) == reference
    assert gh.violations == [], "a request came while a secondary limit held"
    # Which kinds a seeded run draws depends on how many requests it makes (read timeouts vary): at least most.
    assert len(gh.injected) >= 6 and sum(gh.injected.values()) >= 15, gh.injected


def test_a_timed_out_page_is_asked_again_smaller_then_grows_back(github, lake, repos, reference):
    gh = github(repos, timeout_over_nodes=900)  # a page of 4 PRs with all their nested pages asks for more
    failed, client = run(gh, lake, repos=["acme/gadget"], pr_page=4, issue_page=4)
    assert failed == []
    assert lake_contents(lake) == only(reference, "acme/gadget")
    assert client.stats["smaller_pages"] > 0
    pulls = [v for q, v in zip(gh.queries, gh.variables) if q.startswith("query Pulls")]
    sizes = [v["first"] for v in pulls]
    assert sizes[0] == 4 and min(sizes) < 4, sizes
    shrunk = next(v for v in pulls if v["first"] < 4)
    assert shrunk["commentsPage"] < 50 and shrunk["reviewsPage"] < 5  # nested connections shrink too
    assert sizes.count(4) > 1, "later pages never grew back to the configured size"


def test_a_page_that_times_out_at_the_floor_fails_and_commits_nothing(github, lake, repos):
    gh = github(repos, timeout_over_nodes=0)  # every query times out, with partial data beside the error
    failed, _ = run(gh, lake, repos=["acme/gadget"])
    assert failed == ["acme/gadget"]
    assert lake_contents(lake)["github_pulls"] == []
    error = lake.query("SELECT error FROM ingest_errors WHERE repo_id = 'acme/gadget'").column(0).to_pylist()
    assert len(error) == 1 and "timed out even at page size 1" in error[0] and "\n" not in error[0]


def test_permanent_failures_are_recorded_and_the_others_go_on_then_a_rerun_resumes(github, lake, repos, reference):
    gh = github(repos)
    # acme/gadget: GitHub fails every GraphQL call after its first page; acme/gone does not exist.
    gh.inject("status", "/graphql", status=502, repo="acme/gadget", skip=1, times=10_000)
    names = ["acme/gadget", "acme/gone", "acme/sprocket"]
    failed, _ = run(gh, lake, repos=names, retries=1, pr_page=4)
    assert failed == ["acme/gadget", "acme/gone"]
    errors = {r["repo_id"]: r["error"] for r in
              lake.query("SELECT repo_id, error FROM ingest_errors WHERE stage = 'github'").to_pylist()}
    assert set(errors) == {"acme/gadget", "acme/gone"}
    assert "HTTP 502" in errors["acme/gadget"] and "not found" in errors["acme/gone"]
    got = lake_contents(lake)
    for table, rows in reference.items():
        healthy = [r for r in rows if r["repo_id"] == "acme/sprocket"]
        assert [r for r in got[table] if r["repo_id"] != "acme/gadget"] == healthy, table
    kept = [r["number"] for r in got["github_pulls"] if r["repo_id"] == "acme/gadget"]
    assert kept == [p.number for p in repos[1].pulls[:4]]  # its first page stays; nothing partial after it
    cursor = lake.query("SELECT cursor, complete FROM github_cursors WHERE repo_id = 'acme/gadget' "
                        "AND resource = 'pulls'").to_pylist()[0]
    assert cursor["cursor"] and not cursor["complete"]

    gh.faults.clear()
    resumed_at = len(gh.queries)
    failed, _ = run(gh, lake, repos=names, pr_page=4)
    assert failed == ["acme/gone"]
    assert lake_contents(lake) == only(reference, "acme/gadget", "acme/sprocket")
    first = next(v for q, v in zip(gh.queries[resumed_at:], gh.variables[resumed_at:])
                 if q.startswith("query Pulls") and v["name"] == "gadget")
    assert first["after"] == cursor["cursor"], "the re-run did not resume at the committed cursor"
    left = lake.query("SELECT repo_id FROM ingest_errors WHERE stage = 'github'").column(0).to_pylist()
    assert left == ["acme/gone"]  # the recovered repository's error row is gone


def test_cli_fetch_ends_non_zero_naming_the_failed_repositories(github, tmp_path, monkeypatch, capsys, repos):
    from ingest.github import cli

    gh = github(repos[2:])
    monkeypatch.setenv("GITHUB_TOKEN", "test-token")
    monkeypatch.delenv("GITHUB_TOKENS", raising=False)
    rc = cli.main(["github", "fetch", "acme/sprocket", "acme/gone", "acme/vanished", "--api-url", gh.url,
                   "--lake", str(tmp_path / "lake")])
    out, err = capsys.readouterr()
    assert rc == 1 and "2/3" not in out and "1/3 repositories" in out
    assert "2 failed" in err and "acme/gone, acme/vanished" in err
