"""The staged curriculum: which category each training window comes from, as a pure function of its index.

A stage has a token budget and weights per category (NAT / MIX / CODE). Stage i starts at the first optimiser
step after the budgets before it are spent; the last stage runs on past its budget. Within a stage, windows
come in blocks of BLOCK: each block holds exactly round(weight * BLOCK) windows of each category, in an order
shuffled by (seed, stage, block). So the mixture is exact at block scale, and how many windows of a category
came before global window k is computed, not remembered: resuming at any step reproduces the order.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from trainers.errors import TrainerError

BLOCK = 1000


@dataclass
class Stage:
    """One curriculum stage: `tokens` of training drawn with `weights` per category."""

    name: str = "main"
    tokens: int = 0  # 0: unbounded (only sensible for the last stage)
    weights: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class StageView:
    index: int
    name: str
    weights: dict[str, float]  # normalised over the categories that have training shards


def _block_counts(weights: np.ndarray) -> np.ndarray:
    """Largest-remainder split of BLOCK windows by weight."""
    raw = weights * BLOCK
    counts = np.floor(raw).astype(np.int64)
    rest = BLOCK - counts.sum()
    order = np.lexsort((np.arange(len(raw)), -(raw - counts)))  # stable: ties by category order
    counts[order[:rest]] += 1
    return counts


class Curriculum:
    def __init__(self, stages: list[Stage], categories: list[str], tokens_per_step: int, seed: int):
        if not stages:
            raise TrainerError("curriculum: no stages")
        self.categories = list(categories)
        self.seed = int(seed)
        self.tokens_per_step = int(tokens_per_step)
        self.stages: list[StageView] = []
        self.counts: list[np.ndarray] = []
        for i, st in enumerate(stages):
            unknown = sorted(set(st.weights) - set(self.categories))
            w = np.array([max(0.0, float(st.weights.get(c, 0.0))) for c in self.categories])
            if w.sum() <= 0:
                raise TrainerError(f"curriculum stage {st.name!r}: none of its categories {sorted(st.weights)} "
                                   f"has training shards (have {self.categories})")
            if unknown:
                import warnings
                warnings.warn(f"curriculum stage {st.name!r}: no training shards for {unknown}; "
                              f"its weights are renormalised over {self.categories}")
            w = w / w.sum()
            self.stages.append(StageView(i, st.name, {c: float(x) for c, x in zip(self.categories, w)}))
            self.counts.append(_block_counts(w))
        self.start_step = [0]
        for st in stages[:-1]:
            if st.tokens <= 0:
                raise TrainerError(f"curriculum stage {st.name!r}: only the last stage may have no token budget")
            self.start_step.append(self.start_step[-1] + math.ceil(st.tokens / self.tokens_per_step))
        self._base: dict[int, np.ndarray] = {}
        self._blocks: dict[tuple[int, int], np.ndarray] = {}

    def stage_index(self, step: int) -> int:
        return int(np.searchsorted(self.start_step, step, side="right") - 1)

    def stage_at_step(self, step: int) -> StageView:
        return self.stages[self.stage_index(step)]

    def _block(self, stage: int, block: int) -> np.ndarray:
        if (stage, block) in self._blocks:
            return self._blocks[(stage, block)]
        if len(self._blocks) > 64:
            self._blocks.clear()
        cats = np.repeat(np.arange(len(self.categories)), self.counts[stage])
        self._blocks[(stage, block)] = np.random.default_rng([self.seed, 7, stage, block]).permutation(cats)
        return self._blocks[(stage, block)]

    def _count_in_stage(self, stage: int, n: int) -> np.ndarray:
        """Windows of each category among the first n windows of a stage."""
        full, rest = divmod(n, BLOCK)
        out = self.counts[stage] * full
        if rest:
            out = out + np.bincount(self._block(stage, full)[:rest], minlength=len(self.categories))
        return out

    def _stage_base(self, stage: int, samples_per_step: int) -> np.ndarray:
        if stage not in self._base:
            base = np.zeros(len(self.categories), dtype=np.int64)
            for j in range(stage):
                n = (self.start_step[j + 1] - self.start_step[j]) * samples_per_step
                base = base + self._count_in_stage(j, n)
            self._base[stage] = base
        return self._base[stage]

    def assign(self, k: int, samples_per_step: int) -> tuple[int, int]:
        """(category index, ordinal within that category) of global window k."""
        stage = self.stage_index(k // samples_per_step)
        p = k - self.start_step[stage] * samples_per_step
        block, r = divmod(p, BLOCK)
        arrangement = self._block(stage, block)
        cat = int(arrangement[r])
        before = (self._stage_base(stage, samples_per_step)[cat] + self.counts[stage][cat] * block
                  + int(np.count_nonzero(arrangement[:r] == cat)))
        return cat, int(before)
