"""Arrow schemas and tables typed from the lake's own declarations (lake/tables/), so no schema is spelled twice."""
from __future__ import annotations

import re

import pyarrow as pa

from lake.catalog import table as declared

_SCALARS = {"VARCHAR": pa.string(), "JSON": pa.string(), "BIGINT": pa.int64(), "INTEGER": pa.int32(),
            "SMALLINT": pa.int16(), "BOOLEAN": pa.bool_(), "DOUBLE": pa.float64(),
            "TIMESTAMPTZ": pa.timestamp("us", tz="UTC")}


def _arrow_type(duck: str) -> pa.DataType:
    duck = duck.strip()
    if duck.endswith("[]"):
        return pa.list_(_arrow_type(duck[:-2]))
    m = re.fullmatch(r"MAP\((.*)\)", duck)
    if m:
        key, value = _split_top(m.group(1))
        return pa.map_(_arrow_type(key), _arrow_type(value))
    m = re.fullmatch(r"STRUCT\((.*)\)", duck)
    if m:
        fields = [f.strip().split(" ", 1) for f in _split_top(m.group(1))]
        return pa.struct([(name, _arrow_type(t)) for name, t in fields])
    return _SCALARS[duck]


def _split_top(s: str) -> list[str]:
    out, depth, cur = [], 0, ""
    for ch in s:
        depth += ch == "("
        depth -= ch == ")"
        if ch == "," and depth == 0:
            out.append(cur)
            cur = ""
        else:
            cur += ch
    return out + [cur] if cur.strip() else out


def schema(table: str) -> pa.Schema:
    """The Arrow schema of a declared table (DuckDB types: scalars, T[], STRUCT(...), MAP(K, V))."""
    return pa.schema([(c.name, _arrow_type(c.type)) for c in declared(table).columns])


def to_arrow(table: str, rows: list[dict]) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=schema(table))
