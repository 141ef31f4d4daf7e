"""The learning-rate schedule: warmup, then cosine over whichever budget (steps or time) runs out first."""
from __future__ import annotations

import math

import pytest

from trainers.model import lr_lambda


def cosine(t: float, min_ratio: float) -> float:  # the textbook formula, written out independently
    return min_ratio + (1 - min_ratio) * (1 + math.cos(math.pi * t)) / 2


def test_schedule_by_steps_warms_up_then_decays_to_the_floor():
    f = lr_lambda(10, 110, 0.1)
    assert f(0) == pytest.approx(0.1) and f(9) == pytest.approx(1.0)
    assert f(60) == pytest.approx(cosine(0.5, 0.1))
    assert f(110) == pytest.approx(0.1) and f(500) == pytest.approx(0.1)


def test_schedule_follows_the_time_budget_when_it_runs_out_before_the_steps():
    spent = {"share": 0.0}
    f = lr_lambda(10, 1000, 0.1, lambda: spent["share"])
    assert f(5) == pytest.approx(0.6)                  # warmup is in steps whatever the clock says
    spent["share"] = 0.5
    assert f(100) == pytest.approx(cosine(0.5, 0.1))   # 9% of the steps, half the time: the time decides
    spent["share"] = 1.2                               # over the cap (the last step runs past it)
    assert f(200) == pytest.approx(0.1)
    spent["share"] = 0.01
    assert f(901) == pytest.approx(cosine(0.9, 0.1))   # (901 - 10) / (1000 - 10): the steps decide


def test_schedule_without_a_horizon_is_flat_after_warmup():
    assert lr_lambda(10, None, 0.1)(10_000) == 1.0
