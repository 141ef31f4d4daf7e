"""Repository names: from the origin remote or the folder; a second source under a taken name is refused."""
import os

import pygit2
import pytest

from ingest.git import GitIngestError, ingest_repo
from ingest.git import cli
from lake import Lake
from lake.edge import run_cli
from tests.helpers.gitrepos import build_repo, commit


def _rows(lake_dir, sql, params=None):
    with Lake(lake_dir) as lk:
        return lk.query(sql, params).to_pylist()


def _errors(err: str) -> list[str]:  # a refused source goes on ("error: ..."); a bad list stops ("ingest: ...")
    return [ln for ln in err.splitlines() if ln.startswith(("error:", "ingest: "))]


def main(argv: list[str]) -> int:
    """The command as `python -m ingest` runs it: an error that escapes is one line and exit code 2."""
    return run_cli("ingest", cli.main, argv)


def test_ten_checkouts_all_named_repo_are_ten_repositories(tmp_path, capsys):
    # the reported layout: OWNER+NAME/repo for every checkout, all ingested in one command
    paths = [build_repo(tmp_path / f"owner{i}+proj{i}" / "repo", {"a.go": f"package p{i}\n"}).workdir
             for i in range(10)]
    assert main(["git", *paths, "--lake", str(tmp_path / "lake"), "--quiet"]) == 0
    rows = _rows(tmp_path / "lake", "SELECT repo_id, source FROM repos ORDER BY repo_id")
    assert sorted(r["repo_id"] for r in rows) == sorted(f"owner{i}+proj{i}" for i in range(10))
    contents = _rows(tmp_path / "lake", "SELECT repo_id, content FROM files")
    assert {(r["repo_id"], r["content"]) for r in contents} == {(f"owner{i}+proj{i}", f"package p{i}\n") for i in range(10)}
    assert _errors(capsys.readouterr().err) == []


def test_two_folders_of_one_name_the_second_is_refused_and_the_first_kept(tmp_path, capsys):
    first = build_repo(tmp_path / "team-a" / "widget", {"a.go": "package a\n"})
    second = build_repo(tmp_path / "team-b" / "widget", {"b.go": "package b\n", "c.go": "package b\n"})
    other = build_repo(tmp_path / "gadget", {"g.go": "package g\n"})
    lake_dir = tmp_path / "lake"
    rc = main(["git", first.workdir, second.workdir, other.workdir, "--lake", str(lake_dir), "--quiet"])
    out, err = capsys.readouterr()
    assert rc == 2
    errors = _errors(err)
    assert len(errors) == 1, err
    assert str((tmp_path / "team-a" / "widget").resolve()) in errors[0]  # as the lake holds it
    assert str(tmp_path / "team-b" / "widget") in errors[0]  # as the user wrote it
    assert "--name" in errors[0]
    assert "1 refused" in err and "team-b" in err.splitlines()[-1]
    assert "gadget: 1 files" in out  # the batch went on after the refusal
    files = _rows(lake_dir, "SELECT repo_id, path, content FROM files ORDER BY repo_id, path")
    assert files == [{"repo_id": "gadget", "path": "g.go", "content": "package g\n"},
                     {"repo_id": "widget", "path": "a.go", "content": "package a\n"}]
    assert _rows(lake_dir, "SELECT source FROM repos WHERE repo_id = 'widget'") == [
        {"source": str((tmp_path / "team-a" / "widget").resolve())}]
    # --name gives the second one its own identity; nothing of the first changes
    assert main(["git", second.workdir, "--name", "team-b/widget", "--lake", str(lake_dir), "--quiet"]) == 0
    assert _rows(lake_dir, "SELECT repo_id, count(*) AS n FROM files GROUP BY 1 ORDER BY 1") == [
        {"repo_id": "gadget", "n": 1}, {"repo_id": "team-b/widget", "n": 2}, {"repo_id": "widget", "n": 1}]


def test_a_refused_source_changes_nothing_in_the_lake(lake, tmp_path):
    first = build_repo(tmp_path / "a" / "widget", {"a.go": "package a\n"})
    ingest_repo(lake, first.workdir, progress=False)
    before = {t: lake.query(f"SELECT * FROM {t} ORDER BY ALL").to_pylist() for t in ("repos", "files", "commits")}
    snapshot = lake.snapshot()
    second = build_repo(tmp_path / "b" / "widget", {"a.go": "package b\n"})
    with pytest.raises(GitIngestError, match="already in the lake from") as info:
        ingest_repo(lake, second.workdir, progress=False)
    assert "\n" not in str(info.value)
    assert lake.snapshot() == snapshot
    assert {t: lake.query(f"SELECT * FROM {t} ORDER BY ALL").to_pylist() for t in before} == before


def test_the_same_source_spelled_differently_is_an_idempotent_replacement(lake, tmp_path, monkeypatch):
    repo = build_repo(tmp_path / "widget", {"a.go": "package a\n"})
    link = tmp_path / "link"
    os.symlink(tmp_path / "widget", link)
    assert ingest_repo(lake, repo.workdir, progress=False).status == "ingested"
    monkeypatch.chdir(tmp_path)
    for spelling in ("widget", "widget/.git", str(link), str(tmp_path / "widget") + "/"):
        assert ingest_repo(lake, spelling, progress=False).status == "unchanged", spelling
    commit(repo, {"b.go": "package a\n"}, "two")
    assert ingest_repo(lake, "widget/.git", progress=False).status == "ingested"
    assert lake.query("SELECT count(*) AS n FROM repos").to_pylist() == [{"n": 1}]
    assert lake.count("files") == 2


