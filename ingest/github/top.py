"""`top`: the N most-starred repositories of a language, through search sliced by star ranges.

Search serves at most 1,000 results per query, so the star axis is cut into ranges `stars:A..B` (split
geometrically: stars are heavy-tailed) until each slice's total_count fits; slices are read from the top
down, results are deduplicated by repository id (low-star results shift between queries), and the walk
stops at N. Each slice is committed as it is read.
"""
from __future__ import annotations

import logging
import math
from datetime import datetime, timezone

from lake import Write
from ingest.github import GitHubError
from ingest.github.client import GitHubClient
from ingest.github.records import repo_row

log = logging.getLogger("ingest.github")


def _split(lo: int, hi: int) -> int:
    """The first star count of the upper half of [lo, hi]: geometric mean, so each half holds similar counts."""
    return min(hi, max(lo + 1, int(math.sqrt(max(lo, 1) * hi))))


def _search(client: GitHubClient, q: str, per_page: int):
    return client.pages("/search/repositories", {"q": q, "sort": "stars", "order": "desc", "per_page": per_page})


def top_repositories(lake, client: GitHubClient, language: str, n: int, *, progress=None) -> dict:
    """Write the top `n` `language` repositories to github_repos; return counts for the run's stats."""
    if n <= 0:
        raise GitHubError(f"--n must be positive, not {n}")
    cfg = client.config
    base = f"language:{language}"
    first = client.get("/search/repositories", {"q": base, "sort": "stars", "order": "desc", "per_page": 1})
    items = (first.data or {}).get("items") or []
    stats = {"slices": 0, "split": 0, "search_pages": 1, "duplicates": 0, "repos": 0, "excluded": 0,
             "truncated_slices": 0}
    if not items:
        return stats
    seen: set[int] = set()
    ranges = [(0, int(items[0]["stargazers_count"]))]  # a stack: the highest range is on top
    while ranges and len(seen) < n:
        lo, hi = ranges.pop()
        pages = _search(client, f"{base} stars:{lo}..{hi}", cfg.rest_page)
        page = next(pages)
        stats["search_pages"] += 1
        total = page.data["total_count"]
        if total > cfg.search_cap and lo < hi:
            mid = _split(lo, hi)
            ranges += [(lo, mid - 1), (mid, hi)]
            stats["split"] += 1
            continue
        if total > cfg.search_cap:
            stats["truncated_slices"] += 1
            log.warning("github: %d repositories have exactly %d stars; search serves only the first %d",
                        total, lo, cfg.search_cap)
        stats["slices"] += 1
        rows, read = [], 0
        while page is not None and len(seen) < n:
            for item in page.data["items"]:
                read += 1
                if item["id"] in seen:
                    stats["duplicates"] += 1
                    continue
                if len(seen) >= n:
                    break
                seen.add(item["id"])
                rows.append(repo_row(item, datetime.now(timezone.utc)))
            # Stop before the page that would start at result 1,000: GitHub answers it with 422.
            page = next(pages, None) if read < min(total, cfg.search_cap) else None
            stats["search_pages"] += page is not None
        if rows:
            lake.commit([Write("github_repos", rows, "upsert")], message=f"github top {lo}..{hi}")
            stats["repos"] += len(rows)
            stats["excluded"] += sum(r["excluded"] for r in rows)
            if progress is not None:
                progress.update(len(rows))
    return stats
