"""ingest.github against a fake GitHub on loopback: what fetch and top write, and what re-runs cost."""
import pytest

from tests.helpers import github_fixtures as F
from tests.helpers.github_server import assert_no_duplicates, client_for, counts, github, validate  # noqa: F401 (fixture)
from ingest.github import queries
from ingest.github.fetch import RepoCollector
from ingest.github.top import top_repositories

def test_every_collector_query_validates_against_githubs_schema():
    for name, q in queries.ALL.items():
        assert validate(q) == [], name
    assert validate("query { repository(owner: \"a\", name: \"b\") { pullRequests { nodez } } }") != []


def test_fetch_writes_pulls_reviews_comments_issues_and_readme(github, lake):
    repo = F.build_repo("acme", "widget", repo_id=42, big=True)
    gh = github([repo])
    RepoCollector(lake, client_for(gh, lake)).fetch("acme/widget")
    assert counts(lake, "acme/widget") == F.expected_counts(repo)
    assert_no_duplicates(lake)
    pulls = {r["number"]: r for r in lake.query("SELECT * FROM github_pulls").to_pylist()}
    for pr in repo.pulls:
        row = pulls[pr.number]
        assert row["state"] == pr.state and row["head_oid"] == pr.head_sha and row["base_oid"] == pr.base_sha
        assert (row["merged_at"] is not None) == (pr.state == "merged")
        assert [f["path"] for f in row["changed_files"]] == [f.path for f in pr.files]  # 130 files: follow-up pages
    big = repo.pulls[0]
    replies = lake.query("SELECT comment_id, in_reply_to FROM github_review_comments WHERE in_reply_to IS NOT NULL")
    want = {c.node_id: next(x.node_id for x in rv.comments if x.id == c.in_reply_to)
            for rv in big.reviews for c in rv.comments if c.in_reply_to}
    assert dict(zip(*replies.to_pydict().values())).items() >= want.items()
    labels = lake.query("SELECT labels FROM github_issues WHERE number = ?", [repo.issues[0].number]).column(0)[0].as_py()
    assert sorted(labels) == sorted(repo.issues[0].labels)  # 27 labels: past the first page of 20
    readme = lake.query("SELECT source, path, content FROM readmes WHERE repo_id = 'acme/widget'").to_pylist()
    assert readme == [{"source": "github", "path": "README.md", "content": repo.readme}]


def test_fetch_uses_graphql_pages_not_per_pr_requests(github, lake):
    repo = F.build_repo("acme", "widget", repo_id=42, n_pulls=40, n_issues=5)
    gh = github([repo])
    client = client_for(gh, lake)
    RepoCollector(lake, client).fetch("acme/widget")
    rest = [h.path.split("?")[0] for h in gh.hits if h.resource == "core"]
    assert sorted(rest) == ["/repos/acme/widget/issues", "/repos/acme/widget/readme"]  # probe + README only
    assert client.stats["graphql_requests"] == 2  # one page of 40 PRs with everything, one page of issues


def test_fetch_flags_bot_authors(github, lake):
    repo = F.build_repo("acme", "widget", repo_id=42, n_pulls=8, big=True)
    gh = github([repo])
    RepoCollector(lake, client_for(gh, lake)).fetch("acme/widget")
    rows = lake.query("SELECT number, author, author_is_bot FROM github_pulls ORDER BY number").to_pylist()
    for pr, row in zip(repo.pulls, rows):
        assert row["author_is_bot"] == (pr.author in F.BOTS), row
    assert any(r["author_is_bot"] for r in rows) and not all(r["author_is_bot"] for r in rows)
    flagged = lake.query("SELECT DISTINCT author FROM github_issue_comments WHERE author_is_bot").column(0).to_pylist()
    assert set(flagged) == {"github-actions", "renovate"}


def test_unchanged_rerun_costs_zero_quota(github, lake):
    repo = F.build_repo("acme", "widget", repo_id=42, big=True)
    gh = github([repo])
    RepoCollector(lake, client_for(gh, lake)).fetch("acme/widget")
    first = gh.usage()
    snapshot = lake.snapshot()
    stats = RepoCollector(lake, client_for(gh, lake)).fetch("acme/widget")
    assert first > 0 and gh.usage() == first, "an unchanged re-run was charged quota"
    assert stats["unchanged"] and lake.snapshot() == snapshot
    assert [h.status for h in gh.hits[-2:]] == [304, 304]


def test_changed_repository_is_fetched_incrementally(github, lake):
    repo = F.build_repo("acme", "widget", repo_id=42, n_pulls=30, n_issues=6)
    gh = github([repo])
    RepoCollector(lake, client_for(gh, lake, pr_page=10)).fetch("acme/widget")
    new = repo.touch(repo.pulls[3].number, body="A late review remark.")
    queries_before = len(gh.queries)
    RepoCollector(lake, client_for(gh, lake, pr_page=10)).fetch("acme/widget")
    assert counts(lake, "acme/widget") == F.expected_counts(repo)
    assert_no_duplicates(lake)
    got = lake.query("SELECT body FROM github_issue_comments WHERE comment_id = ?", [new.node_id]).column(0).to_pylist()
    assert got == ["A late review remark."]
    assert len(gh.queries) - queries_before == 2  # one UPDATED_AT page of PRs, one of issues: not 3 + 1 again


