"""The transforms pipeline: SQL models and Python steps in order, each recorded in `runs`, each skipped
when nothing it depends on changed since its last successful run.

A step's fingerprint is the hash of its code (the SQL text, or the Python module's source), the config, and,
per input table, the last lake snapshot that changed it. A step is skipped when its last `ok` run recorded
the same fingerprint and its output tables are still at the snapshots that run left them at.
"""
from __future__ import annotations

import hashlib
import inspect
import json
import sys
import time
from dataclasses import dataclass, field
from typing import Callable

import duckdb

from lake import Lake, LakeError
from transforms import documents, models, near_dedup
from transforms.config import TransformConfig
from transforms.errors import TransformError


@dataclass(frozen=True)
class Step:
    name: str
    model: models.Model                       # the SQL it materialises, or the source its Python function reads
    writes: tuple[str, ...]
    python: Callable | None = None            # fn(lake, source(batch_rows) -> Arrow reader, cfg) -> stats dict
    reads: tuple[str, ...] = field(default=())

    @property
    def inputs(self) -> tuple[str, ...]:
        return tuple(sorted(set(self.model.reads) | set(self.reads)))

    def code(self) -> str:
        extra = inspect.getsource(sys.modules[self.python.__module__]) if self.python else ""
        return self.model.sql + extra


def _sql_step(name: str) -> Step:
    m = models.load(name)
    return Step(name, m, (m.writes,))


def _python_step(name: str, source: str, writes: tuple[str, ...], fn: Callable) -> Step:
    m = models.load(source)
    if m.feeds != name:
        raise TransformError(f"sql/{source}.sql feeds {m.feeds!r}, not step {name!r}")
    return Step(name, m, writes, fn)


def steps() -> list[Step]:
    """The pipeline, in dependency order (each step reads only tables written above it, or raw ones)."""
    return [
        _sql_step("clean_repos"),
        _sql_step("clean_splits"),
        _sql_step("clean_files"),
        _sql_step("clean_exact_dedup"),
        _python_step("near_dedup", "clean_dedup_candidates", ("near_dup_bands", "near_dup_shares", "near_dup_clusters"),
                     near_dedup.run),
        _sql_step("clean_commit_filter"),
        _sql_step("clean_pulls"),
        _python_step("documents", "clean_document_sources", ("documents",), documents.build_documents),
        _python_step("sft", "clean_sft_sources", ("sft_candidates",), documents.build_sft),
        _sql_step("gold_samples"),
        _sql_step("gold_sft_pairs"),
    ]


# -- change tracking ------------------------------------------------------------------------------------

def table_versions(lake: Lake) -> dict[str, int]:
    """Table name -> the last snapshot that inserted into, deleted from, created or altered it."""
    ids = {str(tid): name for name, tid in lake.con.execute(
        "SELECT table_name, table_id FROM ducklake_table_info('lake')").fetchall()}
    last: dict[str, int] = {}
    for snapshot, changes in lake.con.execute("SELECT snapshot_id, changes FROM lake.snapshots()").fetchall():
        for values in (changes or {}).values():
            for v in values:
                name = ids.get(v) or (v.split(".", 1)[1] if v.startswith("main.") else None)
                if name:
                    last[name] = max(last.get(name, -1), int(snapshot))
    return last


def fingerprint(step: Step, cfg: TransformConfig, versions: dict[str, int]) -> str:
    doc = {"code": hashlib.sha256(step.code().encode()).hexdigest(), "config": cfg.sql_variables(),
           "licenses": cfg.allowed_licenses, "inputs": {t: versions.get(t, -1) for t in step.inputs}}
    return hashlib.sha256(json.dumps(doc, sort_keys=True, default=str).encode()).hexdigest()[:20]


def last_ok_run(lake: Lake, step: Step) -> dict | None:
    row = lake.con.execute(
        "SELECT stats FROM runs WHERE command = ? AND status = 'ok' ORDER BY ended_at DESC LIMIT 1",
        [f"transforms {step.name}"]).fetchone()
    return json.loads(row[0]) if row else None


def up_to_date(lake: Lake, step: Step, fp: str, versions: dict[str, int]) -> bool:
    last = last_ok_run(lake, step)
    if not last or last.get("fingerprint") != fp:
        return False
    return all(versions.get(t, -1) == v for t, v in (last.get("outputs") or {}).items())


# -- running --------------------------------------------------------------------------------------------

def set_variables(lake: Lake, cfg: TransformConfig, snapshot: int) -> dict:
    variables = {**cfg.sql_variables(), "lake_snapshot": snapshot}
    for name, value in variables.items():
        lake.con.execute(f"SET VARIABLE {name} = ?", [value])
    return variables


def seed_licenses(lake: Lake, cfg: TransformConfig) -> int:
    """Fill allowed_licenses with the configured OSI list when it is empty; an edited table is left alone."""
    if lake.count("allowed_licenses"):
        return 0
    rows = [{"spdx_id": s, "family": f, "preference": p} for s, f, p in cfg.allowed_licenses]
    return lake.write("allowed_licenses", rows, mode="overwrite")


def source_reader(lake: Lake, sql: str, variables: dict, batch_rows: int = 1_000):
    """Arrow batches of a source model, on its own cursor so that the step can write while it reads."""
    cur = lake.con.cursor()
    cur.execute("USE lake")
    for name, value in variables.items():
        cur.execute(f"SET VARIABLE {name} = ?", [value])
    return cur.execute(sql).to_arrow_reader(batch_rows)


