"""Near-dedup step memory at 1x and 8x of a corpus: peak RSS must stay flat (bounded by the batch).

    .venv/bin/python bench/dedup_scale_bench.py [--files N] [--scale 8] [--goroot DIR]

The corpus: the first N Go files of GOROOT (1x), and the same repeated `scale` times, each copy with about
2% of its lines replaced at random (8x: every file has near duplicates, so candidates and verification grow
with it too). Each copy is stored as repositories of 125 files, as a real corpus is many repositories: DuckDB
reads one Parquet row group (one repository's files) per thread, so a single-repository 1x would keep one
thread's row group in memory where every larger corpus keeps one per thread. Each corpus goes into a fresh lake as `files` (one process); then `transforms.near_dedup.run`
(signatures into near_dup_bands, candidates by DuckDB, exact verification of re-read texts) runs in a
second process that reports its own peak RSS. Prints both peaks and the ratio (target: within 20%).
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_GOROOT = ROOT / ".venv/lib/python3.11/site-packages/go"

BUILD = """
import random, sys
from pathlib import Path
import pyarrow as pa
from lake import Lake
from tests.helpers.lakefill import row
goroot, lake_dir, n, copies = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
REPO_FILES = 125
paths = sorted(p for p in (goroot / "src").rglob("*.go") if p.is_file())[:n]
with Lake(lake_dir) as lk:
    for c in range(copies):
        rng = random.Random(c)
        rows = []
        for p in paths:
            lines = p.read_text("utf-8", "surrogateescape").split("\\n")
            if c:
                for i in rng.sample(range(len(lines)), max(1, len(lines) // 50)):
                    lines[i] = f"var edit{rng.randrange(1 << 30)} = {rng.randrange(1 << 30)}"
            text = "\\n".join(lines)
            repo = f"copy/{c:02d}-{len(rows) // REPO_FILES:03d}"  # many repositories, as a real corpus has
            rows.append(row("files", repo_id=repo, path=p.relative_to(goroot).as_posix(), size=len(text),
                            language="Go", content=text))
        lk.write("files", pa.Table.from_pylist(rows), mode="append")
"""

STEP = """
import json, resource, sys, time
from lake import Lake
from transforms import near_dedup
from transforms.config import TransformConfig
with Lake(sys.argv[1]) as lk:
    def source(rows):
        return lk.con.cursor().execute("SELECT repo_id, path, size FROM lake.files "
                                       "ORDER BY repo_id, path").to_arrow_reader(rows)
    t0 = time.perf_counter()
    stats = near_dedup.run(lk, source, TransformConfig(), workers=int(sys.argv[2]))
    seconds = time.perf_counter() - t0
print(json.dumps({"peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "seconds": seconds,
                  **stats}))
"""


def measure(goroot: Path, files: int, copies: int, workers: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="dedup-scale-") as tmp:
        subprocess.run([sys.executable, "-c", BUILD, str(goroot), tmp, str(files), str(copies)], cwd=ROOT, check=True)
        out = subprocess.run([sys.executable, "-c", STEP, tmp, str(workers)], cwd=ROOT, check=True,
                             capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--goroot", type=Path, default=DEFAULT_GOROOT)
    ap.add_argument("--files", type=int, default=1000)
    ap.add_argument("--scale", type=int, default=8)
    ap.add_argument("--workers", type=int, default=1, help="signature worker processes (1: in the step's process)")
    args = ap.parse_args()
    results = {}
    for copies in (1, args.scale):
        t0 = time.perf_counter()
        r = measure(args.goroot, args.files, copies, args.workers)
        results[copies] = r
        print(f"{copies}x: {args.files * copies:,} files, step {r['seconds']:.1f} s, peak RSS {r['peak_rss_mb']:.0f} MB, "
              f"{r['candidate_pairs']:,} candidates, {r['similar_pairs']:,} similar, {r['dropped']:,} dropped "
              f"({time.perf_counter() - t0:.0f} s with the lake build)")
    ratio = results[args.scale]["peak_rss_mb"] / results[1]["peak_rss_mb"]
    print(f"peak RSS {args.scale}x / 1x: {ratio:.2f} (target <= 1.20)")
    return 0 if ratio <= 1.2 else 1


if __name__ == "__main__":
    sys.exit(main())
