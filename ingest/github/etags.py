"""Conditional-request cache persisted in github_etags: a re-run over unchanged data answers 304 (no quota).

An ETag is only stored in the same lake commit as the rows its response produced (`pending` is flushed
by the caller's commit), so a killed run never remembers an answer whose data it lost.
"""
from __future__ import annotations

from datetime import datetime, timezone


class EtagCache:
    def __init__(self, rows: list[dict] | None = None):
        self._known: dict[str, tuple[str | None, str | None]] = {
            r["url"]: (r["etag"], r["last_modified"]) for r in rows or []}
        self._pending: dict[str, dict] = {}

    @classmethod
    def from_lake(cls, lake) -> "EtagCache":
        return cls(lake.query("SELECT url, etag, last_modified FROM github_etags").to_pylist())

    def headers(self, url: str) -> dict[str, str]:
        etag, modified = self._known.get(url, (None, None))
        out = {}
        if etag:
            out["If-None-Match"] = etag
        if modified:
            out["If-Modified-Since"] = modified
        return out

    def remember(self, url: str, etag: str | None, last_modified: str | None) -> None:
        if etag or last_modified:
            self._pending[url] = {"url": url, "etag": etag, "last_modified": last_modified,
                                  "fetched_at": datetime.now(timezone.utc)}

    def take_pending(self, urls=None) -> list[dict]:
        """Rows to write with the commit that holds these URLs' data (all pending ones by default)."""
        keys = list(self._pending) if urls is None else [u for u in urls if u in self._pending]
        rows = [self._pending.pop(k) for k in keys]
        for r in rows:
            self._known[r["url"]] = (r["etag"], r["last_modified"])
        return rows
