"""python -m transforms near-dedup (--worker I/K | --finish K) [--workers N] [--lake DIR]

The near-dedup step spread over K machines sharing one lake: each `--worker I/K` signs its share of the
documents and commits its band hashes; `--finish K` (once, anywhere) finds, verifies and clusters the
candidates, and refuses while a share of the current document list is missing. Run the pipeline's steps
before near_dedup first (`python -m transforms run --before near_dedup`); `transforms run` afterwards skips
near_dedup when its output is up to date.
"""
from __future__ import annotations

import argparse

from lake.options import add_lake_options, open_lake
from lake.workers import Worker
from transforms import pipeline
from transforms.config import TransformConfig
from transforms.near_dedup import default_workers, sign_share


def _count(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a positive whole number")
    return int(text)


def parser(command: str = "near-dedup") -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=f"python -m transforms {command}", description=__doc__.split("\n\n")[1])
    add_lake_options(p)
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--worker", metavar="I/K", help="sign share I of K and commit it (lake/workers.py)")
    what.add_argument("--finish", type=_count, metavar="K", help="candidates, verification, clusters over K shares")
    p.add_argument("--workers", type=_count, default=None, help="signature processes on this machine")
    return p


def main(argv: list[str]) -> int:
    args = parser(argv[0]).parse_args(argv[1:])
    worker = Worker.parse(args.worker) if args.worker else None  # a bad I/K: one line at the edge, exit 2
    with open_lake(args, create=False) as lake:
        lake.ensure_tables()
        shares = args.finish or worker.count
        with lake.run("transforms near-dedup", {"worker": argv[1:]}) as rec:
            documents, digest = pipeline.near_dedup_documents(lake, shares)
            if worker:
                rec.rows = sign_share(lake, TransformConfig(), worker.index, shares, digest, documents,
                                      args.workers or default_workers())
                print(f"near dedup: share {worker.index}/{shares} signed {rec.rows} of {documents} documents")
            else:
                stats = pipeline.finish_near_dedup(lake, shares, documents, digest)
                rec.rows = stats["rows"]
                print(f"near dedup: {stats['rows']} documents, {stats['similar_pairs']} near-duplicate pairs, "
                      f"{stats['dropped']} dropped")
    return 0

