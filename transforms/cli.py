"""python -m transforms run [--only MODEL] [--dry-run] [--force] | funnel | audit  [--lake DIR]"""
from __future__ import annotations

import argparse
import sys

from transforms.audit import audit
from transforms.funnel import format_funnel, funnel
from transforms.pipeline import run
from lake.options import add_lake_options, open_lake


def parser(command: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=f"python -m transforms {command}")
    add_lake_options(p)
    if command == "run":
        p.add_argument("--only", metavar="MODEL", help="run one step or SQL model (even if up to date)")
        p.add_argument("--dry-run", action="store_true", help="say what would run or be skipped, change nothing")
        p.add_argument("--force", action="store_true", help="run every step, changed or not")
        p.add_argument("--before", metavar="STEP", help="run only the steps before STEP (e.g. near_dedup)")
    return p


def main(argv: list[str]) -> int:
    command, rest = argv[0], argv[1:]
    args = parser(command).parse_args(rest)
    with open_lake(args, create=False) as lake:  # a missing lake is an error, not a new empty one
        lake.ensure_tables()
        if command == "run":
            run(lake, only=args.only, dry_run=args.dry_run, force=args.force, echo=print, before=args.before)
            return 0
        if command == "funnel":
            print(format_funnel(*funnel(lake)))
            return 0
        offenders = audit(lake)
        for line in offenders:
            print(line)
        if offenders:
            print(f"audit failed: {len(offenders)} offender(s)", file=sys.stderr)
            return 1
        print("audit passed: licences allowed, no repository, cluster or fork across splits, no secret")
        return 0
