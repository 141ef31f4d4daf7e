"""The rate-limit state of every token in one object, so it can be persisted (github_rate_limits) and shared.

Primary limits: each response's x-ratelimit-* headers (REST and GraphQL) and GraphQL's `rateLimit` update a
bucket per (token fingerprint, resource). The preferred token (a worker's own, see `preferred_token`) serves
the next request while it has budget above its reserve, else the token with the most budget left; when
every token is down to its reserve the limiter sleeps until the first reset. Secondary limits (403/429 that
are not the primary limit): retry-after when given, else until reset when remaining is 0, else at least
60 s, doubling per consecutive strike. A secondary limit holds for the token, not one process: the pause is
kept as the token's SECONDARY bucket (remaining 0 until its reset), so every worker sharing the token keeps
quiet until it ends. With `shared` (budget.LakeBudget) the buckets are loaded before each choice and saved
before each pause, so workers sharing a token spend one budget and honour one pause. Tokens are held only here
and in request headers; everything that leaves this object names a token by its fingerprint.
"""
from __future__ import annotations

import hashlib
import logging
import math
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable, Mapping, Protocol

from ingest.github import GitHubError
from ingest.github.config import GitHubConfig

log = logging.getLogger("ingest.github")

SECONDARY = "secondary"  # the pseudo-resource whose bucket holds a token's secondary-limit pause
_PAUSE_MARGIN_S = 0.001


class SharedState(Protocol):
    """Where the buckets of all workers meet (budget.LakeBudget: the github_rate_limits table)."""

    def load(self) -> list[dict]: ...

    def save(self, rows: list[dict]) -> None: ...


def preferred_token(worker_index: int, n_tokens: int) -> int:
    """Worker I (1-based) of a run prefers token (I-1) mod T, so a pool of tokens is spread over the workers."""
    return (worker_index - 1) % max(1, n_tokens)


def fingerprint(token: str | None) -> str:
    """A stable, non-reversible name for a token (what logs and the lake may hold)."""
    if not token:
        return "anonymous"
    return "sha256:" + hashlib.sha256(token.encode()).hexdigest()[:12]


@dataclass
class Bucket:
    limit: int | None = None
    remaining: int | None = None   # None: unknown yet, assume full
    reset: float | None = None     # epoch seconds


