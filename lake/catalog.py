"""The one catalog of lake tables. Each module in lake/tables/ declares the tables of one stage."""
from __future__ import annotations

from lake.errors import RepoLLMError
from lake.schema import Table
from lake.tables import eval as _eval
from lake.tables import git as _git
from lake.tables import github as _github
from lake.tables import gold as _gold
from lake.tables import meta as _meta
from lake.tables import train as _train
from lake.tables import transforms as _transforms

_MODULES = (_meta, _git, _github, _transforms, _gold, _train, _eval)

TABLES: dict[str, Table] = {}
for _m in _MODULES:
    for _t in _m.TABLES:
        if _t.name in TABLES:
            raise ValueError(f"table {_t.name} declared twice")
        TABLES[_t.name] = _t


class UnknownTable(RepoLLMError, KeyError):
    pass


def table(name: str) -> Table:
    try:
        return TABLES[name]
    except KeyError:
        raise UnknownTable(f"unknown table {name!r}; tables: {', '.join(sorted(TABLES))}") from None
