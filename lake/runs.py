"""The `runs` table: every command records what it was, how it ended and the snapshot it produced."""
from __future__ import annotations

import json
import re
import uuid
from datetime import datetime, timezone

from lake.write import Write, commit

_SECRET_KEY = re.compile(r"token|secret|password|passwd|credential|api_key|authorization", re.I)
_SECRET_VALUE = re.compile(r"\b(gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}|glpat-[A-Za-z0-9_-]{20,})\b")


def sanitize(value):
    """Drop secret-named keys and token-shaped values, recursively; what remains is safe to store."""
    if isinstance(value, dict):
        return {k: ("<redacted>" if _SECRET_KEY.search(str(k)) else sanitize(v)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [sanitize(v) for v in value]
    if isinstance(value, str):
        value = _SECRET_VALUE.sub("<redacted>", value)
        return re.sub(r"(password=)\S+", r"\1<redacted>", value, flags=re.I)
    return value


def _now():
    return datetime.now(timezone.utc)


class RunRecord:
    """Context manager: `with lake.run("ingest git", args) as run: run.rows += n; run.stats[...] = ...`."""

    def __init__(self, lake, command: str, args: dict):
        self.lake = lake
        self.command = command
        self.args = sanitize(args)
        self.run_id = str(uuid.uuid4())
        self.rows = 0
        self.stats: dict = {}
        self.started_at = _now()

    def _row(self, status: str, error: str | None, ended=None) -> dict:
        return {
            "run_id": self.run_id, "command": self.command, "args": json.dumps(self.args, default=str),
            "started_at": self.started_at, "ended_at": ended, "status": status, "rows_written": self.rows,
            "snapshot_id": None if ended is None else self.lake.snapshot(),
            "error": error, "stats": json.dumps(sanitize(self.stats), default=str),
        }

    def __enter__(self) -> "RunRecord":
        commit(self.lake, [Write("runs", [self._row("running", None)], "upsert")])
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        status = "ok" if exc_type is None else ("interrupted" if exc_type is KeyboardInterrupt else "failed")
        error = None if exc is None else sanitize(f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
        commit(self.lake, [Write("runs", [self._row(status, error, _now())], "upsert")])