def test_a_row_from_before_sources_were_resolved_is_replaced_not_refused(lake, tmp_path):
    repo = build_repo(tmp_path / "widget", {"a.go": "package a\n"})
    ingest_repo(lake, repo.workdir, progress=False)
    lake.con.execute("UPDATE repos SET source = 'widget'")  # as older code stored what the user typed
    commit(repo, {"b.go": "package a\n"}, "two")
    assert ingest_repo(lake, repo.workdir, progress=False).status == "ingested"
    assert lake.query("SELECT source FROM repos").column(0).to_pylist() == [str((tmp_path / "widget").resolve())]


@pytest.mark.parametrize("url", ["https://github.com/acme/widget.git", "git@github.com:acme/widget.git",
                                 "ssh://git@github.com/acme/widget", "https://github.com/acme/widget"])
def test_a_clone_with_an_origin_remote_is_named_owner_slash_name(lake, tmp_path, url):
    repo = build_repo(tmp_path / "checkout" / "repo", {"a.go": "package a\n"})
    repo.remotes.create("origin", url)
    assert ingest_repo(lake, repo.workdir, progress=False).repo_id == "acme/widget"
    assert lake.query("SELECT repo_id, name FROM repos").to_pylist() == [{"repo_id": "acme/widget", "name": "acme/widget"}]


def test_a_local_origin_says_nothing_and_the_folder_names_it(lake, tmp_path):
    build_repo(tmp_path / "upstream.git", {"a.go": "package a\n"}, bare=True)
    clone = pygit2.clone_repository((tmp_path / "upstream.git").as_uri(), str(tmp_path / "gizmo"))
    assert clone.remotes["origin"].url.startswith("file://")
    assert ingest_repo(lake, str(tmp_path / "gizmo"), progress=False).repo_id == "gizmo"


def test_from_list_takes_a_name_per_line(tmp_path, capsys):
    a = build_repo(tmp_path / "x" / "repo", {"a.go": "package a\n"})
    b = build_repo(tmp_path / "y" / "my repo", {"b.go": "package b\n"})
    c = build_repo(tmp_path / "z" / "widget", {"c.go": "package c\n"})
    listing = tmp_path / "repos.txt"
    listing.write_text(f"# checkouts\n{a.workdir} acme/alpha\n\n'{b.workdir}' acme/beta  # quoted: a space\n"
                       f"{c.workdir}\n")
    assert main(["git", "--from-list", str(listing), "--lake", str(tmp_path / "lake"), "--quiet"]) == 0
    rows = _rows(tmp_path / "lake", "SELECT repo_id, path FROM files ORDER BY repo_id")
    assert rows == [{"repo_id": "acme/alpha", "path": "a.go"}, {"repo_id": "acme/beta", "path": "b.go"},
                    {"repo_id": "widget", "path": "c.go"}]
    listing.write_text(f"{a.workdir} acme/alpha extra\n")
    assert main(["git", "--from-list", str(listing), "--lake", str(tmp_path / "lake"), "--quiet"]) == 2
    err = _errors(capsys.readouterr().err)
    assert len(err) == 1 and f"{listing}:1" in err[0] and "SRC [NAME]" in err[0]


def test_from_list_names_split_across_workers_by_name(tmp_path):
    from lake.workers import Worker
    repos = [build_repo(tmp_path / f"r{i}", {"a.go": f"package r{i}\n"}) for i in range(6)]
    listing = tmp_path / "repos.txt"
    listing.write_text("".join(f"{r.workdir} acme/p{i}\n" for i, r in enumerate(repos)))
    lake_dir = str(tmp_path / "lake")
    names = {f"acme/p{i}" for i in range(6)}
    mine = {n for n in names if Worker(1, 2).owns(n)}
    assert 0 < len(mine) < 6  # both workers have work
    assert main(["git", "--from-list", str(listing), "--worker", "1/2", "--lake", lake_dir, "--quiet"]) == 0
    assert {r["repo_id"] for r in _rows(lake_dir, "SELECT repo_id FROM repos")} == mine
    assert main(["git", "--from-list", str(listing), "--worker", "2/2", "--lake", lake_dir, "--quiet"]) == 0
    assert {r["repo_id"] for r in _rows(lake_dir, "SELECT repo_id FROM repos")} == names


def test_url_spellings_of_one_repository_are_one_source_and_never_keep_a_token():
    from ingest.git.source import source_key
    token = "ghp_" + "Z9y8X7w6" * 5
    same = ["https://github.com/Acme/Widget.git", "git@github.com:acme/widget.git", "ssh://git@github.com/acme/widget",
            f"https://x-access-token:{token}@github.com/acme/widget/", "https://GitHub.com/acme/widget"]
    assert {source_key(u) for u in same} == {"github.com/acme/widget"}
    assert source_key("https://gitlab.com/acme/widget.git") != source_key(same[0])
    assert source_key("https://github.com/acme/widget2") != source_key(same[0])
