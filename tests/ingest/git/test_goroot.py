"""goroot: a Go distribution folder split into golang/go plus one repository per vendored module@version."""
from pathlib import Path

import pytest

from ingest.git import ingest_goroot
from ingest.git.goroot import find_goroot, parse_modules_txt

BSD3 = (find_goroot() / "src/vendor/golang.org/x/net/LICENSE").read_text()
APACHE = (find_goroot() / "src/cmd/vendor/github.com/google/pprof/LICENSE").read_text()


def _write(root: Path, files: dict) -> None:
    for path, text in files.items():
        p = root / path
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)


@pytest.fixture
def fake_goroot(tmp_path):
    root = tmp_path / "go"
    _write(root, {
        "VERSION": "go1.99.0\ntime 2026-01-02T03:04:05Z\n",
        "bin/go": "not source",
        "pkg/tool/x": "build output",
        "src/go.mod": "module std\n",
        "src/fmt/print.go": "package fmt\n",
        "src/vendor/modules.txt": "# golang.org/x/sys v0.1.0\n## explicit\ngolang.org/x/sys/cpu\n"
                                  "# example.com/apache v1.0.0\nexample.com/apache\n",
        "src/vendor/golang.org/x/sys/LICENSE": BSD3,
        "src/vendor/golang.org/x/sys/cpu/cpu.go": "package cpu\n",
        "src/vendor/example.com/apache/LICENSE": APACHE,
        "src/vendor/example.com/apache/a.go": "package apache\n",
        "src/cmd/vendor/modules.txt": "# golang.org/x/sys v0.1.0\ngolang.org/x/sys/unix\n"
                                      "# golang.org/x/tools v0.2.0\n",
        "src/cmd/vendor/golang.org/x/sys/LICENSE": BSD3,
        "src/cmd/vendor/golang.org/x/sys/unix/unix.go": "package unix\n",
        "src/cmd/vendor/golang.org/x/tools/LICENSE": BSD3,
        "src/cmd/vendor/golang.org/x/tools/go/t.go": "package tools\n",
        "src/cmd/old/vendor/modules.txt": "# golang.org/x/tools v0.1.0\n",
        "src/cmd/old/vendor/golang.org/x/tools/LICENSE": BSD3,
        "src/cmd/old/vendor/golang.org/x/tools/go/t.go": "package tools // old\n",
    })
    return root


def test_ingest_git_goroot_parse_modules_txt():
    text = "# golang.org/x/a v1.0.0\n## explicit; go 1.22\ngolang.org/x/a/b\n# example.com/r v0.1.0 => ./local\n"
    assert parse_modules_txt(text) == [("golang.org/x/a", "v1.0.0"), ("example.com/r", "v0.1.0")]


def test_ingest_git_goroot_splits_go_and_vendored_modules(lake, fake_goroot):
    results = ingest_goroot(lake, fake_goroot, progress=False)
    ids = [r.repo_id for r in results]
    assert ids == ["golang/go", "example.com/apache@v1.0.0", "golang.org/x/sys@v0.1.0",
                   "golang.org/x/tools@v0.1.0", "golang.org/x/tools@v0.2.0"]
    repos = {r["repo_id"]: r for r in lake.query("SELECT * FROM repos").to_pylist()}
    go = repos["golang/go"]
    assert (go["name"], go["version"], go["license"]) == ("golang/go", "", "BSD-3-Clause")
    assert go["license_evidence"].startswith("declared:")
    assert repos["example.com/apache@v1.0.0"]["license"] == "Apache-2.0"
    sys_ = repos["golang.org/x/sys@v0.1.0"]
    assert (sys_["name"], sys_["version"], sys_["license"], sys_["license_evidence"]) == (
        "golang.org/x/sys", "v0.1.0", "BSD-3-Clause", "LICENSE")
    assert sys_["go_module"] == "golang.org/x/sys"
    files = {}
    for r in lake.query("SELECT repo_id, path FROM files").to_pylist():
        files.setdefault(r["repo_id"], set()).add(r["path"])
    assert files["golang/go"] == {"VERSION", "src/go.mod", "src/fmt/print.go"}  # no vendor, no bin/pkg
    assert files["golang.org/x/sys@v0.1.0"] == {"LICENSE", "cpu/cpu.go", "unix/unix.go"}  # one repo, both copies
    assert files["golang.org/x/tools@v0.1.0"] == files["golang.org/x/tools@v0.2.0"] == {"LICENSE", "go/t.go"}


def test_ingest_git_goroot_rerun_is_a_no_op(lake, fake_goroot):
    ingest_goroot(lake, fake_goroot, progress=False)
    snap = lake.snapshot()
    again = ingest_goroot(lake, fake_goroot, progress=False)
    assert {r.status for r in again} == {"unchanged"} and lake.snapshot() == snap


def test_ingest_git_goroot_leaves_the_distribution_untouched(lake, fake_goroot):
    before = sorted(str(p) for p in fake_goroot.rglob("*"))
    ingest_goroot(lake, fake_goroot, progress=False)
    assert sorted(str(p) for p in fake_goroot.rglob("*")) == before
    assert (lake.artifacts("git") / "goroot" / "golang_go.git" / "HEAD").exists()


@pytest.mark.slow
def test_ingest_git_goroot_real_distribution_gives_15_licensed_repositories(lake):
    ingest_goroot(lake, progress=False)
    rows = lake.query("SELECT r.repo_id, r.license, count(*) AS n FROM repos r JOIN files f USING (repo_id) "
                      "GROUP BY ALL").to_pylist()
    assert len(rows) >= 15
    assert all(r["license"] in ("BSD-3-Clause", "Apache-2.0") and r["n"] > 0 for r in rows)
    go_files = lake.query("SELECT count(*) AS n FROM files WHERE path LIKE '%.go'").to_pylist()[0]["n"]
    assert go_files > 8000
    assert lake.query("SELECT count(*) AS n FROM files WHERE repo_id = 'golang/go' AND path LIKE '%/vendor/%' "
                      "AND path LIKE 'src/%vendor/modules.txt'").to_pylist()[0]["n"] == 0


def test_ingest_git_goroot_sources_are_inside_the_lake_so_a_moved_lake_reruns_unchanged(tmp_path, fake_goroot):
    import shutil
    from lake import Lake
    with Lake(tmp_path / "a") as lk:
        ingest_goroot(lk, fake_goroot, progress=False)
        sources = lk.query("SELECT source FROM repos").column(0).to_pylist()
    assert len(sources) == 5 and all(s.startswith("lake:artifacts/git/goroot/") for s in sources)
    shutil.move(tmp_path / "a", tmp_path / "b")
    with Lake(tmp_path / "b") as lk:
        assert {r.status for r in ingest_goroot(lk, fake_goroot, progress=False)} == {"unchanged"}
