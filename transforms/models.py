"""The SQL models of sql/: one file each, named for the table it writes (or the Python step it feeds), read with
its header (what it reads, writes or feeds)."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Iterator

import duckdb

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


def _folder(folder: Path | None):
    return resources.files("sql") if folder is None else Path(folder)


def load(name: str, folder: Path | None = None) -> Model:
    """sql/NAME.sql (or NAME.sql in `folder`), its header checked for shape; see check_reads for its content."""
    try:
        sql = _folder(folder).joinpath(f"{name}.sql").read_text(encoding="utf-8")
    except FileNotFoundError:
        raise TransformError(f"no SQL model {name!r} in sql/") from None
    header = {k: v.strip() for k, v in _HEADER.findall(sql)}
    if header.get("model") != name:
        raise TransformError(f"sql/{name}.sql: its header must start with '-- model: {name}'")
    writes = header.get("writes")
    feeds = header.get("feeds", "").split(" ")[0] or None
    if bool(writes) == bool(feeds):
        raise TransformError(f"sql/{name}.sql: declare exactly one of '-- writes: TABLE' or '-- feeds: STEP'")
    if (writes or feeds) != name:
        raise TransformError(f"sql/{name}.sql {'writes' if writes else 'feeds'} {writes or feeds!r}: "
                             f"a model is named for the table it writes or the step it feeds")
    return Model(name, sql, _names(header.get("reads", "")), writes, feeds)


def available(folder: Path | None = None) -> list[str]:
    return sorted(p.name[:-4] for p in _folder(folder).iterdir() if p.name.endswith(".sql"))


def parse(sql: str, where: str = "SQL") -> dict:
    """DuckDB's own parse tree of a query (json_serialize_sql): no binding, so no table need exist."""
    with duckdb.connect() as con:
        tree = json.loads(con.execute("SELECT json_serialize_sql(?)", [sql]).fetchone()[0])
    if tree.get("error"):
        raise TransformError(f"{where}: cannot parse: {tree.get('error_message', '').splitlines()[0]}")
    return tree


def syntax_nodes(tree, skip: tuple[str, ...] = ()) -> Iterator[dict]:
    """Every node (dict) of a parse tree, depth first; the subtrees under a key in `skip` are left out."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(reversed(node))
        elif isinstance(node, dict):
            yield node
            stack.extend(v for k, v in reversed(node.items()) if k not in skip)


def tables_read(sql: str, where: str = "SQL") -> set[str]:
    """The tables a query names; CTE names are not tables. (duckdb.get_table_names binds, and fails on
    `JOIN ... USING` against tables that do not exist.)"""
    tables: set[str] = set()
    ctes: set[str] = set()
    for node in syntax_nodes(parse(sql, where)):
        if node.get("type") == "BASE_TABLE" and "table_name" in node:
            tables.add(node["table_name"])
        if isinstance(node.get("cte_map"), dict):
            ctes.update(entry["key"] for entry in node["cte_map"].get("map", []))
    return tables - ctes


def check_reads(model: Model) -> None:
    """The header's `-- reads:` must name exactly the tables the SQL reads."""
    actual, declared = tables_read(model.sql, f"sql/{model.name}.sql"), set(model.reads)
    if actual != declared:
        missing, extra = sorted(actual - declared), sorted(declared - actual)
        raise TransformError(
            f"sql/{model.name}.sql: its '-- reads:' header does not match its SQL"
            + (f"; reads but does not declare: {', '.join(missing)}" if missing else "")
            + (f"; declares but does not read: {', '.join(extra)}" if extra else ""))
