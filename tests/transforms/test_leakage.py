"""No leakage between splits, on real output: forks grouped by the root commit git has (whatever --max-commits),
no commit, PR or listing of a held-out repository carrying a near duplicate of a file another split has, no
held-out commit whose patch a train commit also has; and the audit fires on each when it is there."""
from __future__ import annotations

import hashlib

import pygit2
import pytest

from ingest.git import ingest_repo
from lake import Lake
from tests.helpers.gitrepos import build_repo, commit
from tests.helpers.go_source import go_source
from artifacts import grammar
from transforms.audit import audit
from transforms.config import TransformConfig
from transforms.pipeline import run


def _split(name: str) -> str:
    """The documented split rule, computed here apart from sql/repo_splits.sql."""
    cfg = TransformConfig()
    bucket = int(hashlib.md5(f"{cfg.split_salt}:{name}".encode()).hexdigest()[:8], 16) % 100
    return "test" if bucket < cfg.test_percent else "val" if bucket < cfg.test_percent + cfg.val_percent else "train"


def _named(prefix: str, held_out: bool) -> str:
    return next(n for n in (f"{prefix}{i}" for i in range(1000)) if (_split(n) != "train") == held_out)


def _calc(pkg: str, names: list[str]) -> str:
    funcs = "".join(f"// {n} scales v by {i + 2}.\nfunc {n}(v float64) float64 {{\n\treturn v * {i + 2}.5\n}}\n\n"
                    for i, n in enumerate(names))
    return f"package {pkg}\n\n{funcs}// Inc adds one.\nfunc Inc(x int) int {{\n\treturn x\n}}\n"


PATCHED = ("\treturn x\n}\n", "\treturn x + 1\n}\n")  # the same fix, cherry-picked into another repository


@pytest.fixture(scope="module")
def leaky(tmp_path_factory):
    root = tmp_path_factory.mktemp("leaky")
    train, held, fork_name = _named("acme/lib", False), _named("beta/lib", True), _named("zed/lib", True)
    t_calc, h_calc = _calc("calc", ["Double", "Triple", "Quad"]), _calc("calc2", ["Half", "Third", "Fifth", "Sixth"])
    t = build_repo(root / "t", {"lib.go": go_source("lib"), "calc.go": t_calc})
    commit(t, {"calc.go": t_calc.replace(*PATCHED)}, "calc: make Inc add one")
    fork = pygit2.clone_repository(str(t.path), str(root / "fork"), bare=True)
    commit(fork, {"extra.go": "package lib\n\n// Extra is only in the fork.\nfunc Extra() int { return 7 }\n"},
           "lib: add Extra to the fork")
    near = go_source("lib", tweak="// Answer is new here.\nfunc Answer() int { return 42 }\n")
    h = build_repo(root / "h", {"lib.go": near, "calc2.go": h_calc, "own.go": "package own\n\nvar n = 1\n"})
    commit(h, {"lib.go": near.replace("return 42", "return 43")}, "lib: change the answer")  # touches the near copy
    commit(h, {"calc2.go": h_calc.replace(*PATCHED)}, "calc2: make Inc add one")            # the cherry-pick
    commit(h, {"own.go": "package own\n\nvar n = 2\n"}, "own: bump n")                     # its own change
    with Lake(root / "lake") as lake:
        ingest_repo(lake, t.path, name=train, license="MIT", progress=False)
        # MPL-2.0 ranks after MIT whatever the recency: the train repository keeps the copies and leads its forks
        ingest_repo(lake, fork.path, name=fork_name, license="MPL-2.0", progress=False, max_commits=1)
        ingest_repo(lake, h.path, name=held, license="MPL-2.0", progress=False)
        run(lake)
        yield lake, train, held, fork_name


def q(lake, sql, params=None):
    return lake.query(sql, params).to_pylist()


