"""Repositories/s of `python -m ingest git --worker I/K` with K = 1, 2 and 4 workers on one lake.

    .venv/bin/python bench/ingest_scale.py [--repos 24] [--commits 40]

The repositories are built locally with pygit2 (tests/helpers/gitrepos.py): no network. Each K runs on a fresh
lake (SQLite catalog), all K workers at once, timed from start to the last one's exit.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lake import Lake  # noqa: E402
from tests.helpers.gitrepos import build_repo, commit  # noqa: E402


def build(root: Path, n: int, commits: int) -> list[str]:
    out = []
    for r in range(n):
        repo = build_repo(root / f"r{r}", {"go.mod": f"module example.com/r{r}\n", "LICENSE": "MIT License\n"},
                          bare=True)
        for c in range(commits):
            body = "\n".join(f"func F{c}_{k}() int {{ return {c * k} }}" for k in range(20))
            commit(repo, {f"p{c % 7}/f{c}.go": f"package p\n\n{body}\n"}, f"Add F{c} helpers")
        out.append(repo.path)
    return out


def run(lake: Path, listing: Path, k: int) -> float:
    Lake(lake).close()
    t = time.perf_counter()
    procs = [subprocess.Popen([sys.executable, "-m", "ingest", "git", "--from-list", str(listing), "--lake", str(lake),
                               "--quiet", "--license", "MIT", "--worker", f"{i}/{k}"], cwd=ROOT,
                              stdout=subprocess.DEVNULL) for i in range(1, k + 1)]
    codes = [p.wait() for p in procs]
    elapsed = time.perf_counter() - t
    assert codes == [0] * k, codes
    return elapsed


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repos", type=int, default=24)
    ap.add_argument("--commits", type=int, default=40)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        listing = tmp / "repos.txt"
        listing.write_text("\n".join(build(tmp / "src", args.repos, args.commits)) + "\n")
        base = None
        print(f"{'workers':>8}{'seconds':>10}{'repos/s':>10}{'speed-up':>10}")
        for k in (1, 2, 4):
            s = run(tmp / f"lake{k}", listing, k)
            base = base or s
            with Lake(tmp / f"lake{k}") as lk:
                assert lk.count("repos") == args.repos
            print(f"{k:>8}{s:>10.1f}{args.repos / s:>10.2f}{base / s:>9.2f}x")


if __name__ == "__main__":
    main()