def test_patches_via_rest_fill_patch_text(github, lake):
    repo = F.build_repo("acme", "widget", repo_id=42, n_pulls=4, big=True)
    gh = github([repo])
    RepoCollector(lake, client_for(gh, lake), patches_via_rest=True).fetch("acme/widget")
    rows = {r["number"]: r for r in lake.query("SELECT number, changed_files FROM github_pulls").to_pylist()}
    for pr in repo.pulls:
        assert {f["path"]: f["patch"] for f in rows[pr.number]["changed_files"]} == {f.path: f.patch for f in pr.files}
    assert any(f.patch is None for pr in repo.pulls for f in pr.files)


def test_top_slices_by_stars_and_stops_at_n(github, lake):
    population = F.search_population(2600)
    gh = github(search_population=population)
    stats = top_repositories(lake, client_for(gh, lake), "Go", 1800)
    got = set(lake.query("SELECT github_id FROM github_repos").column(0).to_pylist())
    best = sorted(population, key=lambda r: (-r.stars, r.id))
    assert len(got) == 1800
    cut = best[1799].stars
    assert {r.id for r in best if r.stars > cut} <= got and all(
        r.stars >= cut for r in population if r.id in got)
    assert not [h for h in gh.hits if h.status == 422], "asked for a search page past 1,000 results"
    assert stats["slices"] >= 2 and stats["split"] >= 1


def test_top_records_unlicensed_repositories_as_excluded(github, lake):
    population = F.search_population(300)
    gh = github(search_population=population)
    top_repositories(lake, client_for(gh, lake), "Go", 300)
    rows = {r["github_id"]: r for r in lake.query("SELECT * FROM github_repos").to_pylist()}
    for r in population:
        row = rows[r.id]
        spdx = (r.license or {}).get("spdx_id")
        assert row["excluded"] == (spdx in (None, "NOASSERTION"))
        if r.license is None:
            assert "null" in row["exclude_reason"]
        elif spdx == "NOASSERTION":
            assert row["license"] == "NOASSERTION" and "NOASSERTION" in row["exclude_reason"]
        else:
            assert row["license"] == spdx and row["exclude_reason"] is None
        assert row["stars"] == r.stars and row["topics"] == r.topics and row["archived"] == r.archived


def test_top_dedups_a_repository_that_moves_between_slices(github, lake):
    population = F.search_population(2600)
    gh = github(search_population=population)
    best = sorted(population, key=lambda r: (-r.stars, r.id))
    mover, landing = best[3], best[1500]

    def drift(server, body):  # once served in a slice that fits, the mover's stars drop into a lower slice
        if body["total_count"] <= 1000 and any(item["id"] == mover.id for item in body["items"]):
            mover.stars = landing.stars

    gh.on_search = drift
    stats = top_repositories(lake, client_for(gh, lake), "Go", 1800)
    ids = lake.query("SELECT github_id FROM github_repos").column(0).to_pylist()
    assert len(ids) == len(set(ids)) == 1800
    assert stats["duplicates"] == 1


def test_search_refuses_pages_past_1000_results(github):
    gh = github(search_population=F.search_population(1200))
    client = client_for(gh)
    from ingest.github import GitHubError
    with pytest.raises(GitHubError, match="HTTP 422: Only the first 1000 search results are available"):
        client.get("/search/repositories", {"q": "language:Go", "per_page": 100, "page": 11})


def test_cli_fetch_from_top_skips_repositories_excluded_for_their_licence(github, tmp_path, monkeypatch, capsys):
    from ingest.github import cli

    good = F.build_repo("acme", "widget", repo_id=42, n_pulls=3, stars=900)
    unlicensed = F.build_repo("acme", "mystery", repo_id=43, n_pulls=3, stars=800, license=None)
    gh = github([good, unlicensed])
    monkeypatch.setenv("GITHUB_TOKEN", "test-token")
    monkeypatch.delenv("GITHUB_TOKENS", raising=False)
    common = ["--api-url", gh.url, "--lake", str(tmp_path / "lake")]
    assert cli.main(["github", "top", "--language", "Go", "--n", "10", *common]) == 0
    assert cli.main(["github", "fetch", "--from-top", *common]) == 0
    out = capsys.readouterr().out
    assert "2 repositories (1 excluded for their licence)" in out and "1/1 repositories" in out
    from lake import Lake
    with Lake(tmp_path / "lake") as lake:
        assert lake.query("SELECT DISTINCT repo_id FROM github_pulls").column(0).to_pylist() == ["acme/widget"]
        run = lake.query("SELECT command, status, args FROM runs ORDER BY started_at").to_pylist()
        assert [(r["command"], r["status"]) for r in run] == [("ingest github top", "ok"), ("ingest github fetch", "ok")]
