"""Evaluation results and human ratings."""
from lake.schema import Table, cols

TABLES = [
    Table(
        "evals", "meta", "One row per (evaluation run, suite, metric, category).",
        cols(
            ("eval_run", "VARCHAR"), ("checkpoint", "VARCHAR"), ("suite", "VARCHAR"), ("metric", "VARCHAR"),
            ("category", "VARCHAR"), ("value", "DOUBLE"), ("n", "BIGINT"), ("created_at", "TIMESTAMPTZ"),
        ),
        key=("eval_run", "suite", "metric", "category"), scope=("eval_run",),
    ),
]