def test_a_fork_read_with_max_commits_1_is_still_grouped_with_its_source(leaky):
    lake, train, _, fork_name = leaky
    assert q(lake, "SELECT count(*) AS n FROM commits WHERE repo_id = ? AND len(parents) = 0", [fork_name])[0]["n"] == 0
    repos = {r["repo_id"]: r for r in q(lake, "SELECT repo_id, fork_of FROM clean_repos")}
    assert repos[fork_name]["fork_of"] == repos[train]["fork_of"]
    splits = {r["repo_id"]: r["split"] for r in q(lake, "SELECT repo_id, split FROM repo_splits")}
    assert splits[fork_name] == splits[train] == "train" and _split(fork_name) != "train"


def test_held_out_changes_that_would_leak_are_left_out_and_the_rest_kept(leaky):
    lake, train, held, _ = leaky
    subjects = {(r["repo_id"], r["text"].split("\n")[2]) for r in q(
        lake, "SELECT repo_id, text FROM samples WHERE source_table = 'commits'")}
    assert (held, "own: bump n") in subjects                       # not every held-out commit goes
    assert (held, "lib: change the answer") not in subjects        # it changes a near copy of a train file
    assert (held, "calc2: make Inc add one") not in subjects       # its patch is a train commit's
    assert (train, "calc: make Inc add one") in subjects           # the train copy stays
    listing = q(lake, "SELECT text FROM samples WHERE source_table = 'trees' AND repo_id = ?", [held])[0]["text"]
    assert "\nown.go\n" in listing and "\nlib.go\n" not in listing
    assert audit(lake) == []


def test_the_audit_fires_on_each_leak_put_back(leaky):
    lake, _, held, _ = leaky
    split = q(lake, "SELECT split FROM repo_splits WHERE repo_id = ?", [held])[0]["split"]
    base = q(lake, "SELECT * FROM samples WHERE repo_id = ? AND source_table = 'commits'", [held])[0]
    leaks = []
    for c in q(lake, "SELECT commit_id, message, changes, diff FROM commits WHERE repo_id = ? AND "
                     "(starts_with(message, 'lib: change') OR starts_with(message, 'calc2: '))", [held]):
        text = grammar.render_commit(held, c["message"], [x["path"] for x in c["changes"]], c["diff"])
        leaks.append(dict(base, sample_id="leak-" + c["commit_id"][:8], split=split, text=text, commit=c["commit_id"],
                          bytes=len(text.encode())))
    assert len(leaks) == 2
    lake.write("samples", leaks, mode="append")
    try:
        found = audit(lake)
        assert any(f.startswith("near-duplicate cluster in two splits:") and "leak-" in f for f in found), found
        assert any(f.startswith("identical patch in train and held out:") and "leak-" in f for f in found), found
    finally:
        lake.con.execute("DELETE FROM samples WHERE sample_id LIKE 'leak-%'")


def test_the_audit_fires_on_a_held_out_sft_pair_touching_a_train_cluster(leaky):
    """An SFT pair is a change like a commit sample: a held-out commit-message pair for the commit that edits the
    near copy of a train file touches that cluster from a second split, and the audit names the pair."""
    lake, _, held, _ = leaky
    split = q(lake, "SELECT split FROM repo_splits WHERE repo_id = ?", [held])[0]["split"]
    c = q(lake, "SELECT commit_id, message, changes, diff FROM commits WHERE repo_id = ? AND "
                "starts_with(message, 'lib: change')", [held])[0]
    base = q(lake, "SELECT * FROM samples WHERE repo_id = ? AND source_table = 'commits'", [held])[0]
    columns = [r["column_name"] for r in q(lake, "SELECT column_name FROM (DESCRIBE sft_pairs)")]
    prompt = grammar.render_commit(held, "", [x["path"] for x in c["changes"]], c["diff"])
    pair = {k: base.get(k) for k in columns} | dict(
        pair_id="leak-sft-" + c["commit_id"][:8], kind=grammar.PAIR_KINDS[0], split=split, prompt=prompt,
        response=c["message"], commit=c["commit_id"], source_table="commits", repo_id=held)
    assert audit(lake) == []
    lake.write("sft_pairs", [pair], mode="append")
    try:
        found = audit(lake)
        assert any(f.startswith("near-duplicate cluster in two splits:") and "sft leak-sft" in f for f in found), found
    finally:
        lake.con.execute("DELETE FROM sft_pairs WHERE pair_id LIKE 'leak-sft-%'")
