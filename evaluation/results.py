"""The rows an evaluation produces: metrics (the `evals` table) and per-item outcomes (`eval_items`)."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone

MODEL = "model"  # `system` of the rows that score the evaluated model itself (the rest are baselines)


@dataclass(frozen=True)
class Metric:
    suite: str
    metric: str
    category: str
    value: float
    n: int
    system: str = MODEL


@dataclass
class ItemOutcome:
    """One evaluation item: what it asked, what came back, how it scored, and whether it was dropped."""

    item_id: str
    suite: str
    kind: str
    repo_id: str | None
    source_id: str | None      # sample_id, pair_id or "<path>#<function>"
    prompt: str
    reference: str
    generation: str | None = None
    scores: dict = field(default_factory=dict)
    status: str = "scored"     # scored | contaminated | uncheckable
    overlap: float = 0.0       # share of its n-grams seen in the train split


def metric_rows(eval_run: str, checkpoint: str, snapshot: int, metrics: list[Metric]) -> list[dict]:
    now = datetime.now(timezone.utc)
    return [{"eval_run": eval_run, "checkpoint": checkpoint, "suite": m.suite, "metric": m.metric,
             "category": m.category, "system": m.system, "value": float(m.value), "n": int(m.n),
             "lake_snapshot": snapshot, "created_at": now} for m in metrics]


def item_rows(eval_run: str, checkpoint: str, items: list[ItemOutcome]) -> list[dict]:
    return [{"eval_run": eval_run, "checkpoint": checkpoint, "item_id": i.item_id, "suite": i.suite,
             "kind": i.kind, "repo_id": i.repo_id, "source_id": i.source_id, "prompt": i.prompt,
             "reference": i.reference, "generation": i.generation, "scores": json.dumps(i.scores, sort_keys=True),
             "status": i.status, "overlap": float(i.overlap)} for i in items]
