"""The SQL models of sql/: one file each, read with their header (what they read, write or feed)."""
from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources

from transforms.errors import TransformError

_HEADER = re.compile(r"^--\s*(model|reads|writes|feeds):\s*(.*)$", re.M)


@dataclass(frozen=True)
class Model:
    name: str
    sql: str
    reads: tuple[str, ...]
    writes: str | None  # the table it is materialised into
    feeds: str | None   # or the Python step that consumes its rows


def _names(value: str) -> tuple[str, ...]:
    return tuple(v.strip() for v in value.split(",") if v.strip())


def load(name: str) -> Model:
    try:
        sql = resources.files("sql").joinpath(f"{name}.sql").read_text(encoding="utf-8")
    except FileNotFoundError:
        raise TransformError(f"no SQL model {name!r} in sql/") from None
    header = {k: v.strip() for k, v in _HEADER.findall(sql)}
    if header.get("model") != name:
        raise TransformError(f"sql/{name}.sql: its header must start with '-- model: {name}'")
    writes = header.get("writes")
    feeds = header.get("feeds", "").split(" ")[0] or None
    if bool(writes) == bool(feeds):
        raise TransformError(f"sql/{name}.sql: declare exactly one of '-- writes: TABLE' or '-- feeds: STEP'")
    return Model(name, sql, _names(header.get("reads", "")), writes, feeds)


def available() -> list[str]:
    return sorted(p.name[:-4] for p in resources.files("sql").iterdir() if p.name.endswith(".sql"))
