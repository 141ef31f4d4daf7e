"""One API budget per token, shared by every worker through the lake's github_rate_limits table.

GitHub counts quota per token, not per process, so workers (on any machines) that share a token must
spend one budget. There is no coordinator: the state of each (token fingerprint, resource) lives in
github_rate_limits, where every worker sees it.

- Read: before choosing a token or deciding to pause, the RateLimiter loads the table and merges it with
  what it saw itself (`RateLimiter.merge_rows`): within one window (same reset) the lower `remaining` is the
  later observation, and a later reset is a newer window.
- Write: the buckets that differ from what the lake holds (as last loaded or written) go into each
  page's lake commit (no extra commit), and are written on their own before the limiter pauses (so the
  others stop too instead of each finding the limit with a 403) and at the end of a run. Upserts by key;
  the lake retries commit conflicts.
- Bound: every response tells a worker the token's true remaining (GitHub counts for the token, not the
  process), so what a worker cannot see is only what others spent since its last response or their last
  commit, about one page each. The reserves in GitHubConfig (reserve_graphql=100 points, a page query
  costs up to ~7; reserve_rest=50 requests) absorb that for about a dozen workers on one token; raise
  them for more. Exact accounting would need a lock around every request: the coordinator we refuse.
- Tokens: worker I of N prefers token (I-1) mod T of GITHUB_TOKENS and falls back to the token with the
  most budget left; when every token is at its reserve, it sleeps until the first reset.
Rows name tokens only by fingerprint (`ratelimit.fingerprint`), never the token.
"""
from __future__ import annotations

from lake import Write

TABLE = "github_rate_limits"


def _key(row: dict) -> tuple:
    return row["token_fingerprint"], row["resource"]


def _value(row: dict) -> tuple:
    return row["window_limit"], row["remaining"], row["reset_at"]


class LakeBudget:
    """github_rate_limits as the RateLimiter's shared state: `load()` rows, `writes(rows)` to commit them."""

    def __init__(self, lake):
        self.lake = lake
        # What the lake holds as far as we know (last load, then our writes): only rows that differ from it
        # are written, so a worker never re-publishes another's older observation over a newer one.
        self._known: dict[tuple, tuple] = {}

    def load(self) -> list[dict]:
        rows = self.lake.query(f"SELECT * FROM {TABLE}").to_pylist()
        self._known = {_key(r): _value(r) for r in rows}
        return rows

    def changed(self, rows: list[dict]) -> list[dict]:
        return [r for r in rows if self._known.get(_key(r)) != _value(r)]

    def writes(self, rows: list[dict]) -> list[Write]:
        """The Write of the rows that changed (empty when none did), to add to a commit under way."""
        rows = self.changed(rows)
        return [Write(TABLE, rows, "upsert")] if rows else []

    def written(self, writes: list[Write]) -> None:
        """Call once the commit holding `writes` succeeded."""
        for w in writes:
            if w.table == TABLE:
                self._known.update({_key(r): _value(r) for r in w.data})

    def save(self, rows: list[dict]) -> None:
        """Commit the changed rows on their own (before a pause, at the end of a run)."""
        writes = self.writes(rows)
        if writes:
            self.lake.commit(writes, message="github rate limits")
            self.written(writes)
