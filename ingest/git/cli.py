"""python -m ingest git SRC... | python -m ingest goroot: parse, call ingest_repo / ingest_goroot, print."""
from __future__ import annotations

import argparse
import sys

from tqdm import tqdm

from lake import Lake, LakeError
from ingest.git.errors import GitIngestError
from ingest.git.repository import IngestResult, ingest_repo
from ingest.git.source import redact
from ingest.workers import Worker, WorkerSpecError


def _parser(command: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=f"python -m ingest {command}")
    p.add_argument("--lake", default=None, help="lake folder (default $REPO_LLM_LAKE or ./data)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    if command == "git":
        p.add_argument("sources", nargs="*", metavar="SRC", help="local repository (bare or not) or URL")
        p.add_argument("--from-list", metavar="FILE", help="more SRCs, one per line ('#' starts a comment)")
        p.add_argument("--worker", metavar="I/N", help="take only this worker's share of the SRCs (see ingest/workers.py)")
        p.add_argument("--name", default=None, help="repository name (owner/name) when there is one SRC")
        p.add_argument("--license", default=None, metavar="SPDX", help="declared licence, overrides detection")
        p.add_argument("--fetch-prs", action="store_true", help="also fetch refs/pull/*/head from a URL")
        p.add_argument("--max-commits", type=int, default=None, metavar="N", help="newest N commits only")
    else:
        p.add_argument("--goroot", default=None, help="a Go distribution folder (default: `go env GOROOT`)")
    return p


def _sources(args: argparse.Namespace) -> list[str]:
    sources = list(args.sources)
    if args.from_list:
        with open(args.from_list) as f:
            sources += [ln.split("#", 1)[0].strip() for ln in f if ln.split("#", 1)[0].strip()]
    if not sources:
        raise WorkerSpecError("no SRC given (name repositories or --from-list FILE)")
    if args.name and len(sources) > 1:  # before the split: with --name every source would hash alike
        raise WorkerSpecError("--name needs exactly one SRC")
    worker = Worker.parse(args.worker)
    return list(worker.take(sources, key=lambda s: args.name or redact(s)))


def _line(r: IngestResult) -> str:
    if r.status == "unchanged":
        return f"{r.repo_id}: unchanged at {r.head_commit[:12]}"
    c = r.counts
    return (f"{r.repo_id}: {c['files']} files, {c['commits_new']} new commits ({c['commits_total']} total), "
            f"{c['pulls']} pull requests, {c['errors']} errors, licence {r.license}")


def main(argv: list[str]) -> int:
    command, rest = argv[0], argv[1:]
    args = _parser(command).parse_args(rest)
    try:
        lake = Lake(args.lake)
    except LakeError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    failed = 0
    try:
        if command == "goroot":
            from ingest.git.goroot import ingest_goroot
            with lake.run("ingest goroot", {"goroot": args.goroot}) as run:
                results = ingest_goroot(lake, args.goroot, run_id=run.run_id, progress=not args.quiet)
                run.rows = sum(r.counts.get("files", 0) for r in results)
                run.stats = {r.repo_id: r.status for r in results}
            for r in results:
                print(_line(r))
            return 0
        try:
            args.sources = _sources(args)
        except (OSError, WorkerSpecError) as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
        shown = [redact(s) for s in args.sources]
        with lake.run("ingest git", {"sources": shown, "license": args.license, "fetch_prs": args.fetch_prs,
                                     "max_commits": args.max_commits, "worker": args.worker}) as run:
            for src, name in zip(tqdm(args.sources, desc="repositories", unit=" repos", disable=args.quiet), shown):
                try:
                    r = ingest_repo(lake, src, name=args.name, license=args.license, fetch_prs=args.fetch_prs,
                                    max_commits=args.max_commits, run_id=run.run_id, progress=not args.quiet)
                except GitIngestError as e:
                    failed += 1
                    run.stats[name] = "failed"
                    tqdm.write(f"error: {e}", file=sys.stderr)
                    continue
                run.rows += r.counts.get("files", 0)
                run.stats[r.repo_id] = r.status
                tqdm.write(_line(r))
    except (GitIngestError, LakeError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    finally:
        lake.close()
    return 2 if failed else 0
