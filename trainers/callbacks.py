"""Callbacks of a training run: the final checkpoint, the loss-curve PNG, and the run's row in the lake."""
from __future__ import annotations

import csv
import json
import math
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

import lightning as L
import torch
from lightning.pytorch.utilities import rank_zero_only

from lake import Lake, Write
from lake.runs import sanitize
from trainers import flops
from trainers.errors import TrainerError


def _checkpoint_dir(trainer) -> Path:
    cb = trainer.checkpoint_callback
    return Path(cb.dirpath) if cb is not None and cb.dirpath else Path(trainer.default_root_dir) / "checkpoints"


class FinalCheckpoint(L.Callback):
    """Saves `final.ckpt` when training ends normally (max_steps, max_time); `last.ckpt` is ModelCheckpoint's."""

    def __init__(self):
        self.path: Path | None = None

    def on_train_end(self, trainer, pl_module) -> None:
        self.path = _checkpoint_dir(trainer) / "final.ckpt"
        trainer.save_checkpoint(self.path)


class StopOnNonFinite(L.Callback):
    """Stops a run that diverges, with the weights from before the divergence on disk.

    A non-finite loss is caught before its backward pass (the weights are still the state from before this
    step: they are saved, when finite, as nonfinite-stepN.ckpt). Before each periodic checkpoint (Lightning
    runs ModelCheckpoint after the other callbacks) the weights are checked too, so that last.ckpt is always
    a state from before a divergence. Lightning's EarlyStopping(check_finite) would only stop at the next
    validation, after the weights are lost."""

    def __init__(self, every_n_train_steps: int):
        self.every = max(1, every_n_train_steps)

    def on_before_backward(self, trainer, pl_module, loss) -> None:
        bad = not bool(torch.isfinite(loss))
        if trainer.world_size > 1:  # every rank must take the same decision (and the checkpoint together)
            bad = trainer.strategy.reduce_boolean_decision(bad, all=False)
        if not bad:
            return
        cb = trainer.checkpoint_callback
        if _finite(pl_module):
            folder = cb.dirpath if cb is not None and cb.dirpath else trainer.default_root_dir
            path = f"{folder}/nonfinite-step{trainer.global_step}.ckpt"
            trainer.save_checkpoint(path)
            where = f"weights from before this step saved to {path}"
        else:
            last = cb.last_model_path if cb is not None else ""
            where = f"the weights are already non-finite; last finite checkpoint: {last or 'none saved yet'}"
        raise TrainerError(f"training loss is {loss.item()} at step {trainer.global_step}: stopped; {where}")

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if trainer.global_step % self.every:
            return
        if not _finite(pl_module):
            cb = trainer.checkpoint_callback
            raise TrainerError(f"the weights are not finite after step {trainer.global_step}: stopped; last finite "
                               f"checkpoint: {(cb.last_model_path if cb else '') or 'none saved yet'}")


def _finite(pl_module) -> bool:
    return all(bool(torch.isfinite(p).all()) for p in pl_module.parameters())


class Throughput(L.Callback):
    """train/tokens_per_s (step to step, all ranks) and train/mfu (trainers/flops.py against the device's peak).

    Lightning's ThroughputMonitor logs other names (`train/device/items_per_sec`, ...) over a window and
    knows no CPU peak; these names are the ones the configs and bench/demo_trials.py read."""

    def __init__(self):
        self._t_last: float | None = None
        self._flops_per_token: float | None = None

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        now = time.perf_counter()
        if self._t_last is not None:
            world = trainer.world_size
            tokens = batch["input_ids"].numel() * world * trainer.accumulate_grad_batches
            tps = tokens / max(now - self._t_last, 1e-9)
            pl_module.log("train/tokens_per_s", tps, on_step=True, prog_bar=True)
            if self._flops_per_token is None:
                cfg = pl_module.config
                self._flops_per_token = flops.flops_per_token(pl_module.model, cfg.num_hidden_layers,
                                                              cfg.hidden_size, batch["input_ids"].shape[1])
            peak = flops.peak_flops(pl_module.device, trainer.precision, pl_module.hparams.get("peak_flops"))
            if peak:
                pl_module.log("train/mfu", self._flops_per_token * tps / (peak * world), on_step=True)
        self._t_last = now

    def on_validation_epoch_end(self, trainer, pl_module) -> None:
        self._t_last = None  # validation time is not training throughput


class CurriculumLog(L.Callback):
    """The curriculum stage and its category weights at each step (when the data module has a curriculum)."""

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        curriculum = getattr(trainer.datamodule, "curriculum", None)
        if curriculum is None:
            return
        stage = curriculum.stage_at_step(trainer.global_step)
        pl_module.log("curriculum/stage", float(stage.index), on_step=True)
        for cat, w in stage.weights.items():
            pl_module.log(f"curriculum/weight_{cat}", w, on_step=True)