def _materialise(lake: Lake, step: Step) -> int:
    # Staged in a temporary table first: lake writes count their source, which would run the model twice.
    lake.con.execute("DROP TABLE IF EXISTS temp.main.__model")
    try:
        lake.con.execute(f"CREATE TEMP TABLE __model AS {step.model.sql}")
        return lake.write(step.writes[0], "SELECT * FROM temp.main.__model", mode="overwrite")
    finally:
        lake.con.execute("DROP TABLE IF EXISTS temp.main.__model")


@dataclass
class StepReport:
    name: str
    action: str          # ran | skipped | would run | would skip
    reason: str
    stats: dict = field(default_factory=dict)


def run(lake: Lake, cfg: TransformConfig | None = None, only: str | None = None, dry_run: bool = False,
        force: bool = False, echo: Callable[[str], None] = lambda s: None, before: str | None = None) -> list[StepReport]:
    """Run the pipeline (or one step of it, or the steps before `before`); returns what each step did."""
    cfg = cfg or TransformConfig()
    plan = steps()
    if before is not None:
        if before not in [s.name for s in plan]:
            raise TransformError(f"no step {before!r}; steps: {', '.join(s.name for s in plan)}")
        plan = plan[:[s.name for s in plan].index(before)]
    if only is not None:
        names = {s.name for s in plan} | {s.model.name for s in plan}
        if only not in names:
            raise TransformError(f"no step or model {only!r}; steps: {', '.join(s.name for s in plan)}")
        plan = [s for s in plan if only in (s.name, s.model.name)]
    if not dry_run:
        seed_licenses(lake, cfg)
    snapshot = lake.snapshot()
    variables = set_variables(lake, cfg, snapshot)
    reports: list[StepReport] = []
    pending: set[str] = set()  # tables a dry run would rewrite: their readers would run too
    with lake.run("transforms run", {"only": only, "before": before, "dry_run": dry_run, "force": force}) as total:
        for step in plan:
            versions = table_versions(lake)
            fp = fingerprint(step, cfg, versions)
            stale = force or only is not None or not up_to_date(lake, step, fp, versions)
            upstream = sorted(pending & set(step.inputs))
            if dry_run:
                action = "would run" if stale or upstream else "would skip"
                reason = f"after {', '.join(upstream)} change" if upstream and not stale else (
                    "inputs or code changed" if stale else "unchanged")
                if action == "would run":
                    pending.update(step.writes)
                reports.append(StepReport(step.name, action, reason))
                echo(f"{action:10} {step.name:22} {reason}")
                continue
            if not stale:
                reports.append(StepReport(step.name, "skipped", "unchanged since its last run"))
                echo(f"{'skipped':10} {step.name:22} unchanged since its last run")
                continue
            reports.append(_run_step(lake, step, cfg, fp, variables, echo))
            total.rows += reports[-1].stats.get("rows", 0)
        total.stats = {r.name: r.action for r in reports}
    return reports


def _run_step(lake: Lake, step: Step, cfg: TransformConfig, fp: str, variables: dict, echo,
              python: Callable | None = None) -> StepReport:
    t0 = time.monotonic()
    python = python or step.python
    with lake.run(f"transforms {step.name}", {"fingerprint": fp}) as rec:
        try:
            if python:
                stats = python(lake, lambda rows=1_000: source_reader(lake, step.model.sql, variables, rows), cfg)
            else:
                stats = {"rows": _materialise(lake, step)}
        except (LakeError, duckdb.Error) as e:
            raise TransformError(f"step {step.name}: {str(e).splitlines()[0]}") from None
        versions = table_versions(lake)
        rec.rows = max(int(stats.get("rows", 0)), 0)
        rec.stats = {"fingerprint": fp, "outputs": {t: versions.get(t, -1) for t in step.writes},
                     "seconds": round(time.monotonic() - t0, 2), **stats}
    echo(f"{'ran':10} {step.name:22} {rec.rows:>8} rows  {time.monotonic() - t0:6.1f}s")
    return StepReport(step.name, "ran", "inputs or code changed", rec.stats)


# -- near dedup over K machines (transforms/near_dedup_cli.py) -------------------------------------------

def _near_dedup_step() -> Step:
    return next(s for s in steps() if s.name == "near_dedup")


def near_dedup_documents(lake: Lake, shares: int, cfg: TransformConfig | None = None) -> tuple[int, str]:
    """Number near dedup's documents (its source model over the lake as it is now) for `shares` shares."""
    cfg = cfg or TransformConfig()
    variables = set_variables(lake, cfg, lake.snapshot())
    sql = _near_dedup_step().model.sql
    return near_dedup.number_documents(lake, lambda rows: source_reader(lake, sql, variables, rows), shares)


def finish_near_dedup(lake: Lake, shares: int, documents: int, digest: str, cfg: TransformConfig | None = None) -> dict:
    """near_dedup's finishing step over committed shares, recorded as the pipeline's near_dedup run (so that
    `transforms run` skips it while its inputs are unchanged)."""
    cfg = cfg or TransformConfig()
    step = _near_dedup_step()
    fp = fingerprint(step, cfg, table_versions(lake))
    done = _run_step(lake, step, cfg, fp, {}, lambda s: None,
                     python=lambda lk, source, c: near_dedup.finish(lk, c, documents, shares, digest))
    return done.stats
