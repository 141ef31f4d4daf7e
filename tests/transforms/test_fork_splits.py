"""GitHub's fork graph in the splits: a fork GitHub names (GraphQL `isFork` / `parent`, collected from the
loopback GitHub) lands in its parent's split even when git shows no shared root commit."""
from __future__ import annotations

import hashlib

from ingest.git import ingest_repo
from ingest.github.fetch import RepoCollector
from ingest.github.top import top_repositories
from lake import Lake
from tests.helpers import github_fixtures as F
from tests.helpers.gitrepos import build_repo
from tests.helpers.github_server import client_for, github  # noqa: F401 (fixture)
from transforms.config import TransformConfig
from transforms.pipeline import run


def _own_split(name: str, cfg: TransformConfig) -> str:
    """The split a repository gets alone: the documented salted md5 bucket of its name (computed here)."""
    bucket = int(hashlib.md5(f"{cfg.split_salt}:{name}".encode()).hexdigest()[:8], 16) % 100
    return "test" if bucket < cfg.test_percent else "val" if bucket < cfg.test_percent + cfg.val_percent else "train"


def test_a_github_fork_lands_in_its_parents_split_without_a_shared_root_commit(github, tmp_path):
    cfg = TransformConfig()
    parent_name = "acme/widget"
    # a fork whose own name would hash to another split: grouping is what keeps it with its parent
    fork_owner = next(f"zed{i}" for i in range(1000)
                      if _own_split(f"zed{i}/widget", cfg) != _own_split(parent_name, cfg))
    parent = F.build_repo("acme", "widget", repo_id=42, n_pulls=2, n_issues=1, stars=900)
    fork = F.build_repo(fork_owner, "widget", repo_id=43, n_pulls=1, n_issues=1, stars=5, seed=1)
    fork.fork, fork.parent = True, parent_name
    loner = F.build_repo("solo", "thing", repo_id=44, n_pulls=1, n_issues=1, stars=50, seed=2)
    gh = github([parent, fork, loner])
    with Lake(tmp_path / "lake") as lake:
        client = client_for(gh, lake)
        top_repositories(lake, client, "Go", 10)
        for repo in (parent, fork, loner):
            RepoCollector(lake, client).fetch(repo.full_name)
        got = {r["repo_id"]: (r["fork"], r["parent"]) for r in lake.query(
            "SELECT repo_id, fork, parent FROM github_repos").to_pylist()}
        assert got == {parent_name: (False, None), fork.full_name: (True, parent_name), "solo/thing": (False, None)}
        # separate histories: no root commit in common
        for i, repo in enumerate((parent, fork, loner)):
            code = build_repo(tmp_path / f"r{i}", {"main.go": f"package p{i}\n\nfunc F{i}() int {{ return {i} }}\n"})
            ingest_repo(lake, code.path, name=repo.full_name, license="MIT", progress=False)
        roots = lake.query("SELECT DISTINCT root_commit FROM repos").to_pylist()
        assert len(roots) == 3
        run(lake, cfg, before="near_dedup")
        splits = {r["repo_id"]: r for r in lake.query(
            "SELECT s.repo_id, s.split, s.split_key, c.fork_of FROM repo_splits s JOIN clean_repos c USING (repo_id)"
        ).to_pylist()}
    assert splits[fork.full_name]["fork_of"] == parent_name == splits[parent_name]["fork_of"]
    assert splits[fork.full_name]["split"] == splits[parent_name]["split"] == _own_split(parent_name, cfg)
    assert splits["solo/thing"]["fork_of"] == "solo/thing" and splits["solo/thing"]["split"] == _own_split("solo/thing", cfg)


def test_a_fork_of_a_fork_fetched_by_name_lands_in_its_network_roots_split(github, tmp_path):
    """No search row: `fetch` by name records GitHub's ancestry (github_forks), and the splits follow it
    through a middle fork, and through a root the lake never ingested."""
    cfg = TransformConfig()
    root = "acme/widget"

    def owner_away_from(*names: str, prefix: str, repo: str) -> str:  # a name whose own split differs from theirs
        return next(f"{prefix}{i}" for i in range(1000)
                    if _own_split(f"{prefix}{i}/{repo}", cfg) not in {_own_split(n, cfg) for n in names})

    mid_owner = owner_away_from(root, prefix="mid", repo="widget")
    leaf_owner = owner_away_from(root, f"{mid_owner}/widget", prefix="leaf", repo="widget")
    top = F.build_repo("acme", "widget", repo_id=50, n_pulls=1, n_issues=1, stars=900)
    mid = F.build_repo(mid_owner, "widget", repo_id=51, n_pulls=1, n_issues=1, stars=40, seed=1)
    leaf = F.build_repo(leaf_owner, "widget", repo_id=52, n_pulls=1, n_issues=1, stars=3, seed=2)
    mid.fork, mid.parent = True, root
    leaf.fork, leaf.parent = True, mid.full_name
    # two forks of a repository neither the server nor the lake holds: siblings, one family all the same
    one_owner = owner_away_from("gone/gizmo", prefix="sib", repo="gizmo")
    other_owner = owner_away_from(f"{one_owner}/gizmo", prefix="kin", repo="gizmo")
    one = F.build_repo(one_owner, "gizmo", repo_id=53, n_pulls=1, n_issues=1, stars=30, seed=3)
    other = F.build_repo(other_owner, "gizmo", repo_id=54, n_pulls=1, n_issues=1, stars=20, seed=4)
    for sibling in (one, other):
        sibling.fork, sibling.parent = True, "gone/gizmo"
    repos = (top, mid, leaf, one, other)
    gh = github(list(repos))
    with Lake(tmp_path / "lake") as lake:
        client = client_for(gh, lake)
        for repo in repos:  # by name: no `ingest github top`, so no github_repos row
            RepoCollector(lake, client).fetch(repo.full_name)
        assert lake.count("github_repos") == 0
        forks = {r["repo_id"]: (r["fork"], r["parent"], list(r["ancestors"])) for r in lake.query(
            "SELECT repo_id, fork, parent, ancestors FROM github_forks").to_pylist()}
        assert forks == {root: (False, None, []), mid.full_name: (True, root, [root]),
                         leaf.full_name: (True, mid.full_name, [mid.full_name, root]),
                         one.full_name: (True, "gone/gizmo", ["gone/gizmo"]),
                         other.full_name: (True, "gone/gizmo", ["gone/gizmo"])}
        for i, repo in enumerate(repos):  # separate histories: no root commit in common
            code = build_repo(tmp_path / f"r{i}", {"main.go": f"package p{i}\n\nfunc F{i}() int {{ return {i} }}\n"})
            ingest_repo(lake, code.path, name=repo.full_name, license="MIT", progress=False)
        run(lake, cfg, before="near_dedup")
        splits = {r["repo_id"]: (r["fork_of"], r["split"]) for r in lake.query(
            "SELECT s.repo_id, s.split, c.fork_of FROM repo_splits s JOIN clean_repos c USING (repo_id)").to_pylist()}
    # one family each, split by its representative's name (whichever ranks first: no search row, no stars);
    # each member's own name hashes to another split than some other member's, so only grouping agrees
    for family in ((root, mid.full_name, leaf.full_name), (one.full_name, other.full_name)):
        (rep, split), = {splits[name] for name in family}
        assert rep in family and split == _own_split(rep, cfg)
