"""Rate limits and transport faults: the collector waits as GitHub asks and loses nothing."""
import pytest

from tests.helpers import github_fixtures as F
from tests.helpers.github_server import FakeClock, client_for, counts, github  # noqa: F401 (fixture)
from ingest.github import GitHubError
from ingest.github.fetch import RepoCollector


def fetch(gh, lake, clock=None, **config):
    client = client_for(gh, lake, clock=clock, **config)
    RepoCollector(lake, client).fetch("acme/widget")
    return client


@pytest.fixture
def repo():
    return F.build_repo("acme", "widget", repo_id=42, n_pulls=12, n_issues=5)


def test_secondary_limit_honours_retry_after(github, lake, repo):
    clock = FakeClock()
    gh = github([repo], clock=clock.time)
    gh.inject("secondary", "/graphql", status=403, retry_after=7)
    client = fetch(gh, lake, clock)
    assert [w for why, w in client.limiter.waits] == [7]
    assert counts(lake, "acme/widget") == F.expected_counts(repo)


def test_secondary_limit_without_retry_after_waits_a_minute_then_backs_off(github, lake, repo):
    clock = FakeClock()
    gh = github([repo], clock=clock.time)
    gh.inject("secondary", "/graphql", status=429, times=3)
    client = fetch(gh, lake, clock)
    assert [w for why, w in client.limiter.waits] == [60, 120, 240]
    assert counts(lake, "acme/widget") == F.expected_counts(repo)


def test_low_budget_pauses_until_reset_before_github_refuses(github, lake, repo):
    clock = FakeClock()
    gh = github([repo], clock=clock.time, limits={"graphql": 8})
    client = fetch(gh, lake, clock, reserve_graphql=4, pr_page=3, issue_page=3)
    waits = [why for why, _ in client.limiter.waits]
    assert waits and all("until reset" in why for why in waits)
    assert clock.slept[0] > 3000  # the hour's window, waited on the fake clock
    assert not [h for h in gh.hits if h.status == 403], "the collector ran into the primary limit"
    assert counts(lake, "acme/widget") == F.expected_counts(repo)


def test_exhausted_primary_limit_waits_for_reset(github, lake, repo):
    clock = FakeClock()
    gh = github([repo], clock=clock.time, limits={"graphql": 50})
    gh.bucket("test-token", "graphql")["used"] = 50  # another process spent this token's hour
    client = fetch(gh, lake, clock, reserve_graphql=0)
    assert [h.status for h in gh.hits if h.status == 403]
    assert any("primary limit" in why for why, _ in client.limiter.waits)
    assert counts(lake, "acme/widget") == F.expected_counts(repo)


def test_tokens_share_the_work(github, lake, repo):
    clock = FakeClock()
    gh = github([repo], clock=clock.time, tokens=["tok-one", "tok-two"], limits={"graphql": 8})
    # 9 one-point calls: more than one token's 8 - 2 reserved, less than two tokens' 12.
    client = fetch(gh, lake, clock, tokens=["tok-one", "tok-two"], reserve_graphql=2, pr_page=2, issue_page=2)
    used = gh.usage_by_token()
    assert gh.usage("graphql") == 9 and used["tok-one"] > 0 and used["tok-two"] > 0
    assert client.limiter.waits == []
    assert counts(lake, "acme/widget") == F.expected_counts(repo)


def test_transport_faults_are_retried_without_loss(github, lake, repo):
    gh = github([repo])
    gh.inject("status", "/graphql", status=502, times=2)
    gh.inject("drop", "/graphql")
    gh.inject("truncate", "/graphql")
    gh.inject("slow", "/graphql", delay=1.5)
    gh.inject("status", "/repos/acme/widget/readme", status=503)
    gh.inject("drop", "/repos/acme/widget/issues")
    fetch(gh, lake, timeout_s=0.5)
    assert all(f.times == 0 for f in gh.faults), "a fault was never hit"
    assert counts(lake, "acme/widget") == F.expected_counts(repo)
    assert lake.count("readmes") == 1


def test_persistent_server_errors_fail_with_one_line_and_keep_committed_pages(github, lake, repo):
    gh = github([repo])
    client = client_for(gh, lake, pr_page=4, retries=2)
    collector = RepoCollector(lake, client)
    gh.inject("status", "/graphql", status=502, times=0)
    original = collector._commit

    def commit_then_break(*args, **kw):  # after the first page is in the lake, GitHub goes down
        original(*args, **kw)
        gh.faults[0].times = 1000

    collector._commit = commit_then_break
    with pytest.raises(GitHubError) as err:
        collector.fetch("acme/widget")
    # GitHub's HTML error page is reduced to its title; the page was asked again smaller before it failed.
    message = str(err.value)
    assert "POST /graphql: HTTP 502: Unicorn! · GitHub" in message and "timed out even at page size 1" in message
    assert "\n" not in message and "<" not in message
    assert lake.count("github_pulls") == 4
    cursor = lake.query("SELECT cursor, complete FROM github_cursors WHERE resource = 'pulls'").to_pylist()
    assert cursor[0]["cursor"] and cursor[0]["complete"] is False
