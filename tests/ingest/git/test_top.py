"""`ingest git --from-top`: the top-N job end to end against the loopback GitHub, clone URLs on local bare repos."""
import pygit2
import pytest

from ingest.git import cli as git_cli
from ingest.github import cli as github_cli
from lake import Lake
from lake.edge import run_cli
from tests.helpers import github_fixtures as F
from tests.helpers.github_server import github  # noqa: F401 (fixture)
from tests.helpers.gitrepos import add_pull, build_repo


def _origin(tmp_path, name: str, files: dict, pull: int | None = None) -> str:
    """A local bare repository standing in for github.com/<name>; its file:// URL is the API's clone_url."""
    repo = build_repo(tmp_path / "origins" / (name.replace("/", "__") + ".git"), files, bare=True)
    if pull is not None:
        add_pull(repo, pull, {"feature.go": "package p\n\nfunc Feature() {}\n"}, "feature", merged=True,
                 title="Add a feature")
    return (tmp_path / "origins" / (name.replace("/", "__") + ".git")).as_uri()


@pytest.fixture
def top_lake(github, tmp_path, monkeypatch):  # noqa: F811 (fixture)
    """`ingest github top` has run: widget (MIT, 900 stars), gizmo (Apache-2.0, 800), mystery (no licence)."""
    widget = F.build_repo("acme", "widget", repo_id=42, n_pulls=0, stars=900)
    gizmo = F.build_repo("acme", "gizmo", repo_id=43, n_pulls=0, stars=800, license=F.APACHE)
    mystery = F.build_repo("acme", "mystery", repo_id=44, n_pulls=0, stars=700, license=None)
    widget.clone_url = _origin(tmp_path, "acme/widget", {"go.mod": "module example.com/widget\n",
                                                          "w.go": "package widget\n"}, pull=3)
    gizmo.clone_url = _origin(tmp_path, "acme/gizmo", {"g.go": "package gizmo\n"})
    mystery.clone_url = _origin(tmp_path, "acme/mystery", {"m.go": "package mystery\n"})
    gh = github([widget, gizmo, mystery])
    monkeypatch.setenv("GITHUB_TOKEN", "test-token")
    monkeypatch.delenv("GITHUB_TOKENS", raising=False)
    lake_dir = tmp_path / "lake"
    assert github_cli.main(["github", "top", "--n", "10", "--api-url", gh.url, "--lake", str(lake_dir)]) == 0
    return lake_dir


def test_from_top_clones_every_licensed_repository_under_its_github_name(top_lake, capsys):
    assert git_cli.main(["git", "--from-top", "--fetch-prs", "--lake", str(top_lake), "--quiet"]) == 0
    with Lake(top_lake) as lk:
        repos = lk.query("SELECT repo_id, github_license, license, source FROM repos ORDER BY repo_id").to_pylist()
        assert [r["repo_id"] for r in repos] == ["acme/gizmo", "acme/widget"]  # mystery: excluded, never cloned
        assert {r["repo_id"]: r["github_license"] for r in repos} == {"acme/gizmo": "Apache-2.0", "acme/widget": "MIT"}
        assert all(r["source"].startswith("file://") and r["repo_id"].replace("/", "__") in r["source"] for r in repos)
        # the git rows join the GitHub rows of the same repository
        joined = lk.query("SELECT g.repo_id, g.stars FROM repos r JOIN github_repos g USING (repo_id) ORDER BY 2 DESC")
        assert joined.column("repo_id").to_pylist() == ["acme/widget", "acme/gizmo"]
        pulls = lk.query("SELECT repo_id, number, title FROM git_pulls").to_pylist()
        assert pulls == [{"repo_id": "acme/widget", "number": 3, "title": "Add a feature"}]
        files = lk.query("SELECT repo_id, path FROM files ORDER BY ALL").to_pylist()
        assert files == [{"repo_id": "acme/gizmo", "path": "g.go"}, {"repo_id": "acme/widget", "path": "feature.go"},
                         {"repo_id": "acme/widget", "path": "go.mod"}, {"repo_id": "acme/widget", "path": "w.go"}]
        clones = sorted(p.parent for p in (lk.artifacts("git") / "clones").rglob("HEAD") if p.parent.name.endswith(".git"))
    assert len(clones) == 2 and all(pygit2.Repository(str(c)).is_bare for c in clones)
    # resumable: a second run finds everything in place and changes nothing
    assert git_cli.main(["git", "--from-top", "--fetch-prs", "--lake", str(top_lake), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "acme/widget: unchanged" in out and "acme/gizmo: unchanged" in out


def test_from_top_workers_split_by_github_name_and_together_take_all(top_lake):
    from lake.workers import Worker
    assert Worker(1, 2).owns("acme/gizmo") and Worker(2, 2).owns("acme/widget")  # each worker has one
    for w in ("1/2", "2/2"):
        assert git_cli.main(["git", "--from-top", "--worker", w, "--lake", str(top_lake), "--quiet"]) == 0
        with Lake(top_lake) as lk:
            have = set(lk.query("SELECT repo_id FROM repos").column(0).to_pylist())
        want = {n for n in ("acme/widget", "acme/gizmo") if any(Worker(int(i), 2).owns(n) for i in "12"[: int(w[0])])}
        assert have == want


def test_from_top_without_github_top_is_one_line_exit_2(tmp_path, capsys):
    assert run_cli("ingest", git_cli.main, ["git", "--from-top", "--lake", str(tmp_path / "lake"), "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "ingest github top" in err[0]


def test_a_clone_killed_half_way_is_cloned_again(lake, tmp_path):
    from ingest.git import ingest_repo
    url = _origin(tmp_path, "acme/widget", {"w.go": "package widget\n"})
    # what a killed clone leaves: the folder it was cloning into, with a HEAD but no objects
    dest = lake.artifacts("git") / "clones" / "local" / url.split("://", 1)[1].strip("/")
    partial = dest.with_name(dest.name + ".partial")
    pygit2.init_repository(str(partial), bare=True)
    result = ingest_repo(lake, url, name="acme/widget", progress=False)
    assert result.status == "ingested" and not partial.exists()
    assert lake.query("SELECT path FROM files").column(0).to_pylist() == ["w.go"]
