"""Rows for lake tests, built from each table's declaration so they follow schema changes."""
from __future__ import annotations

from lake.catalog import table

_DEFAULTS = {"VARCHAR": "", "BIGINT": 0, "INTEGER": 0, "DOUBLE": 0.0, "BOOLEAN": False}


def row(table_name: str, **values) -> dict:
    """A row of `table_name` with every declared column: given values, else a neutral default (NULL for the rest)."""
    out = {}
    for c in table(table_name).columns:
        out[c.name] = values.pop(c.name) if c.name in values else _DEFAULTS.get(c.type)
    if values:
        raise KeyError(f"{table_name} has no column(s) {sorted(values)}")
    return out


def files_sql(repo: str, n: int, marker: str = "v1") -> str:
    """A SELECT producing n `files` rows of one repository, every row carrying `marker` as its commit."""
    cols = []
    for c in table("files").columns:
        if c.name == "repo_id":
            cols.append(f"'{repo}' AS repo_id")
        elif c.name == "commit":
            cols.append(f"'{marker}' AS commit")
        elif c.name == "path":
            cols.append("'f' || range::VARCHAR || '.go' AS path")
        elif c.name == "content":
            cols.append("repeat('x', 64) AS content")
        elif c.name == "size":
            cols.append("64 AS size")
        elif c.type == "BOOLEAN":
            cols.append(f"false AS {c.name}")
        else:
            cols.append(f"'' AS {c.name}")
    return f"SELECT {', '.join(cols)} FROM range({n})"
