"""Commits/s and retries with 1, 2, 4 and 8 writer processes on the SQLite and PostgreSQL catalogs.

    .venv/bin/python bench/lake_concurrency.py [--commits 5] [--rows 200] [--no-postgres]

Each writer replaces its own repository's `files` rows `--commits` times (delete + insert in one
transaction: the case DuckLake reports as a conflict at commit, retried by lake.write).
PostgreSQL: the server from `bash .ci/services` (REPO_LLM_TEST_PG).
"""
from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _rows_sql(repo: str, n: int, marker: str) -> str:
    from lake.catalog import table
    exprs = {"repo_id": f"'{repo}'", "commit": f"'{marker}'", "path": "'f' || range::VARCHAR", "size": "1"}
    cols = [f"{exprs.get(c.name, 'false' if c.type == 'BOOLEAN' else chr(39) * 2)} AS {c.name}"
            for c in table("files").columns]
    return f"SELECT {', '.join(cols)} FROM range({n})"


def writer(spec: str, data: str, repo: str, commits: int, rows: int, start, out) -> None:
    from lake import Lake
    lk = Lake(spec, data_path=data)
    start.wait()
    retries = 0
    for i in range(commits):
        lk.write("files", _rows_sql(repo, rows, f"m{i}"))
        retries += lk.last_commit["attempts"] - 1
    out.put(retries)


def run(spec: str, data: str, procs: int, commits: int, rows: int) -> tuple[float, list[int], bool]:
    ctx = mp.get_context("spawn")
    start, out = ctx.Event(), ctx.Queue()
    ps = [ctx.Process(target=writer, args=(spec, data, f"w{procs}/{i}", commits, rows, start, out)) for i in range(procs)]
    for p in ps:
        p.start()
    time.sleep(3.0)  # let every process import and attach before the clock starts
    t = time.perf_counter()
    start.set()
    for p in ps:
        p.join()
    elapsed = time.perf_counter() - t
    retries = [out.get() for _ in ps if not out.empty()]
    from lake import Lake
    with Lake(spec, data_path=data) as lk:
        ok = lk.query(f"SELECT count(*) = {procs * rows} AS ok FROM files WHERE repo_id LIKE 'w{procs}/%'").column(0)[0].as_py()
    return elapsed, retries, ok


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--commits", type=int, default=5)
    ap.add_argument("--rows", type=int, default=200)
    ap.add_argument("--no-postgres", action="store_true")
    args = ap.parse_args()
    from lake import Lake
    catalogs = []
    with tempfile.TemporaryDirectory() as tmp:
        sqlite = str(Path(tmp) / "sqlite-lake")
        Lake(sqlite).close()
        catalogs.append(("sqlite", sqlite, None))
        if not args.no_postgres:
            from tests.helpers.pg import fresh_database
            spec = fresh_database()
            Lake(spec, data_path=str(Path(tmp) / "pg-data")).close()
            catalogs.append(("postgres", spec, str(Path(tmp) / "pg-data")))
        print(f"{'catalog':10}{'writers':>8}{'commits':>9}{'seconds':>9}{'commits/s':>11}{'retries (per writer)':>28}  ok")
        for name, spec, data in catalogs:
            for procs in (1, 2, 4, 8):
                elapsed, retries, ok = run(spec, data, procs, args.commits, args.rows)
                n = procs * args.commits
                print(f"{name:10}{procs:>8}{n:>9}{elapsed:>9.2f}{n / elapsed:>11.2f}{json.dumps(sorted(retries)):>28}  {ok}")


if __name__ == "__main__":
    main()
