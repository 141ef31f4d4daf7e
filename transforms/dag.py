"""The transforms DAG: each step with the tables it reads and writes, in an order derived from them.

A SQL model declares its tables in its header (`-- reads:`, and `-- writes: TABLE` or `-- feeds: STEP`),
checked here against the tables its SQL names. A Python step is declared by one PythonStep line in
transforms/pipeline.py: its name (its source is sql/NAME.sql, which feeds it), the tables it writes, its
function; it reads what its source reads. The order is a topological sort (ties by name, so it is the same on
every run); a cycle, two steps writing one table, or a read of a table that no step writes and that is not a
raw or config table declared in lake/tables is an error naming the step and the table.
"""
from __future__ import annotations

import graphlib
import inspect
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from lake.catalog import TABLES
from transforms import models
from transforms.errors import TransformError

# Tables no step writes: ingest fills the raw ones; config ones are seeded or edited by hand.
SOURCE_LAYERS = ("raw", "config")


@dataclass(frozen=True)
class PythonStep:
    name: str                                 # = its source model, sql/NAME.sql
    writes: tuple[str, ...]
    run: Callable                             # fn(lake, source(batch_rows) -> Arrow reader, cfg) -> stats dict


@dataclass(frozen=True)
class Step:
    name: str
    model: models.Model                       # the SQL it materialises, or the source its Python function reads
    writes: tuple[str, ...]
    python: Callable | None = None
    reads: tuple[str, ...] = field(default=())

    @property
    def inputs(self) -> tuple[str, ...]:
        return tuple(sorted(set(self.model.reads) | set(self.reads)))

    def code(self) -> str:
        extra = inspect.getsource(sys.modules[self.python.__module__]) if self.python else ""
        return self.model.sql + extra


def declared_steps(python_steps: tuple[PythonStep, ...], sql_dir: Path | None = None) -> list[Step]:
    """Every model of sql/ (headers checked against their SQL) and every Python step, in file-name order."""
    by_name = {p.name: p for p in python_steps}
    found = []
    for name in models.available(sql_dir):
        model = models.load(name, sql_dir)
        models.check_reads(model)
        if model.writes:
            found.append(Step(name, model, (model.writes,)))
            continue
        step = by_name.pop(model.feeds, None)
        if step is None:
            raise TransformError(f"sql/{name}.sql feeds {model.feeds!r}, but no Python step has that name")
        found.append(Step(name, model, step.writes, step.run))
    if by_name:
        missing = next(iter(by_name))
        raise TransformError(f"Python step {missing!r} has no source model sql/{missing}.sql (-- feeds: {missing})")
    return found


def order(steps: list[Step]) -> list[Step]:
    """The steps in dependency order: each reads only tables written above it or source tables."""
    writer: dict[str, str] = {}
    for step in steps:
        for table in step.writes:
            if table in writer:
                raise TransformError(f"table {table!r} is written by two steps: {writer[table]} and {step.name}")
            if table not in TABLES:
                raise TransformError(f"step {step.name} writes {table!r}, which lake/tables does not declare")
            if TABLES[table].layer in SOURCE_LAYERS:
                raise TransformError(f"step {step.name} writes {table!r}, a {TABLES[table].layer} table")
            writer[table] = step.name
    graph: dict[str, set[str]] = {}
    for step in steps:
        graph[step.name] = set()
        for table in step.inputs:
            if table in writer:
                graph[step.name].add(writer[table])
            elif table not in TABLES or TABLES[table].layer not in SOURCE_LAYERS:
                raise TransformError(f"step {step.name} reads {table!r}, which no step writes and which is not "
                                     f"a raw or config table declared in lake/tables")
    sorter = graphlib.TopologicalSorter(graph)
    try:
        sorter.prepare()
    except graphlib.CycleError as e:
        raise TransformError(f"the steps read each other's tables in a cycle: {' -> '.join(e.args[1])}") from None
    by_name = {s.name: s for s in steps}
    ordered: list[Step] = []
    while sorter.is_active():
        ready = sorted(sorter.get_ready())
        ordered.extend(by_name[n] for n in ready)
        sorter.done(*ready)
    return ordered