class LossCurve(L.Callback):
    """Writes loss_curve.png (train loss, and held-out bits per byte by category) beside the CSV log."""

    def on_train_end(self, trainer, pl_module) -> None:
        self.plot(trainer)

    def on_exception(self, trainer, pl_module, exception) -> None:
        self.plot(trainer)

    @rank_zero_only
    def plot(self, trainer) -> Path | None:
        from lightning.pytorch.loggers import CSVLogger
        csv_logger = next((lg for lg in trainer.loggers if isinstance(lg, CSVLogger)), None)
        if csv_logger is None:
            return None
        csv_logger.save()
        metrics = Path(csv_logger.log_dir) / "metrics.csv"
        if not metrics.exists():
            return None
        train, val = read_curves(metrics)
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        fig, ax = plt.subplots(figsize=(8, 4.5))
        if train:
            ax.plot(*zip(*train), label="train loss (nats/token)", lw=1)
        for name, points in sorted(val.items()):
            ax.plot(*zip(*points), marker="o", label=f"{name} (bits/byte)")
        ax.set_xlabel("step")
        ax.legend()
        ax.grid(alpha=0.3)
        out = Path(csv_logger.log_dir) / "loss_curve.png"
        fig.savefig(out, dpi=100, bbox_inches="tight")
        plt.close(fig)
        return out


def read_curves(metrics_csv: Path) -> tuple[list[tuple[int, float]], dict[str, list[tuple[int, float]]]]:
    """(step, train/loss) and {val/bpb_X: [(step, value)]} from a CSVLogger metrics.csv."""
    train, val = [], {}
    with open(metrics_csv, newline="") as f:
        for row in csv.DictReader(f):
            step = int(row["step"])
            if row.get("train/loss"):
                train.append((step, float(row["train/loss"])))
            for k, v in row.items():
                if k.startswith("val/bpb") and v:
                    val.setdefault(k, []).append((step, float(v)))
    return train, val


def _scrub(value):
    """Token-shaped strings out of a config (lake.runs.sanitize on the values; its key rule would also hide
    innocent keys such as `tokenizer_id`)."""
    if isinstance(value, dict):
        return {k: _scrub(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_scrub(v) for v in value]
    return sanitize(value) if isinstance(value, str) else value


class LakeRunRecord(L.Callback):
    """One `training_runs` row: written when fitting starts, completed when it ends (or fails)."""

    def __init__(self, lake: str | None, config: dict, resumed_from: str | None = None):
        self.lake, self.config, self.resumed_from = lake, config, resumed_from
        self.run_id = str(uuid.uuid4())
        self.started_at = datetime.now(timezone.utc)
        self.row: dict = {}

    def _write(self, row: dict) -> None:
        """The training_runs row and, beside it, the `runs` row every pipeline command leaves (same run_id)."""
        row = {**row, "config": json.dumps(_scrub(self.config), default=str),
               "metrics": json.dumps(row.get("metrics") or {}, default=str)}
        with Lake(self.lake) as lk:
            ended = row.get("ended_at")
            run = {"run_id": self.run_id, "command": "trainers.fit", "args": row["config"],
                   "started_at": self.started_at, "ended_at": ended, "status": row.get("status"),
                   "rows_written": 1, "snapshot_id": lk.snapshot() if ended else None,
                   "error": json.loads(row["metrics"]).get("error"), "stats": row["metrics"]}
            lk.commit([Write("training_runs", [row], mode="upsert"), Write("runs", [run], mode="upsert")])

    @rank_zero_only
    def on_fit_start(self, trainer, pl_module) -> None:
        meta = pl_module.meta
        self.row = {"run_id": self.run_id, "lake_snapshot": meta.get("lake_snapshot"),
                    "tokenizer_id": meta.get("tokenizer_id"), "shards": meta.get("shards", []), "checkpoint": None,
                    "metrics": {}, "started_at": self.started_at, "ended_at": None, "status": "running",
                    "run_dir": str(Path(trainer.loggers[0].log_dir if trainer.loggers else trainer.default_root_dir).resolve()),  # trainer.log_dir is a collective
                    "resumed_from": self.resumed_from}
        self._write(self.row)

    def finish(self, trainer, status: str, checkpoint: Path | None, error: str | None = None) -> None:
        if trainer.global_rank != 0 or not self.row:
            return
        metrics = {k: float(v) for k, v in trainer.callback_metrics.items() if math.isfinite(float(v))}
        metrics["step"] = int(trainer.global_step)
        dm = trainer.datamodule
        if getattr(dm, "xz", None):
            metrics["xz9"] = dm.xz
        if error:
            metrics["error"] = error
        self.row.update(status=status, ended_at=datetime.now(timezone.utc), metrics=metrics,
                        checkpoint=str(checkpoint.resolve()) if checkpoint else None)
        self._write(self.row)
