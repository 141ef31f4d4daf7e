"""Every knob of the GitHub collector in one place; the CLI builds one GitHubConfig and passes it down."""
from __future__ import annotations

from dataclasses import dataclass

DEFAULT_API_URL = "https://api.github.com"


@dataclass(frozen=True)
class GitHubConfig:
    api_url: str = DEFAULT_API_URL
    timeout_s: float = 30.0              # GitHub fails GraphQL calls over 10 s; a read past 30 s is a dead socket
    # Transport retries (5xx, dropped connections, read timeouts, truncated or non-JSON bodies, empty data).
    retries: int = 5
    backoff_factor: float = 1.0          # urllib3: factor * 2**(n-1) seconds, plus jitter
    backoff_jitter: float = 1.0
    backoff_max_s: float = 60.0          # tenacity's random exponential wait stays under this
    # A GraphQL page that times out is asked again with half the page size (nested connections too, then
    # paged separately by follow-up queries), down to this floor; it fails only when the floor times out.
    min_page: int = 1
    # Rate limits.
    reserve_rest: int = 50               # pause until reset when a token's remaining falls to this
    reserve_graphql: int = 100           # points; one page query costs ~7
    reserve_search: int = 1
    secondary_min_wait_s: float = 60.0   # GitHub: without retry-after, wait at least a minute ...
    secondary_max_wait_s: float = 900.0  # ... then back off exponentially, to this cap
    secondary_max_strikes: int = 8       # then give up with an error
    # Page sizes. GraphQL cost = connection pages it could need / 100: 50 PRs x (comments 50, reviews 5 x
    # comments 30, files 100) = 1 + 50 + 50 + 250 + 50 = 401 -> 4 points for 50 PRs with everything (REST:
    # ~150 requests). The reviews x review-comments term dominates; a PR with more than 5 reviews pays one
    # follow-up query (1 point), which is cheaper than asking every PR for 10.
    pr_page: int = 50
    issue_page: int = 50
    comments_page: int = 50
    reviews_page: int = 5
    review_comments_page: int = 30
    files_page: int = 100
    labels_page: int = 20
    more_page: int = 100                 # follow-up pages of one PR's long connection
    rest_page: int = 100                 # REST per_page (max 100)
    search_cap: int = 1000               # search serves at most this many results per query
    incremental_overlap_s: float = 600.0  # re-read items updated this long before `since`: clock skew
    user_agent: str = "repo-llm-ingest-github"
