"""API quota of the GitHub collector next to a careful REST client of equal coverage, same loopback server.

The REST client is written the way a careful user would: repository-level listings wherever GitHub has one
(`/pulls`, `/issues`, `/issues/comments`, `/pulls/comments`, 100 a page), and per pull request only what
has no listing: `/pulls/N/reviews`, and `/pulls/N/files` for the changed files and their patches. Ours:
GraphQL pages of PRs with files, comments, reviews and review comments (+ issues), the README and a
conditional REST probe; the diffs come from git (`ingest git --fetch-prs` reads `refs/pull/*`), at no API
quota. Quota is what the server charged: REST requests and GraphQL points (5,000 an hour each per token).

Two ratios: with patches (the REST client calls /pulls/N/files), and without (it skips them, and so also
lacks the changed-file lists ours has: a bound that favours REST). A second, unchanged run is measured too.

    .venv/bin/python bench/github_cost.py [--repos 3] [--pulls 100] [--issues 20]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ingest.github.fetch import RepoCollector  # noqa: E402
from lake import Lake  # noqa: E402
from tests.helpers import github_fixtures as F  # noqa: E402
from tests.helpers.github_server import FakeGitHub, client_for  # noqa: E402


def careful_rest(client, repo_id: str, patches: bool) -> dict:
    """Everything ours collects, through REST: repository-level listings, then reviews (and files) per PR."""
    n = {"pulls": 0, "issues": 0, "comments": 0, "review_comments": 0, "reviews": 0, "files": 0}

    def listing(path: str, key: str) -> list:
        items = []
        for page in client.pages(f"/repos/{repo_id}{path}", {"per_page": 100, **(
                {"state": "all"} if path in ("/pulls", "/issues") else {})}):
            items += page.data
        n[key] += len(items)
        return items

    pulls = listing("/pulls", "pulls")
    n["issues"] = sum(1 for x in listing("/issues", "issues") if "pull_request" not in x)
    listing("/issues/comments", "comments")
    listing("/pulls/comments", "review_comments")
    for pr in pulls:
        listing(f"/pulls/{pr['number']}/reviews", "reviews")
        if patches:
            listing(f"/pulls/{pr['number']}/files", "files")
    client.get(f"/repos/{repo_id}/readme")
    return n


def about_pulls(hit) -> bool:
    """Quota spent on pull requests alone: REST /pulls... calls (not the shared /issues/comments listing,
    which favours REST), our PR queries and their follow-ups."""
    if hit.resource == "graphql":
        return bool(hit.operation) and (hit.operation == "Pulls" or hit.operation.startswith("MorePull"))
    return "/pulls" in hit.path.split("?")[0]


def quota(gh, since: int) -> dict:
    hits = gh.hits[since:]
    return {"http": len(hits), "rest": sum(h.charged for h in hits if h.resource == "core"),
            "points": sum(h.charged for h in hits if h.resource == "graphql"),
            "graphql_calls": sum(1 for h in hits if h.resource == "graphql"), "total": sum(h.charged for h in hits),
            "pulls": sum(h.charged for h in hits if about_pulls(h))}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repos", type=int, default=3)
    ap.add_argument("--pulls", type=int, default=100, help="pull requests per repository")
    ap.add_argument("--issues", type=int, default=20, help="issues per repository")
    args = ap.parse_args()
    repos = [F.build_repo("bench", f"r{i}", repo_id=500 + i, n_pulls=args.pulls, n_issues=args.issues, seed=i,
                          big=i == 0) for i in range(args.repos)]
    n_pulls = sum(len(r.pulls) for r in repos)
    per100 = 100 / n_pulls
    runs = {}
    with FakeGitHub(repos) as gh, tempfile.TemporaryDirectory() as tmp:
        for name, patches in (("REST, patches", True), ("REST, no patches", False)):
            t, start = time.perf_counter(), len(gh.hits)
            client = client_for(gh)
            for r in repos:
                careful_rest(client, r.full_name, patches)
            runs[name] = {**quota(gh, start), "s": time.perf_counter() - t}
        for name, via_rest, lake_dir in (("ours", False, "a"), ("ours --patches-via-rest", True, "b")):
            with Lake(Path(tmp) / lake_dir) as lake:
                t, start = time.perf_counter(), len(gh.hits)
                collector = RepoCollector(lake, client_for(gh, lake), patches_via_rest=via_rest)
                for r in repos:
                    collector.fetch(r.full_name)
                runs[name] = {**quota(gh, start), "s": time.perf_counter() - t}
                if not via_rest:
                    start = len(gh.hits)
                    collector = RepoCollector(lake, client_for(gh, lake))
                    for r in repos:
                        collector.fetch(r.full_name)
                    again = quota(gh, start)
        assert not gh.invalid_queries

    print(f"fixtures: {args.repos} repositories, {n_pulls} pull requests "
          f"({sum(len(p.reviews) for r in repos for p in r.pulls)} reviews, "
          f"{sum(len(p.comments) for r in repos for p in r.pulls)} comments, "
          f"{sum(len(p.files) for r in repos for p in r.pulls)} changed files), {args.issues * args.repos} issues")
    for name, q in runs.items():
        print(f"{name:24s}: quota {q['total'] * per100:6.1f} / 100 PRs, pull requests alone {q['pulls'] * per100:6.1f} "
              f"({q['rest']} REST requests, {q['points']} GraphQL points in {q['graphql_calls']} calls), "
              f"{q['http']} HTTP requests, {q['s']:.1f} s")
    ours, rest, bare = runs["ours"], runs["REST, patches"], runs["REST, no patches"]
    print("ours takes the diffs from refs/pull/* in git (ingest git --fetch-prs), which costs no API quota")
    print(f"ratio with patches      : {rest['pulls'] / ours['pulls']:.1f}x less quota for pull requests with comments, "
          f"reviews and diffs (target >= 20x); {rest['total'] / ours['total']:.1f}x for the whole run "
          f"(+ issues, READMEs, change probes)")
    print(f"ratio without patches   : {bare['pulls'] / ours['pulls']:.1f}x for pull requests; "
          f"{bare['total'] / ours['total']:.1f}x for the whole run (that REST client then also lacks the "
          f"changed-file lists ours has)")
    print(f"patches through the API : {rest['total'] / runs['ours --patches-via-rest']['total']:.1f}x less quota for "
          f"the whole run with --patches-via-rest (one /pulls/N/files call per PR on both sides)")
    print(f"second unchanged run    : {again['http']} requests, quota {again['total']} (target 0)")


if __name__ == "__main__":
    main()
