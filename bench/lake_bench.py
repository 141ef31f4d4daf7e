"""Lake write/read figures next to plain DuckDB Hive-partitioned Parquet, in the same run.

    .venv/bin/python bench/lake_bench.py [--rows 1000000] [--partitions 1000]

Writes N rows of `files` across P repositories (partitions) through `Lake.write` (one DuckLake commit),
then an aggregate query and a point lookup by partition; the baseline is `COPY ... (PARTITION_BY repo_id)`
to Hive Parquet and the same two queries over `read_parquet(..., hive_partitioning=true)`.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from lake import Lake  # noqa: E402
from lake.catalog import table  # noqa: E402


def source_sql(rows: int, partitions: int) -> str:
    exprs = {
        "repo_id": f"'repo' || lpad((range % {partitions})::VARCHAR, 5, '0')",
        "path": "'pkg/' || (range // 7)::VARCHAR || '/f' || range::VARCHAR || '.go'",
        "size": "(range * 37) % 9000",
        "content": "'package p // ' || range::VARCHAR",
        "language": "'Go'",
    }
    cols = []
    for c in table("files").columns:
        cols.append(f"{exprs.get(c.name, 'false' if c.type == 'BOOLEAN' else chr(39) * 2)} AS {c.name}")
    return f"SELECT {', '.join(cols)} FROM range({rows})"


def timed(fn, repeat: int = 1) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


AGG = "SELECT repo_id, count(*), sum(size) FROM {src} GROUP BY repo_id ORDER BY 3 DESC, 1 LIMIT 5"
POINT = "SELECT count(*), sum(size) FROM {src} WHERE repo_id = 'repo00421'"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--partitions", type=int, default=1000)
    args = ap.parse_args()
    sql = source_sql(args.rows, args.partitions)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        lk = Lake(tmp / "lake")
        w_lake, _ = timed(lambda: lk.write("files", sql, mode="overwrite"))
        a_lake, r1 = timed(lambda: lk.con.execute(AGG.format(src="files")).fetchall(), 5)
        p_lake, r2 = timed(lambda: lk.con.execute(POINT.format(src="files")).fetchall(), 5)
        n_files = len(list((tmp / "lake" / "files").rglob("*.parquet")))

        con = duckdb.connect()
        hive = tmp / "hive"
        w_hive, _ = timed(lambda: con.execute(f"COPY ({sql}) TO '{hive}' (FORMAT parquet, PARTITION_BY (repo_id))"))
        src = f"read_parquet('{hive}/**/*.parquet', hive_partitioning = true)"
        a_hive, h1 = timed(lambda: con.execute(AGG.format(src=src)).fetchall(), 5)
        p_hive, h2 = timed(lambda: con.execute(POINT.format(src=src)).fetchall(), 5)
        assert r1 == h1 and r2 == h2, f"lake and Hive Parquet disagree: {r1} {h1} {r2} {h2}"

    print(f"rows={args.rows:,} partitions={args.partitions:,} lake data files={n_files:,}")
    print(f"{'':24}{'lake (DuckLake)':>18}{'DuckDB COPY hive':>18}{'ratio lake/hive':>18}")
    rate = lambda s: f"{args.rows / s / 1e3:,.0f} krows/s"
    print(f"{'write':24}{rate(w_lake):>18}{rate(w_hive):>18}{w_hive / w_lake:>17.2f}x")
    ms = lambda s: f"{s * 1e3:,.1f} ms"
    print(f"{'aggregate (group by)':24}{ms(a_lake):>18}{ms(a_hive):>18}{a_hive / a_lake:>17.2f}x")
    print(f"{'point lookup (1 part.)':24}{ms(p_lake):>18}{ms(p_hive):>18}{p_hive / p_lake:>17.2f}x")
    print("(ratio > 1 means the lake is faster; write ratio is throughput lake / hive)")


if __name__ == "__main__":
    main()
