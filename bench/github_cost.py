"""API cost of the GitHub collector against the loopback fake GitHub, next to plain REST, same fixtures.

Plain REST is what a straightforward collector does: list pulls (100 a page), then per PR its files, its
conversation comments and its review comments. Ours: GraphQL pages of PRs with all of that (+ issues and
the README), and a conditional REST probe. Quota is what the server charged: REST requests (5,000/h) and
GraphQL points (5,000/h), the two budgets GitHub gives a token. A second, unchanged run is measured too.

    .venv/bin/python bench/github_cost.py [--repos 3] [--pulls 100]
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
from tests import github_fixtures as F  # noqa: E402
from tests.github_server import FakeGitHub, client_for  # noqa: E402


def plain_rest(client, repo_id: str) -> int:
    """The baseline collector: list + per-PR files, comments, review comments. Returns PRs read."""
    n = 0
    for page in client.pages(f"/repos/{repo_id}/pulls", {"state": "all", "per_page": 100}):
        for pr in page.data:
            n += 1
            for sub in (f"/pulls/{pr['number']}/files", f"/issues/{pr['number']}/comments",
                        f"/pulls/{pr['number']}/comments"):
                for _ in client.pages(f"/repos/{repo_id}{sub}", {"per_page": 100}):
                    pass
    return n


def snapshot(gh) -> dict:
    return {"http": len(gh.hits), "rest": gh.usage("core"), "points": gh.usage("graphql"),
            "graphql_calls": sum(1 for h in gh.hits if h.resource == "graphql")}


def delta(after: dict, before: dict) -> dict:
    return {k: after[k] - before[k] for k in after}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repos", type=int, default=3)
    ap.add_argument("--pulls", type=int, default=100, help="pull requests per repository")
    ap.add_argument("--issues", type=int, default=20)
    args = ap.parse_args()
    repos = [F.build_repo("bench", f"r{i}", repo_id=500 + i, n_pulls=args.pulls, n_issues=args.issues, seed=i,
                          big=i == 0) for i in range(args.repos)]
    n_pulls = sum(len(r.pulls) for r in repos)
    per100 = 100 / n_pulls
    with FakeGitHub(repos) as gh, tempfile.TemporaryDirectory() as tmp, Lake(Path(tmp) / "lake") as lake:
        t = time.perf_counter()
        base0 = snapshot(gh)
        client = client_for(gh)
        for r in repos:
            plain_rest(client, r.full_name)
        rest = delta(snapshot(gh), base0)
        t_rest = time.perf_counter() - t

        t = time.perf_counter()
        ours0 = snapshot(gh)
        collector = RepoCollector(lake, client_for(gh, lake))
        for r in repos:
            collector.fetch(r.full_name)
        ours = delta(snapshot(gh), ours0)
        pr_points = sum(h.charged for h in gh.hits[ours0["http"]:]
                        if h.operation and (h.operation == "Pulls" or h.operation.startswith("MorePull")))
        t_ours = time.perf_counter() - t

        again0 = snapshot(gh)
        collector = RepoCollector(lake, client_for(gh, lake))
        for r in repos:
            collector.fetch(r.full_name)
        again = delta(snapshot(gh), again0)
        assert not gh.invalid_queries

    rest_quota = rest["rest"] + rest["points"]
    ours_quota = ours["rest"] + ours["points"]
    print(f"fixtures: {args.repos} repositories, {n_pulls} pull requests, {args.issues * args.repos} issues")
    print(f"plain REST : {rest['http'] * per100:7.1f} requests / 100 PRs, quota {rest_quota * per100:7.1f} "
          f"/ 100 PRs  ({t_rest:.1f} s)")
    print(f"GraphQL    : {ours['http'] * per100:7.1f} requests / 100 PRs ({ours['graphql_calls']} GraphQL calls, "
          f"{ours['points']} points, {ours['rest']} REST), quota {ours_quota * per100:7.1f} / 100 PRs  "
          f"({t_ours:.1f} s; includes issues and READMEs)")
    print(f"           : PR queries alone: {pr_points * per100:.1f} points / 100 PRs")
    print(f"ratio      : {rest_quota / ours_quota:.1f}x less quota, {rest['http'] / ours['http']:.1f}x fewer requests "
          f"(target >= 10x)")
    print(f"second unchanged run: {again['http']} requests, quota {again['rest'] + again['points']} (target 0)")


if __name__ == "__main__":
    main()
