"""The learning-rate schedule: warmup, then cosine over whichever budget (steps or time) runs out first."""
from __future__ import annotations

import csv
import math

import pytest

from tests.helpers.fit_runs import fit_args
from trainers.fit import main
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


def test_warmup_stable_decay_holds_the_peak_then_falls_linearly_to_the_floor_at_the_budget():
    f = lr_lambda(10, 110, 0.1, decay_share=0.2)   # decay over the last 20 of the 100 steps after warmup
    assert f(4) == pytest.approx(0.5)
    assert [f(s) for s in (10, 50, 90)] == pytest.approx([1.0, 1.0, 1.0])
    assert f(100) == pytest.approx(0.1 + 0.9 * 0.5)   # half-way down: 10 of its 20 steps
    assert f(110) == pytest.approx(0.1) and f(300) == pytest.approx(0.1)
    spent = {"share": 0.9}                          # by the clock: 90% of the time spent, 1% of the steps
    g = lr_lambda(10, 100_000, 0.0, lambda: spent["share"], decay_share=0.2)
    assert g(20) == pytest.approx(0.5)
    spent["share"] = 1.05
    assert g(21) == 0.0


def test_warmup_stable_decay_refuses_a_share_outside_the_budget():
    from trainers.errors import TrainerError
    for share in (0.0, 1.5, -0.2):
        with pytest.raises(TrainerError, match="lr_decay_share"):
            lr_lambda(10, 110, 0.1, decay_share=share)


def test_schedule_without_a_horizon_is_flat_after_warmup():
    assert lr_lambda(10, None, 0.1)(10_000) == 1.0


def test_a_time_capped_fit_ends_its_cosine_at_the_floor(fit_lake, tmp_path):
    """trainers.fit --model.lr_decay_to_max_time true with a step horizon far away and a few seconds of
    max_time: the time cap ends the run and the
    learning rate has come down to lr * min_lr_ratio, not stayed at the top of a 100k-step cosine."""
    import torch
    run = tmp_path / "run"
    args = fit_args(fit_lake, run, "--trainer.max_steps", "100000", "--model.lr_decay_steps", "100000",
                    "--model.warmup_steps", "2", "--model.lr", "1.0e-3", "--model.min_lr_ratio", "0.1",
                    "--model.lr_decay_to_max_time", "true")
    args[args.index("--trainer.max_time") + 1] = "00:00:00:08"
    assert main(args) == 0
    lrs = [float(r["train/lr"]) for r in csv.DictReader(next((run / "logs").glob("version_*/metrics.csv")).open())
           if r.get("train/lr")]
    assert 3 <= len(lrs) < 100000 and max(lrs) == pytest.approx(1.0e-3)
    after_warmup = lrs[2:]
    assert all(b <= a + 1e-12 for a, b in zip(after_warmup, after_warmup[1:]))  # only ever decays
    # the rate the next step would have used, as the final checkpoint's scheduler holds it: every group's floor
    # (the embedding's group has its own peak, model.embed_lr)
    state = torch.load(run / "checkpoints" / "final.ckpt", weights_only=False)["lr_schedulers"][0]
    assert 1.0e-3 in state["base_lrs"]
    assert state["_last_lr"] == pytest.approx([0.1 * b for b in state["base_lrs"]])
