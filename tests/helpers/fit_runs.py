"""A tiny `python -m trainers.fit` run on the trainer tests' Go corpus: its config and flags, and its lake."""
from __future__ import annotations

import csv
from pathlib import Path

from lake import Lake
from tests.helpers.go_corpus import build_go_lake
from tests.helpers.lakefill import row

REPO = Path(__file__).parents[2]
CONFIG = str(REPO / "trainers/configs/tiny-cpu.yaml")
TINY = ["--model.d_model", "32", "--model.n_layers", "2", "--model.n_heads", "2", "--model.n_kv_heads", "1",
        "--model.ffn_hidden", "64", "--model.warmup_steps", "5", "--model.lr_decay_steps", "200",
        "--data.seq_len", "64", "--data.batch_size", "4", "--data.val_tokens_per_category", "2048",
        "--trainer.log_every_n_steps", "1", "--trainer.enable_progress_bar", "false",
        "--trainer.val_check_interval", "1000", "--trainer.max_time", "null", "--trainer.enable_model_summary", "false",
        # the step-based cosine these tests were written against, not the demo's warmup-stable-decay to its time cap
        "--model.lr_decay_to_max_time", "false", "--model.lr_decay_share", "null", "--model.min_lr_ratio", "0.1",
        # fp32: the tests compare losses and weights across runs to the last digits, not the demo's bf16 autocast
        "--trainer.precision", "32-true"]


def build_fit_lake(root: Path) -> Path:
    """The Go corpus (120 files, a 400-piece tokenizer, shards) and 40 SFT pairs, in a lake at `root`."""
    with Lake(root) as lk:
        build_go_lake(lk, max_files=120, vocab_size=400)
        lk.write("sft_pairs", _sft_rows(), mode="overwrite")
    return root


def _sft_rows() -> list[dict]:
    rows = []
    for i in range(40):
        rows.append(row("sft_pairs", pair_id=f"p{i:03d}", kind="commit_message", split="val" if i % 5 == 0 else "train",
                        prompt=f"<DIFF>-\tx := {i}\n+\tx := {i + 1}\n", response=f"bump x to {i + 1}",
                        repo_id="golang/go", license="BSD-3-Clause"))
    return rows


def fit_args(lake, run_dir, *extra) -> list[str]:
    return ["--config", CONFIG, "--data.lake", str(lake), "--run_dir", str(run_dir), *TINY, *extra]


def train_losses(run_dir: Path) -> dict[int, float]:
    """step -> train/loss over every version of a run's CSV log (a resumed version overrides)."""
    out: dict[int, float] = {}
    for metrics in sorted((run_dir / "logs").glob("version_*/metrics.csv"), key=lambda p: int(p.parent.name[8:])):
        with open(metrics, newline="") as f:
            for r in csv.DictReader(f):
                if r.get("train/loss"):
                    out[int(r["step"])] = float(r["train/loss"])
    return out
