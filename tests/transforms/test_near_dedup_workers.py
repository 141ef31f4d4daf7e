"""Near dedup as K workers on one shared lake (`python -m transforms near-dedup --worker I/K`, then `--finish K`):
two worker processes give exactly the clusters of one process, the next `transforms run` skips near dedup until
an input changes; a missing share is a one-line error."""
from __future__ import annotations

import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from ingest.git import ingest_repo
from lake import Lake
from tests.helpers.gitrepos import build_repo
from transforms.pipeline import run

pytestmark = pytest.mark.slow  # worker processes on a real lake

ROOT = Path(__file__).resolve().parents[2]
GOSRC = ROOT / ".venv/lib/python3.11/site-packages/go/src"


def _edited(text: str, rng: random.Random) -> str:
    """About 3% of the lines replaced: a near duplicate (Jaccard well above 0.7) for files of some length."""
    lines = text.split("\n")
    for i in rng.sample(range(len(lines)), max(1, len(lines) // 33)):
        lines[i] = f"var edit{rng.randrange(1 << 30)} = {rng.randrange(1 << 30)}"
    return "\n".join(lines)


def _cli(lake: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "transforms", "near-dedup", "--lake", str(lake), *args], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=300)


def _clusters(lake: Lake) -> list[tuple]:
    return [tuple(r.values()) for r in lake.query(
        "SELECT repo_id, path, cluster_id, cluster_size, is_representative FROM near_dup_clusters "
        "ORDER BY repo_id, path").to_pylist()]


@pytest.fixture(scope="module")
def shared_lake(tmp_path_factory):
    """Three repositories of real Go files: one original, two edited copies of part of it, plus unrelated files."""
    root = tmp_path_factory.mktemp("workers")
    rng = random.Random(7)
    originals = {p.name: p.read_text() for p in sorted((GOSRC / "strings").glob("*.go"))[:16]}
    others = {p.name: p.read_text() for p in sorted((GOSRC / "sort").glob("*.go"))[:6]}
    repos = {"acme/orig": originals,
             "zed/copy": {n: _edited(t, rng) for n, t in list(originals.items())[:10]} | others,
             "bob/copy": {n: _edited(t, rng) for n, t in list(originals.items())[4:14]}}
    with Lake(root / "lake") as lake:
        for name, files in repos.items():
            repo = build_repo(root / name.replace("/", "_"), files)
            ingest_repo(lake, repo.path, name=name, license="MIT", progress=False)
        run(lake, before="near_dedup")
        yield root / "lake"


def test_two_worker_processes_give_the_clusters_of_one(shared_lake):
    workers = [subprocess.Popen([sys.executable, "-m", "transforms", "near-dedup", "--lake", str(shared_lake),
                                 "--worker", f"{i}/2", "--workers", "1"], cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for i in (1, 2)]
    outs = [w.communicate(timeout=300) for w in workers]
    assert [w.returncode for w in workers] == [0, 0], outs
    finished = _cli(shared_lake, "--finish", "2")
    assert finished.returncode == 0, finished.stderr
    with Lake(shared_lake) as lake:
        shares = lake.query("SELECT share, signed, documents FROM near_dup_shares WHERE shares = 2 ORDER BY share").to_pylist()
        assert [s["share"] for s in shares] == [1, 2] and all(s["signed"] > 0 for s in shares)
        assert sum(s["signed"] for s in shares) == shares[0]["documents"]  # disjoint shares covering every document
        two = _clusters(lake)
        after = {r.name: r.action for r in run(lake)}  # the rest of the pipeline: near_dedup is up to date
        assert after["near_dedup"] == "skipped" and after["documents"] == "ran", after
        assert _clusters(lake) == two
        run(lake, only="near_dedup")  # one process, every document
        one = _clusters(lake)
        # an input changed (one more repository): the next run does near dedup again, and sees the new file
        extra = build_repo(shared_lake.parent / "late", {"late.go": (GOSRC / "sort/sort.go").read_text()})
        ingest_repo(lake, extra.path, name="late/comer", license="MIT", progress=False)
        again = {r.name: r.action for r in run(lake)}
        assert again["near_dedup"] == "ran", again
        assert ("late/comer", "late.go") in {c[:2] for c in _clusters(lake)}
    assert two == one
    assert sum(not c[4] for c in one) >= 10  # the edited copies were found, so the comparison means something


def test_finishing_with_a_share_missing_is_a_one_line_error_naming_it(shared_lake):
    assert _cli(shared_lake, "--worker", "2/3", "--workers", "1").returncode == 0
    got = _cli(shared_lake, "--finish", "3")
    err = got.stderr.strip()
    assert got.returncode == 2 and "\n" not in err and "1/3, 3/3" in err and "2/3," not in err, err


def test_a_bad_worker_spec_is_a_usage_error(shared_lake):
    got = _cli(shared_lake, "--worker", "3/2")
    assert got.returncode == 2 and "--worker '3/2'" in got.stderr
