"""python -m ingest github {top,fetch} ...: parses arguments, reads tokens from the environment, prints.

Tokens: GITHUB_TOKENS (comma-separated; they share the work) or GITHUB_TOKEN. They are read here only,
handed to the RateLimiter, and never printed, logged or stored.

`fetch --worker I/N`: this process takes only its share of the repositories (lake.workers: a stable
hash of the repository name), so N workers on any machines against one lake collect what one process
would; they share each token's budget through github_rate_limits (ingest.github.budget).
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
from dataclasses import replace

from tqdm import tqdm

from lake import Lake
from lake.options import add_lake_options, open_lake
from lake.workers import Worker
from ingest.github import GitHubError
from ingest.github.budget import LakeBudget
from ingest.github.client import GitHubClient
from ingest.github.config import DEFAULT_API_URL, GitHubConfig
from ingest.github.etags import EtagCache
from ingest.github.fetch import RepoCollector, fetch_repositories, split_repo
from ingest.github.ratelimit import RateLimiter, preferred_token
from ingest.github.top import top_repositories

log = logging.getLogger("ingest.github")


def tokens_from_env(environ=os.environ) -> list[str]:
    raw = environ.get("GITHUB_TOKENS") or environ.get("GITHUB_TOKEN") or ""
    return [t.strip() for t in raw.split(",") if t.strip()]


def parser(command: str = "github") -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m ingest github", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--api-url", default=DEFAULT_API_URL, help="GitHub Enterprise (https://HOST/api/v3) or a test server")
    add_lake_options(common)
    top = sub.add_parser("top", parents=[common], help="the top repositories of a language by stars -> github_repos")
    top.add_argument("--language", default="Go")
    top.add_argument("--n", type=int, default=5000)
    fetch = sub.add_parser("fetch", parents=[common], help="pull requests, reviews, issues, README per repository")
    fetch.add_argument("repos", nargs="*", metavar="REPO", help="owner/name")
    fetch.add_argument("--from-top", action="store_true", help="every non-excluded repository in github_repos")
    fetch.add_argument("--patches-via-rest", action="store_true",
                       help="per-file patch text from /pulls/{n}/files (for users who do not clone)")
    fetch.add_argument("--page-size", type=int, default=None, help="PRs / issues per GraphQL page (max 100)")
    fetch.add_argument("--worker", default=None, metavar="I/N",
                       help="take only worker I's share of N (1-based); run N of them on any machines")
    return p


def _config(args) -> GitHubConfig:
    cfg = GitHubConfig(api_url=args.api_url.rstrip("/"))
    if not args.api_url.startswith(("http://", "https://")):
        raise GitHubError(f"--api-url {args.api_url!r} is not an http(s) URL")
    if getattr(args, "page_size", None) is not None:
        if not 1 <= args.page_size <= 100:
            raise GitHubError(f"--page-size must be 1..100, not {args.page_size}")
        cfg = replace(cfg, pr_page=args.page_size, issue_page=args.page_size)
    return cfg


def _client(lake: Lake, cfg: GitHubConfig, tokens: list[str], worker: Worker = Worker(1, 1)) -> GitHubClient:
    """A client whose rate limiter shares each token's budget with every other worker through the lake."""
    limiter = RateLimiter(tokens, cfg, prefer=preferred_token(worker.index, len(tokens)), shared=LakeBudget(lake))
    return GitHubClient(cfg, limiter, EtagCache.from_lake(lake))


def _save_limits(client: GitHubClient) -> None:
    client.limiter.shared.save(client.limiter.state_rows())


def run_top(args, tokens: list[str]) -> int:
    cfg = _config(args)
    if args.n <= 0:
        raise GitHubError(f"--n must be positive, not {args.n}")
    if not args.language.strip() or " " in args.language.strip():
        raise GitHubError(f"--language {args.language!r} is not a single language name")
    with open_lake(args) as lake, lake.run("ingest github top", {"language": args.language, "n": args.n,
                                                                 "api_url": cfg.api_url}) as run:
        client = _client(lake, cfg, tokens)
        with tqdm(total=args.n, desc="github top", unit="repo", file=sys.stderr) as bar:
            stats = top_repositories(lake, client, args.language, args.n, progress=bar)
        run.rows += stats["repos"]
        run.stats.update(stats, http=dict(client.stats), waits=len(client.limiter.waits))
        _save_limits(client)
    print(f"github top: {stats['repos']} repositories ({stats['excluded']} excluded for their licence) "
          f"from {stats['slices']} star slices, {stats['search_pages']} search pages")
    return 0


def run_fetch(args, tokens: list[str]) -> int:
    cfg = _config(args)
    if not tokens:
        raise GitHubError("fetch needs a token: set GITHUB_TOKEN (or GITHUB_TOKENS=tok1,tok2)")
    if not args.repos and not args.from_top:
        raise GitHubError("name repositories (owner/name ...) or pass --from-top")
    for r in args.repos:
        split_repo(r)
    worker = Worker.parse(args.worker)
    with open_lake(args) as lake, lake.run("ingest github fetch", {
            "repos": args.repos, "from_top": args.from_top, "patches_via_rest": args.patches_via_rest,
            "api_url": cfg.api_url, "worker": f"{worker.index}/{worker.count}"}) as run:
        named = list(dict.fromkeys(args.repos))
        if args.from_top:
            named += [r for r in lake.query("SELECT repo_id FROM github_repos WHERE NOT coalesce(excluded, false) "
                                            "ORDER BY stars DESC, repo_id").column("repo_id").to_pylist()
                      if r not in named]
        repos = list(worker.take(named))
        if worker.count > 1:
            log.info("github: worker %d/%d takes %d of %d repositories", worker.index, worker.count,
                     len(repos), len(named))
        client = _client(lake, cfg, tokens, worker)
        collector = RepoCollector(lake, client, patches_via_rest=args.patches_via_rest)
        with tqdm(repos, desc="github fetch", unit="repo", file=sys.stderr) as bar:
            failed, unchanged = fetch_repositories(lake, collector, bar, run.run_id)
        run.rows += collector.rows
        run.stats.update({"repos": len(repos), "failed": failed, "unchanged": unchanged,
                          "http": dict(client.stats), "waits": [w for w in client.limiter.waits]})
        _save_limits(client)
    print(f"github fetch: {len(repos) - len(failed)}/{len(repos)} repositories ({unchanged} unchanged), "
          f"{collector.rows} rows, {client.stats['graphql_requests']} GraphQL calls "
          f"({client.stats['graphql_points']} points), {client.stats['core_quota']} REST requests counted, "
          f"{client.stats['not_modified']} answered 304")
    if failed:
        shown = ", ".join(failed[:20]) + (f" and {len(failed) - 20} more" if len(failed) > 20 else "")
        print(f"github fetch: {len(failed)} failed (see ingest_errors; a re-run resumes them): {shown}",
              file=sys.stderr)
        return 1
    return 0


def main(argv: list[str]) -> int:
    args = parser().parse_args(argv[1:])
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    tokens = tokens_from_env()
    return run_top(args, tokens) if args.command == "top" else run_fetch(args, tokens)
