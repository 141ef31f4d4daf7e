"""python -m ingest git SRC... | python -m ingest goroot: parse, call ingest_repo / ingest_goroot, print."""
from __future__ import annotations

import argparse
import sys

from tqdm import tqdm

from lake import Lake
from lake.options import add_lake_options, open_lake
from ingest.git.errors import GitIngestError, NameTakenError
from ingest.git.goroot import ingest_goroot
from ingest.git.repository import IngestResult, ingest_repo
from ingest.git.source import redact, source_name
from ingest.git.sources import Source, read_list, top_sources
from lake.workers import Worker, WorkerSpecError


def parser(command: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=f"python -m ingest {command}")
    add_lake_options(p)
    if command == "git":
        p.add_argument("sources", nargs="*", metavar="SRC", help="local repository (bare or not) or URL")
        p.add_argument("--from-list", metavar="FILE", help="more sources, 'SRC [NAME]' per line ('#' starts a comment)")
        p.add_argument("--from-top", action="store_true",
                       help="clone every non-excluded repository of github_repos (after `ingest github top`)")
        p.add_argument("--worker", metavar="I/N", help="take only this worker's share of the SRCs (see lake/workers.py)")
        p.add_argument("--name", default=None,
                       help="repository name (owner/name) when there is one SRC (default: origin remote or folder)")
        p.add_argument("--license", default=None, metavar="SPDX", help="declared licence, overrides detection")
        p.add_argument("--fetch-prs", action="store_true", help="also fetch refs/pull/*/head from a URL")
        p.add_argument("--max-commits", type=int, default=None, metavar="N", help="newest N commits only")
    else:
        p.add_argument("--goroot", default=None, help="a Go distribution folder (default: `go env GOROOT`)")
    return p


def _sources(args: argparse.Namespace, lake: Lake) -> list[Source]:
    sources = [Source(s, args.name) for s in args.sources]
    if args.from_list:
        sources += read_list(args.from_list)
    if args.from_top:
        sources += top_sources(lake)
    if not sources:
        raise WorkerSpecError("no SRC given (name repositories, --from-list FILE or --from-top)")
    if args.name and (len(sources) > 1 or not args.sources):  # before the split: with --name every source would hash alike
        raise WorkerSpecError("--name needs exactly one SRC (give names in --from-list: 'SRC NAME' per line)")
    worker = Worker.parse(args.worker)
    # split by the repository name, as `ingest github fetch` does: one worker holds every source of a name
    return list(worker.take(sources, key=lambda s: s.name or source_name(s.src)))


def _line(r: IngestResult) -> str:
    if r.status == "unchanged":
        return f"{r.repo_id}: unchanged at {r.head_commit[:12]}"
    c = r.counts
    return (f"{r.repo_id}: {c['files']} files, {c['commits_new']} new commits ({c['commits_total']} total), "
            f"{c['pulls']} pull requests, {c['errors']} errors, licence {r.license}")


def main(argv: list[str]) -> int:
    command, rest = argv[0], argv[1:]
    args = parser(command).parse_args(rest)
    lake = open_lake(args)
    refused: list[str] = []
    failed: list[str] = []
    try:
        if command == "goroot":
            with lake.run("ingest goroot", {"goroot": args.goroot}) as run:
                results = ingest_goroot(lake, args.goroot, run_id=run.run_id, progress=not args.quiet)
                run.rows = sum(r.counts.get("files", 0) for r in results)
                run.stats = {r.repo_id: r.status for r in results}
            for r in results:
                print(_line(r))
            return 0
        sources = _sources(args, lake)
        with lake.run("ingest git", {"sources": [redact(s.src) for s in sources], "from_top": args.from_top,
                                     "license": args.license, "fetch_prs": args.fetch_prs,
                                     "max_commits": args.max_commits, "worker": args.worker}) as run:
            for s in tqdm(sources, desc="repositories", unit=" repos", disable=args.quiet):
                shown = redact(s.src)
                try:
                    r = ingest_repo(lake, s.src, name=s.name, license=args.license, fetch_prs=args.fetch_prs,
                                    max_commits=args.max_commits, run_id=run.run_id, progress=not args.quiet,
                                    github_license=s.github_license)
                except GitIngestError as e:
                    (refused if isinstance(e, NameTakenError) else failed).append(shown)
                    run.stats[shown] = "refused" if isinstance(e, NameTakenError) else "failed"
                    tqdm.write(f"error: {e}", file=sys.stderr)
                    continue
                run.rows += r.counts.get("files", 0)
                run.stats[r.repo_id] = r.status
                tqdm.write(_line(r))
        if refused:
            print(f"ingest git: {len(refused)} refused, their name is in the lake from another source "
                  f"(nothing of theirs written): {', '.join(refused)}", file=sys.stderr)
        if failed:
            print(f"ingest git: {len(failed)} failed: {', '.join(failed)}", file=sys.stderr)
    finally:
        lake.close()
    return 2 if refused or failed else 0
