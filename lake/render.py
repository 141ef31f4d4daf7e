"""Print Arrow tables: aligned text on a terminal, or CSV / JSON / Parquet."""
from __future__ import annotations

import csv
import json
import shutil
import sys
from datetime import date, datetime
from decimal import Decimal

import pyarrow as pa
import pyarrow.parquet as pq

from lake.errors import LakeError

FORMATS = ("table", "csv", "json", "parquet")


def _cell(v, width: int | None) -> str:
    s = "NULL" if v is None else str(v)
    s = s.replace("\n", "\\n").replace("\t", "\\t")
    return s if width is None or len(s) <= width else s[: width - 1] + "…"


def aligned(t: pa.Table, out=sys.stdout, max_width: int | None = None) -> None:
    """A plain aligned table; long cells are cut to share the terminal width."""
    names = t.column_names
    rows = t.to_pylist()
    if max_width is None and out.isatty():
        max_width = max(12, shutil.get_terminal_size().columns // max(1, len(names)) - 2)
    cells = [[_cell(r[n], max_width) for n in names] for r in rows]
    widths = [max([len(n)] + [len(row[i]) for row in cells]) for i, n in enumerate(names)]
    numeric = [pa.types.is_integer(f.type) or pa.types.is_floating(f.type) or pa.types.is_decimal(f.type)
               for f in t.schema]
    fmt = lambda vals: "  ".join(v.rjust(w) if num else v.ljust(w) for v, w, num in zip(vals, widths, numeric)).rstrip()
    print(fmt(names), file=out)
    print("  ".join("-" * w for w in widths), file=out)
    for row in cells:
        print(fmt(row), file=out)
    print(f"({t.num_rows} row{'s' if t.num_rows != 1 else ''})", file=out)


def _json_default(v):
    if isinstance(v, (datetime, date)):
        return v.isoformat()
    if isinstance(v, Decimal):
        return float(v)
    if isinstance(v, bytes):
        return v.hex()
    return str(v)


def write(t: pa.Table, fmt: str, path: str | None = None) -> None:
    if fmt == "parquet":
        if not path:
            raise LakeError("--format parquet needs --out FILE")
        pq.write_table(t, path)
        return
    out = open(path, "w", newline="") if path else sys.stdout
    try:
        if fmt == "table":
            aligned(t, out)
        elif fmt == "csv":
            w = csv.writer(out)
            w.writerow(t.column_names)
            for r in t.to_pylist():
                w.writerow(["" if v is None else v for v in r.values()])
        elif fmt == "json":
            json.dump(t.to_pylist(), out, default=_json_default, ensure_ascii=False, indent=1)
            out.write("\n")
        else:
            raise LakeError(f"unknown format {fmt!r}; formats: {', '.join(FORMATS)}")
    finally:
        if path:
            out.close()
