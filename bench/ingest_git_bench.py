"""ingest.git throughput on a real repository, next to the git CLI on the same repository in the same run.

    .venv/bin/python bench/ingest_git_bench.py PATH_TO_REPO [--max-commits N] [--repeat R]

HEAD: every blob at HEAD read and written to the lake (files + trees, Parquet), in MB/s, against
`git cat-file --batch` reading the same blobs. History: commits with their bounded diffs written to the
lake, in commits/s, against `git log -p --diff-merges=first-parent` over the same commits.
Targets: HEAD >= 0.8x cat-file, history >= 0.5x `git log -p`. Best of R runs each.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pygit2

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lake import Lake, Write  # noqa: E402
from ingest.git import history  # noqa: E402
from ingest.git.config import IngestConfig  # noqa: E402
from ingest.git.head import HeadReader  # noqa: E402
from ingest.git.repository import commits_stream  # noqa: E402
from lake.arrow import schema, to_arrow  # noqa: E402


def _best(fn, repeat: int):
    best = None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        dt = time.perf_counter() - t
        best = (dt, out) if best is None or dt < best[0] else best
    return best


def git_cat_file(repo: str) -> int:
    listing = subprocess.run(["git", "-C", repo, "ls-tree", "-r", "HEAD"], check=True, capture_output=True,
                             text=True).stdout
    ids = "".join(line.split()[2] + "\n" for line in listing.splitlines() if line.split()[1] == "blob")
    out = subprocess.run(["git", "-C", repo, "cat-file", "--batch"], input=ids.encode(), check=True,
                         capture_output=True).stdout
    return len(out)


def git_log_p(repo: str, n: int) -> int:
    out = subprocess.run(["git", "-C", repo, "log", "-p", "--diff-merges=first-parent", f"-n{n}",
                          "--format=@@commit %H"], check=True, capture_output=True).stdout
    return out.count(b"\n@@commit ") + out.startswith(b"@@commit ")


def ours_head(repo: pygit2.Repository, lake: Lake, cfg: IngestConfig) -> int:
    """As ingest_repo does it: files streamed into the lake commit while HEAD is read, then trees."""
    reader = HeadReader(repo, "bench", repo.head.peel(pygit2.Commit), cfg)
    scope = [{"repo_id": "bench"}]
    files = reader.files_stream()

    def trees_after_files():  # pulled by DuckDB once the files stream is exhausted
        yield from to_arrow("trees", reader.snap.trees).to_batches()

    trees = pa.RecordBatchReader.from_batches(schema("trees"), trees_after_files())
    lake.commit([Write("files", files, "scope", scope=scope), Write("trees", trees, "scope", scope=scope)])
    return reader.snap.bytes_read


def empty_commit(lake: Lake) -> int:
    """The lake's fixed cost per repository: one commit replacing nothing with nothing in files and trees."""
    scope = [{"repo_id": "bench-empty"}]
    lake.commit([Write("files", to_arrow("files", []), "scope", scope=scope),
                 Write("trees", to_arrow("trees", []), "scope", scope=scope)])
    return 0


def ours_history(repo: pygit2.Repository, lake: Lake, cfg: IngestConfig, n: int) -> int:
    order = history.walk(repo, repo.head.peel(pygit2.Commit).id).order[:n]
    errors: list = []
    stream = commits_stream(repo, "bench", order, cfg, errors, False)
    lake.commit([Write("commits", stream, "scope", scope=[{"repo_id": "bench"}])])
    return len(order)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("repo")
    ap.add_argument("--max-commits", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    # read every blob, as cat-file does; diffs bounded as in a normal run
    cfg = IngestConfig(max_content_bytes=1 << 40)
    # the lake is opened once, outside the timings (the git baselines have no setup either)
    with tempfile.TemporaryDirectory(prefix="ingest-git-bench-") as tmp, Lake(Path(tmp) / "lake") as lake:
        t_cat, cat_bytes = _best(lambda: git_cat_file(args.repo), args.repeat)
        # a fresh Repository each time: libgit2's object cache must not carry one run's reads into the next
        t_head, head_bytes = _best(lambda: ours_head(pygit2.Repository(args.repo), lake, cfg), args.repeat)
        t_fixed, _ = _best(lambda: empty_commit(lake), args.repeat)
        t_log, log_n = _best(lambda: git_log_p(args.repo, args.max_commits), args.repeat)
        t_hist, hist_n = _best(lambda: ours_history(pygit2.Repository(args.repo), lake, cfg, args.max_commits),
                                args.repeat)
    mb = 1 << 20
    cat_rate, head_rate = cat_bytes / mb / t_cat, head_bytes / mb / t_head
    log_rate, hist_rate = log_n / t_log, hist_n / t_hist
    print(f"repository: {args.repo}")
    print(f"HEAD    git cat-file --batch : {cat_bytes / mb:8.1f} MB in {t_cat:6.2f}s = {cat_rate:8.1f} MB/s")
    print(f"HEAD    ingest.git + Parquet : {head_bytes / mb:8.1f} MB in {t_head:6.2f}s = {head_rate:8.1f} MB/s"
          f"   ratio {head_rate / cat_rate:.2f}x (target >= 0.8x)")
    marginal = head_bytes / mb / max(t_head - t_fixed, 1e-9)
    print(f"        lake commit fixed cost: {t_fixed * 1000:6.1f} ms per repository; without it "
          f"{marginal:8.1f} MB/s = {marginal / cat_rate:.2f}x (what a small HEAD is dominated by)")
    print(f"history git log -p           : {log_n:8d} commits in {t_log:6.2f}s = {log_rate:8.1f} commits/s")
    print(f"history ingest.git + Parquet : {hist_n:8d} commits in {t_hist:6.2f}s = {hist_rate:8.1f} commits/s"
          f"   ratio {hist_rate / log_rate:.2f}x (target >= 0.5x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