class RateLimiter:
    def __init__(self, tokens: list[str], config: GitHubConfig | None = None, *,
                 clock: Callable[[], float] = time.time, sleep: Callable[[float], None] = time.sleep,
                 prefer: int = 0, shared: SharedState | None = None):
        self._tokens = list(dict.fromkeys(t for t in tokens if t)) or [None]
        p = prefer % len(self._tokens)
        self._order = self._tokens[p:] + self._tokens[:p]  # the preferred token first, then the pool in order
        self.shared = shared
        self.config = config or GitHubConfig()
        self.clock = clock
        self.sleep = sleep
        self.buckets: dict[tuple[str, str], Bucket] = {}
        self.strikes = 0
        self.waits: list[tuple[str, float]] = []   # (why, seconds) for the run's stats

    def __repr__(self) -> str:  # never the tokens themselves
        return f"RateLimiter({[fingerprint(t) for t in self._tokens]})"

    @property
    def fingerprints(self) -> list[str]:
        return [fingerprint(t) for t in self._tokens]

    def _bucket(self, token, resource) -> Bucket:
        return self.buckets.setdefault((fingerprint(token), resource), Bucket())

    def _reserve(self, resource: str) -> int:
        c = self.config
        return {"search": c.reserve_search, "graphql": c.reserve_graphql}.get(resource, c.reserve_rest)

    def _wait(self, seconds: float, why: str) -> None:
        seconds = max(0.0, seconds)
        if self.shared is not None:  # tell the other workers before going quiet, so they pause too
            self.shared.save(self.state_rows())
        self.waits.append((why, seconds))
        log.info("github: waiting %.0f s (%s)", seconds, why)
        self.sleep(seconds)

    # -- choosing a token ---------------------------------------------------------------------
    def acquire(self, resource: str) -> str | None:
        """The token to send the next `resource` request with; sleeps until a reset when all are low."""
        if self.shared is not None:
            self.merge_rows(self.shared.load())
        now = self.clock()
        reserve = self._reserve(resource)

        def left(token) -> float:
            b = self._bucket(token, resource)
            if b.remaining is None or (b.reset is not None and b.reset <= now):
                return float("inf")
            return b.remaining - reserve

        def paused_until(token) -> float | None:
            b = self.buckets.get((fingerprint(token), SECONDARY))
            return b.reset if b is not None and b.reset is not None and b.reset > now else None

        def free(token) -> float:
            return -math.inf if paused_until(token) is not None else left(token)

        if free(self._order[0]) > 0:
            return self._order[0]
        best = max(self._order, key=free)  # ties go to the earlier token in preference order
        if free(best) > 0:
            return best

        # Every token is at its reserve or paused by a secondary limit: sleep until the first is free again.
        def free_at(token) -> float:
            b = self._bucket(token, resource)
            at = (b.reset or now) + 1 if left(token) <= 0 else now
            paused = paused_until(token)
            # a pause read back from the lake is cut to microseconds: wake a hair after it, never before GitHub's
            return max(at, paused + _PAUSE_MARGIN_S if paused is not None else now)

        token = min(self._tokens, key=free_at)
        low = left(token) <= 0
        self._wait(free_at(token) - now, f"{resource} budget low on {fingerprint(token)}, until reset" if low
                   else f"secondary limit on {fingerprint(token)} (another worker's), until it ends")
        if low:
            self._bucket(token, resource).remaining = None
        return token

    # -- learning from responses --------------------------------------------------------------
    def observe(self, token, headers: Mapping[str, str], resource: str) -> None:
        resource = headers.get("x-ratelimit-resource") or resource
        b = self._bucket(token, resource)
        for attr, name in (("limit", "x-ratelimit-limit"), ("remaining", "x-ratelimit-remaining"),
                           ("reset", "x-ratelimit-reset")):
            value = headers.get(name)
            if value is not None and value.strip().lstrip("-").isdigit():
                setattr(b, attr, int(value))

    def observe_graphql(self, token, rate: Mapping | None) -> None:
        if not rate:
            return
        b = self._bucket(token, "graphql")
        b.limit = rate.get("limit", b.limit)
        b.remaining = rate.get("remaining", b.remaining)
        if rate.get("resetAt"):
            b.reset = datetime.fromisoformat(rate["resetAt"].replace("Z", "+00:00")).timestamp()

    def succeeded(self) -> None:
        self.strikes = 0

    # -- being limited ------------------------------------------------------------------------
    @staticmethod
    def is_limited(status: int, headers: Mapping[str, str], body: bytes) -> bool:
        if status not in (403, 429):
            return False
        if status == 429 or "retry-after" in headers or headers.get("x-ratelimit-remaining") == "0":
            return True
        return b"rate limit" in body.lower()

    def wait_limited(self, token, resource: str, headers: Mapping[str, str]) -> None:
        """Sleep as GitHub asks after a 403/429 rate-limit answer; raise once it keeps refusing."""
        self.strikes += 1
        if self.strikes > self.config.secondary_max_strikes:
            raise GitHubError(f"GitHub kept refusing {resource} requests (rate limited {self.strikes - 1} times "
                              f"in a row); try again later")
        now = self.clock()
        retry_after = headers.get("retry-after", "").strip()
        if headers.get("x-ratelimit-remaining") == "0" and headers.get("x-ratelimit-reset", "").isdigit() \
                and not retry_after.isdigit():
            self._wait(int(headers["x-ratelimit-reset"]) - now + 1, "primary limit exhausted, until reset")
            return
        if retry_after.isdigit():
            seconds, why = int(retry_after), "secondary limit, retry-after"
        else:
            c = self.config
            seconds = min(c.secondary_max_wait_s, c.secondary_min_wait_s * 2 ** (self.strikes - 1))
            why = "secondary limit, backing off"
        # Saved with the other buckets before the pause (_wait), so the token's other workers pause too.
        self.buckets[(fingerprint(token), SECONDARY)] = Bucket(None, 0, now + seconds)
        self._wait(seconds, why)

    # -- persistence --------------------------------------------------------------------------
    def state_rows(self) -> list[dict]:
        """Rows of github_rate_limits: the budget of each (token fingerprint, resource) now."""
        at = datetime.now(timezone.utc)
        return [{"token_fingerprint": fp, "resource": res, "window_limit": b.limit, "remaining": b.remaining,
                 "reset_at": None if b.reset is None else datetime.fromtimestamp(b.reset, timezone.utc),
                 "updated_at": at}
                for (fp, res), b in sorted(self.buckets.items()) if b.remaining is not None]

    def merge_rows(self, rows: list[dict]) -> None:
        """Take in github_rate_limits rows (other workers' observations) for this limiter's tokens.

        Within one window (same reset) remaining only falls, so the lower value is the later observation;
        a later reset is a newer window, and an older one is stale."""
        known = set(self.fingerprints)
        for r in rows:
            if r["token_fingerprint"] not in known or r["remaining"] is None:
                continue
            seen = Bucket(r["window_limit"], r["remaining"],
                          r["reset_at"].timestamp() if r["reset_at"] is not None else None)
            key = (r["token_fingerprint"], r["resource"])
            mine = self.buckets.get(key)
            if mine is None or mine.remaining is None or (
                    seen.reset is not None and mine.reset is not None and seen.reset > mine.reset):
                self.buckets[key] = seen
            elif seen.reset == mine.reset or seen.reset is None or mine.reset is None:
                mine.remaining = min(mine.remaining, seen.remaining)
