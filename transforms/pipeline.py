"""The transforms pipeline: SQL models and Python steps in order, each recorded in `runs`, each skipped
when nothing it depends on changed since its last successful run.

A step's fingerprint is the hash of its code (the SQL text, or the Python module's source), the config, and,
per input table, the last lake snapshot that changed it. A step is skipped when its last `ok` run recorded
the same fingerprint and its output tables are still at the snapshots that run left them at.
"""
from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import duckdb

from lake import Lake, LakeError
from lake.inspect import table_versions
from transforms import dag, documents, near_dedup
from transforms.config import TransformConfig
from transforms.dag import PythonStep, Step
from transforms.errors import TransformError


# The Python steps, one line each: name (its source is sql/NAME.sql, `-- feeds: NAME`), tables written, function.
PYTHON_STEPS = (
    PythonStep("near_dedup", ("near_dup_bands", "near_dup_shares", "near_dup_clusters"), near_dedup.run),
    PythonStep("documents", ("documents",), documents.build_documents),
    PythonStep("sft_candidates", ("sft_candidates",), documents.build_sft),
)


def steps(sql_dir: Path | None = None) -> list[Step]:
    """The pipeline, in the order derived from what each step reads and writes (transforms/dag.py)."""
    return dag.order(dag.declared_steps(PYTHON_STEPS, sql_dir))


# -- change tracking ------------------------------------------------------------------------------------

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
        if only not in {s.name for s in plan}:
            raise TransformError(f"no step or model {only!r}; steps: {', '.join(s.name for s in plan)}")
        plan = [s for s in plan if s.name == only]
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
            reports.append(_run_step(lake, step, cfg, fp, variables, versions, echo))
            total.rows += reports[-1].stats.get("rows", 0)
        total.stats = {r.name: r.action for r in reports}
    return reports


def _run_step(lake: Lake, step: Step, cfg: TransformConfig, fp: str, variables: dict, before: dict[str, int],
              echo, python: Callable | None = None) -> StepReport:
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
        # A step that changed a table it does not declare would hide an edge of the DAG from the order.
        undeclared = sorted(t for t, v in versions.items()
                            if v != before.get(t, -1) and t not in step.writes and t != "runs")
        if undeclared:
            raise TransformError(f"step {step.name} wrote {', '.join(undeclared)}, which it does not declare")
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
    versions = table_versions(lake)
    fp = fingerprint(step, cfg, versions)
    done = _run_step(lake, step, cfg, fp, {}, versions, lambda s: None,
                     python=lambda lk, source, c: near_dedup.finish(lk, c, documents, shares, digest))
    return done.stats
