"""Bad input gives one line naming it and the batch goes on; broken objects become ingest_errors rows."""
from pathlib import Path

import pygit2
import pytest

from ingest.git import GitIngestError, ingest_repo
from ingest.git.cli import main
from tests.helpers.gitrepos import add_pull, build_repo, commit


def _loose(repo: pygit2.Repository, oid) -> Path:
    h = str(oid)
    return Path(repo.path) / "objects" / h[:2] / h[2:]


def test_ingest_git_missing_blob_is_an_error_row_not_a_crash(lake, tmp_path):
    repo = build_repo(tmp_path / "r", {"a.go": "package a\n", "lost.go": "package a // lost\n"})
    lost = repo.head.peel().tree["lost.go"].id
    _loose(repo, lost).unlink()
    result = ingest_repo(lake, repo.path, progress=False)
    files = {r["path"]: r for r in lake.query("SELECT * FROM files").to_pylist()}
    assert files["a.go"]["content"] == "package a\n"
    assert files["lost.go"]["content"] is None and files["lost.go"]["blob_id"] == str(lost)
    errors = lake.query("SELECT object, error, stage FROM ingest_errors").to_pylist()
    assert any(e["object"] == f"lost.go@{lost}" and "missing object" in e["error"] for e in errors)
    assert any(e["object"] == str(repo.head.target) for e in errors)  # the root commit's diff lacked it too
    assert result.counts["errors"] == len(errors) and lake.count("commits") == 1


def test_ingest_git_corrupt_object_is_an_error_row(lake, tmp_path):
    repo = build_repo(tmp_path / "r", {"a.go": "package a\n", "bad.go": "package a // bad\n"})
    bad = repo.head.peel().tree["bad.go"].id
    path = _loose(repo, bad)
    path.chmod(0o644)
    path.write_bytes(b"this is not zlib data")
    ingest_repo(lake, repo.path, progress=False)
    errors = lake.query("SELECT object FROM ingest_errors").column(0).to_pylist()
    assert f"bad.go@{bad}" in errors
    assert lake.query("SELECT content FROM files WHERE path = 'a.go'").column(0).to_pylist() == ["package a\n"]


def test_ingest_git_missing_parent_commit_is_recorded_and_history_goes_on(lake, tmp_path):
    repo = build_repo(tmp_path / "r", {"a.go": "package a\n"})
    root = repo.head.target
    commit(repo, {"b.go": "package a\n"}, "two")
    _loose(repo, root).unlink()
    ingest_repo(lake, repo.path, progress=False)
    assert lake.query("SELECT message FROM commits").column(0).to_pylist() == ["two"]
    assert lake.count("ingest_errors") >= 1


@pytest.mark.parametrize("case, expect", [
    ("missing", "no such path"),
    ("plain_dir", "not a git repository"),
    ("empty", "empty repository"),
    ("shallow", "shallow clone"),
    ("dangling_head", "HEAD points nowhere"),
    ("head_to_missing_commit", "HEAD points nowhere"),
])
def test_ingest_git_bad_input_is_one_clear_line(lake, tmp_path, case, expect):
    path = tmp_path / case
    if case == "plain_dir":
        path.mkdir()
        (path / "a.go").write_text("package a\n")
    elif case == "empty":
        pygit2.init_repository(str(path))
    elif case == "shallow":
        repo = build_repo(path, {"a.go": "package a\n"})
        (Path(repo.path) / "shallow").write_text(f"{repo.head.target}\n")
    elif case == "dangling_head":
        repo = build_repo(path, {"a.go": "package a\n"})
        repo.references.create("HEAD", "refs/heads/nope", force=True)
    elif case == "head_to_missing_commit":
        repo = build_repo(path, {"a.go": "package a\n"})
        (Path(repo.path) / "refs/heads/main").write_text("1" * 40 + "\n")
    with pytest.raises(GitIngestError) as info:
        ingest_repo(lake, str(path), progress=False)
    message = str(info.value)
    assert expect in message and str(path) in message and "\n" not in message


def test_ingest_git_cli_batch_goes_on_and_exits_2(tmp_path, capsys):
    good = build_repo(tmp_path / "good", {"a.go": "package a\n"})
    lake_dir = tmp_path / "lake"
    rc = main(["git", str(tmp_path / "nope"), good.path, str(tmp_path), "--lake", str(lake_dir), "--quiet"])
    out, err = capsys.readouterr()
    assert rc == 2
    lines = [ln for ln in err.splitlines() if ln.startswith("error:")]
    assert len(lines) == 2 and "nope: no such path" in lines[0] and "not a git repository" in lines[1]
    assert "Traceback" not in err and "good: 1 files" in out
    from lake import Lake
    with Lake(lake_dir) as lk:
        assert lk.query("SELECT repo_id FROM repos").column(0).to_pylist() == ["good"]
        run = lk.query("SELECT status, stats FROM runs WHERE command = 'ingest git'").to_pylist()[0]
        assert run["status"] == "ok" and '"failed"' in run["stats"]


def test_ingest_git_cli_ok_exits_0_and_reruns_unchanged(tmp_path, capsys):
    good = build_repo(tmp_path / "good", {"a.go": "package a\n"})
    args = ["git", good.path, "--lake", str(tmp_path / "lake"), "--quiet", "--license", "MIT"]
    assert main(args) == 0
    assert main(args) == 0
    assert "good: unchanged" in capsys.readouterr().out


def test_ingest_git_url_is_cloned_bare_into_the_cache_with_pull_refs(lake, tmp_path):
    origin = build_repo(tmp_path / "origin.git", {"a.go": "package a\n"}, bare=True)
    add_pull(origin, 4, {"b.go": "package a\n"}, "b", merged=True, title="Add b")
    url = (tmp_path / "origin.git").as_uri()
    result = ingest_repo(lake, url, fetch_prs=True, progress=False)
    clone = lake.artifacts("git") / "clones"
    clones = [p.parent for p in clone.rglob("HEAD") if p.parent.name.endswith(".git")]
    assert len(clones) == 1 and pygit2.Repository(str(clones[0])).is_bare
    assert result.counts["pulls"] == 1
    row = lake.query("SELECT * FROM git_pulls").to_pylist()[0]
    assert row["number"] == 4 and row["title"] == "Add b"
    assert lake.query("SELECT source FROM repos").column(0).to_pylist() == [url]


def test_ingest_git_url_without_fetch_prs_has_no_pulls(lake, tmp_path):
    origin = build_repo(tmp_path / "o.git", {"a.go": "package a\n"}, bare=True)
    add_pull(origin, 4, {"b.go": "package a\n"}, "b")
    ingest_repo(lake, (tmp_path / "o.git").as_uri(), progress=False)
    assert lake.count("git_pulls") == 0 and lake.count("files") == 1


def test_ingest_git_url_error_never_shows_the_token(lake):
    token = "ghp_" + "A1b2C3d4" * 5
    with pytest.raises(GitIngestError) as info:
        ingest_repo(lake, f"https://user:{token}@127.0.0.1:9/owner/repo.git", progress=False)
    assert token not in str(info.value) and "127.0.0.1:9/owner/repo.git" in str(info.value)
