"""How a table is declared: name, layer, columns, keys, partitions. Declarations live in lake/tables/."""
from __future__ import annotations

from dataclasses import dataclass, field

LAYERS = ("raw", "clean", "gold", "meta", "config")


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # a DuckDB type, e.g. VARCHAR, BIGINT, STRUCT(path VARCHAR, change VARCHAR)[]
    doc: str = ""


@dataclass(frozen=True)
class Table:
    """One lake table.

    key: the columns that identify a row (upsert replaces rows with the same key).
    scope: the columns that identify a replaceable unit (re-ingesting a repository replaces
    every row of that repository); defaults to the key.
    sort_by: the order rows are written in inside each Parquet file (DuckLake sorts on insert); with
    row_group_rows, a reader filtering on those columns decompresses only the row groups it wants.
    row_group_rows: rows per Parquet row group (DuckDB's default 122,880; its minimum 2,048). A table of
    whole files as text wants small ones: a default row group of source files is hundreds of MB.
    """

    name: str
    layer: str
    description: str
    columns: tuple[Column, ...]
    key: tuple[str, ...] = ()
    scope: tuple[str, ...] = ()
    partition_by: tuple[str, ...] = ()
    sort_by: tuple[str, ...] = ()
    row_group_rows: int = 0
    extra: dict = field(default_factory=dict, compare=False)

    def __post_init__(self):
        names = [c.name for c in self.columns]
        if self.layer not in LAYERS:
            raise ValueError(f"table {self.name}: layer {self.layer!r} not in {LAYERS}")
        if len(set(names)) != len(names):
            raise ValueError(f"table {self.name}: duplicate column names")
        if self.row_group_rows and self.row_group_rows < 2048:
            raise ValueError(f"table {self.name}: row_group_rows below DuckDB's minimum of 2048")
        for group in (self.key, self.scope, self.partition_by, self.sort_by):
            for col in group:
                if col not in names:
                    raise ValueError(f"table {self.name}: {col!r} is not a column")

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def scope_columns(self) -> tuple[str, ...]:
        return self.scope or self.key

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)


def cols(*specs: tuple) -> tuple[Column, ...]:
    """cols(("repo_id", "VARCHAR", "doc"), ...) -> tuple of Column."""
    return tuple(Column(*s) for s in specs)
