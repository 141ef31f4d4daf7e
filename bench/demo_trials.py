"""Which tokenizer, model shape, sequence length, batch and schedule give the demo's 5-minute model the best
held-out bits per byte: trials at an equal wall-clock budget, fair also on a busy machine.

    .venv/bin/python bench/demo_trials.py --lake data [--budget-s 300] [--only base,v16k] [--list]

The demo trains for a wall-clock budget, so a candidate's worth is its held-out bits per byte after the
number of steps it gets done in that budget. On a shared machine a run's throughput depends on the others'
load, so each candidate is measured in two parts, back to back:
1. a short burst (--burst-steps) gives its tokens/s; its speed relative to the baseline's, measured under the
   same load a minute apart, is what a busy machine still measures fairly (candidates of one shape, differing
   only in learning rate or schedule, share one burst and so train the same steps);
2. it then trains for the steps it would do in --budget-s seconds on an idle machine (--idle-tokens-per-s of
   the baseline, measured on the idle machine, times its relative speed), with the cosine over exactly those
   steps (what the time-capped schedule of the demo does), and its final held-out bits per byte per category
   are read from the run's metrics.csv.
Missing tokenizers (and their shards) are trained and packed first, as the demo does. Prints one row per
candidate and the ratio of each one's CODE bits per byte to the baseline's.
"""
from __future__ import annotations

import argparse
import csv
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONFIG = "trainers/configs/tiny-cpu.yaml"
SAMPLE_BYTES = 20_000_000  # as in `make demo`

# name: (vocabulary, overrides of tiny-cpu.yaml); "{steps}" in an override is the trial's step count. The first
# is the baseline: the demo before issue 25, whose 5-minute cap stopped its 900-step cosine about 70% through.
BEFORE_STEPS = 900  # tiny-cpu.yaml's max_steps before issue 25: demo-before's cosine runs over these, cut by time
# the learning rate of tiny-cpu.yaml before issue 25: peak 3e-3, a cosine to 10% of it over the step budget
# and the model, batch and data of tiny-cpu.yaml before the second round (tied AdamW, batch 16, FIM 0.5, NAT first,
# fp32, one learning rate)
ROUND1 = ["--model.tie_embeddings", "true", "--model.optimizer", "adamw", "--model.embed_lr", "null",
          "--model.warmup_steps", "50", "--trainer.precision", "32-true",
          "--data.batch_size", "16", "--data.fim_rate", "0.5", "--data.stages",
          "[{name: A-natural, tokens: 300000, weights: {NAT: 0.5, MIX: 0.3, CODE: 0.2}}, "
          "{name: B-code, tokens: 0, weights: {NAT: 0.1, MIX: 0.3, CODE: 0.6}}]"]
BEFORE_LR = ROUND1 + ["--model.lr", "3.0e-3", "--model.min_lr_ratio", "0.1", "--model.lr_decay_share", "null",
                      "--model.lr_decay_to_max_time", "false"]
# TIMED: the cosine ends at the time cap, and only the final validation runs (a mid-run check costs steps).
TIMED = BEFORE_LR + ["--model.lr_decay_to_max_time", "true", "--trainer.max_steps", "100000",
                     "--trainer.val_check_interval", "100000"]
WSD = TIMED + ["--model.lr_decay_share", "0.2", "--model.min_lr_ratio", "0.0"]
BF16 = ["--trainer.precision", "bf16-mixed"]
CANDIDATES = {
    "demo-before": (8000, BEFORE_LR + ["--model.lr_decay_steps", "{cut}", "--trainer.val_check_interval", "300"]),
    "v8k": (8000, BEFORE_LR),
    "v4k": (4000, BEFORE_LR),
    "v16k": (16000, BEFORE_LR),
    "v32k": (32000, BEFORE_LR),
    "v8k-b8": (8000, BEFORE_LR + ["--data.batch_size", "8"]),
    "v8k-lr6e-3": (8000, BEFORE_LR + ["--model.lr", "6.0e-3"]),
    "v8k-seq512-b8": (8000, BEFORE_LR + ["--data.seq_len", "512", "--data.batch_size", "8"]),
    "v8k-d192": (8000, BEFORE_LR + ["--model.d_model", "192", "--model.n_heads", "6", "--model.n_kv_heads", "2",
                        "--model.ffn_hidden", "512"]),
    "v8k-l6": (8000, BEFORE_LR + ["--model.n_layers", "6"]),
    "v16k-b8": (16000, BEFORE_LR + ["--data.batch_size", "8"]),
    # --timed candidates
    "t-v8k": (8000, TIMED),
    "t-v4k": (4000, TIMED),
    "t-v8k-bf16": (8000, TIMED + BF16),
    "t-v8k-lr6e-3": (8000, TIMED + ["--model.lr", "6.0e-3"]),
    "t-v8k-b8": (8000, TIMED + ["--data.batch_size", "8"]),
    # warmup-stable-decay: the peak LR until the last fifth of the time, then linear to the floor
    "w-v4k": (4000, WSD),
    "w-v4k-lr6e-3": (4000, WSD + ["--model.lr", "6.0e-3"]),
    "w-v4k-lr1.2e-2": (4000, WSD + ["--model.lr", "1.2e-2"]),
    "w-v4k-lr6e-3-b8": (4000, WSD + ["--model.lr", "6.0e-3", "--data.batch_size", "8"]),
    "w-v4k-bf16": (4000, WSD + BF16),
    "w-v4k-b8": (4000, WSD + ["--data.batch_size", "8"]),
    "w-v4k-seq512-b8": (4000, WSD + ["--data.seq_len", "512", "--data.batch_size", "8"]),
    # second and third rounds: tiny-cpu.yaml as it is now (untied head, Muon, embedding LR 10x, batch 16, FIM 0.1,
    # CODE-heavy stages, WSD, bf16) and
    # each change taken back, one at a time
    "m-demo": (4000, []),
    "m-tied": (4000, ["--model.tie_embeddings", "true"]),
    "m-adamw": (4000, ["--model.optimizer", "adamw"]),
    "m-b8": (4000, ["--data.batch_size", "8"]),
    "m-fim0.5": (4000, ["--data.fim_rate", "0.5"]),
    "m-compile": (4000, ["--model.compile", "true"]),
    "m-embed-shared-lr": (4000, ["--model.embed_lr", "null"]),
}


SHAPE_FLAGS = {"--data.seq_len", "--data.batch_size", "--model.d_model", "--model.n_layers", "--model.n_heads",
               "--model.n_kv_heads", "--model.ffn_hidden"}


def py(*args: str, **kw) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=env, text=True, capture_output=True, **kw)


def must(run: subprocess.CompletedProcess, what: str) -> str:
    if run.returncode:
        sys.exit(f"{what} failed ({run.returncode}): {run.stderr.strip().splitlines()[-1:]}")
    return run.stdout


def lake_sql(lake: str, query: str) -> list[list[str]]:
    out = must(py("-m", "lake", "sql", query, "--lake", lake, "--format", "csv"), "lake sql")
    return [next(csv.reader([line])) for line in out.strip().splitlines()[1:] if line.strip()]


def tokenizer_for(lake: str, vocab: int) -> str:
    """The newest SentencePiece tokenizer of this vocabulary, its shards packed; trained and packed if missing."""
    def newest() -> tuple[str, bool] | None:
        rows = lake_sql(lake, "SELECT t.tokenizer_id, EXISTS (SELECT 1 FROM shards s WHERE s.tokenizer_id = "
                              f"t.tokenizer_id) FROM tokenizers t WHERE t.kind = 'sentencepiece' AND t.vocab_size = "
                              f"{vocab} ORDER BY t.created_at DESC LIMIT 1")
        return (rows[0][0], rows[0][1].lower() == "true") if rows else None

    found = newest()
    if found is None:
        print(f"training a {vocab}-piece tokenizer", file=sys.stderr)
        must(py("-m", "transforms", "tokenizer", "--vocab-size", str(vocab), "--sample-bytes", str(SAMPLE_BYTES),
                "--lake", lake), "tokenizer")
        found = newest()
    if not found[1]:
        print(f"packing the shards of {found[0]}", file=sys.stderr)
        must(py("-m", "transforms", "pack", "--seq-len", "512", "--tokenizer", found[0], "--lake", lake), "pack")
    return found[0]


def plan(lake: str) -> None:
    """Without training: each candidate's model FLOPs per token (trainers/flops.py) and, where the lake has its
    tokenizer, bytes of text per token and per GFLOP, the text a candidate sees per unit of compute."""
    from trainers.flops import flops_per_token
    from trainers.model import llama_config
    from transformers import LlamaForCausalLM

    bpt = {int(v): json.loads(b)["CODE"] for v, b in lake_sql(
        lake, "SELECT vocab_size, bytes_per_token FROM tokenizers WHERE kind = 'sentencepiece' ORDER BY created_at")}
    print("| candidate | vocab | parameters | MFLOPs/token | CODE bytes/token | bytes/GFLOP vs first |")
    print("|---|---|---|---|---|---|")
    first = None
    for name, (vocab, over) in CANDIDATES.items():
        shape = {"d_model": 128, "n_layers": 4, "n_heads": 4, "n_kv_heads": 2, "ffn_hidden": 384, "seq_len": 256}
        for flag, value in zip(over, over[1:]):
            key = flag.rsplit(".", 1)[-1]
            if key in shape:
                shape[key] = int(value)
        cfg = llama_config(vocab, shape["d_model"], shape["n_layers"], shape["n_heads"], shape["n_kv_heads"],
                           shape["ffn_hidden"], shape["seq_len"], 10000.0, True)
        model = LlamaForCausalLM(cfg)
        f = flops_per_token(model, shape["n_layers"], shape["d_model"], shape["seq_len"])
        per_gflop = bpt[vocab] / f * 1e9 if vocab in bpt else None
        first = first or per_gflop
        print(f"| {name} | {vocab} | {sum(p.numel() for p in model.parameters()):,} | {f / 1e6:.1f} | "
              f"{bpt.get(vocab, float('nan')):.2f} | "
              + (f"{per_gflop / first:.2f} |" if per_gflop and first else "n/a |"))


def run_fit(lake: str, name: str, tokenizer: str, run_dir: Path, flags: list[str]) -> tuple[list[dict], float]:
    """trainers.fit on the lake's `tokenizer` shards with tiny-cpu.yaml and `flags`: its metrics rows, wall seconds."""
    args = ["-m", "trainers.fit", "--config", CONFIG, "--data.lake", lake, "--data.tokenizer_id", tokenizer,
            "--data.baselines", "false", "--run_dir", str(run_dir), "--trainer.enable_progress_bar", "false", *flags]
    t = time.perf_counter()
    must(py(*args), f"trial {name}")
    seconds = time.perf_counter() - t
    logs = sorted((run_dir / "logs").glob("version_*/metrics.csv"), key=lambda p: p.stat().st_mtime)
    return list(csv.DictReader(logs[-1].open())), seconds


def fit(lake: str, name: str, tokenizer: str, overrides: list[str], steps: int, run_dir: Path,
        log_every: int, validate: bool = True) -> tuple[list[dict], float]:
    """One training run of `steps` steps, the cosine over exactly those (the held-out rows at the last step
    when `validate`)."""
    return run_fit(lake, name, tokenizer, run_dir, [
        "--trainer.max_steps", str(steps), "--trainer.max_time", "null", "--model.lr_decay_steps", str(steps),
        "--model.warmup_steps", str(min(50, max(1, steps // 10))), "--trainer.val_check_interval", str(steps),
        "--trainer.log_every_n_steps", str(log_every), "--checkpoint_every", str(steps + 1),
        *([] if validate else ["--trainer.limit_val_batches", "0"]),
        *(o.format(steps=steps, cut=round(steps / 0.7)) for o in overrides)])


def fit_timed(lake: str, name: str, tokenizer: str, overrides: list[str], budget_s: float,
              run_dir: Path) -> tuple[list[dict], float]:
    """One run as `make demo` trains: the config's own schedule and validation checks, stopped by
    --trainer.max_time after `budget_s` seconds of training (Lightning's Timer: setup is not counted; the
    validation checks and a torch.compile are)."""
    s = int(budget_s)
    return run_fit(lake, name, tokenizer, run_dir, [
        "--trainer.max_time", f"00:{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}",
        "--trainer.log_every_n_steps", "10", *(o.format(cut=BEFORE_STEPS) for o in overrides)])


def last(rows: list[dict], key: str) -> float | None:
    vals = [float(r[key]) for r in rows if r.get(key) not in (None, "")]
    return vals[-1] if vals else None


def median_tps(rows: list[dict]) -> float:
    vals = sorted(float(r["train/tokens_per_s"]) for r in rows if r.get("train/tokens_per_s"))
    return vals[len(vals) // 2] if vals else math.nan


def tokens_per_step(overrides: list[str]) -> int:
    seq, batch = 256, 16  # tiny-cpu.yaml
    for flag, value in zip(overrides, overrides[1:]):
        seq = int(value) if flag == "--data.seq_len" else seq
        batch = int(value) if flag == "--data.batch_size" else batch
    return seq * batch


def report(name: str, vocab: int, tps: float, base_tps: float, steps: int, seconds: float, rows: list[dict]) -> dict:
    """A trial's final held-out bits per byte per category, printed as it finishes."""
    bpb = {c: last(rows, f"val/bpb_{c}") or math.nan for c in ("NAT", "MIX", "CODE")}
    print(f"{name:16s} vocab {vocab:6d} {tps:8.0f} tok/s (x{tps / base_tps:.2f}) {steps:5d} steps in {seconds:5.0f} s"
          f" | val bpb NAT {bpb['NAT']:.3f} MIX {bpb['MIX']:.3f} CODE {bpb['CODE']:.3f}", flush=True)
    return bpb


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--lake", default="data")
    ap.add_argument("--budget-s", type=float, default=300.0, help="idle-machine training seconds to match")
    ap.add_argument("--idle-tokens-per-s", type=float, default=6000.0,
                    help="the baseline's training throughput on the idle machine (tiny-cpu.yaml's comment)")
    ap.add_argument("--burst-steps", type=int, default=12)
    ap.add_argument("--min-steps", type=int, default=10, help="fewest steps a trial trains")
    ap.add_argument("--only", help="comma-separated candidate names (the baseline is always run)")
    ap.add_argument("--baseline", default="demo-before", help="the candidate run first, that the others are compared to")
    ap.add_argument("--out", type=Path, default=ROOT / "runs" / "demo-trials")
    ap.add_argument("--list", action="store_true")
    ap.add_argument("--plan", action="store_true", help="only the compute per token and text per compute")
    ap.add_argument("--timed", action="store_true",
                    help="train each candidate for --budget-s seconds of wall clock as `make demo` does (fair only "
                         "on a machine the trials have to themselves), not for the steps of a burst-measured speed")
    args = ap.parse_args()
    if args.list:
        for name, (vocab, over) in CANDIDATES.items():
            print(f"{name:16s} vocab {vocab:6d} {' '.join(over)}")
        return 0
    if args.plan:
        plan(args.lake)
        return 0
    names = [args.baseline] + [n for n in (args.only.split(",") if args.only else CANDIDATES) if n != args.baseline]
    unknown = [n for n in names if n not in CANDIDATES]
    if unknown:
        print(f"error: unknown candidate {unknown[0]!r} (--list shows them)", file=sys.stderr)
        return 2
    print(f"load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; budget {args.budget_s:.0f} "
          f"idle seconds at {args.idle_tokens_per_s:.0f} baseline tokens/s")
    base_tps, results, speed = None, [], {}
    for name in names:
        vocab, over = CANDIDATES[name]
        tok = tokenizer_for(args.lake, vocab)
        if args.timed:
            rows, seconds = fit_timed(args.lake, name, tok, over, args.budget_s, args.out / name)
            tps, steps = median_tps(rows), int(last(rows, "step") or 0) + 1
            base_tps = base_tps or tps
            results.append((name, vocab, tps, steps, seconds, report(name, vocab, tps, base_tps, steps, seconds, rows)))
            continue
        shape = (vocab, *[f"{a}={b}" for a, b in zip(over, over[1:]) if a in SHAPE_FLAGS])
        if shape not in speed:  # same shape, same speed: candidates that differ only in LR share one burst
            burst, _ = fit(args.lake, name, tok, over, args.burst_steps, args.out / f"{name}-burst", 1,
                           validate=False)
            speed[shape] = median_tps(burst)
        tps = speed[shape]
        base_tps = base_tps or tps
        steps = max(args.min_steps, round(args.budget_s * args.idle_tokens_per_s * tps / base_tps / tokens_per_step(over)))
        rows, seconds = fit(args.lake, name, tok, over, steps, args.out / name, 10)
        results.append((name, vocab, tps, steps, seconds, report(name, vocab, tps, base_tps, steps, seconds, rows)))
    base_code = results[0][5]["CODE"]
    print("\n| candidate | vocab | rel. speed | steps | val NAT | val MIX | val CODE | CODE vs base |")
    print("|---|---|---|---|---|---|---|---|")
    for name, vocab, tps, steps, seconds, bpb in results:
        print(f"| {name} | {vocab} | {tps / base_tps:.2f} | {steps} | {bpb['NAT']:.3f} | {bpb['MIX']:.3f} | "
              f"{bpb['CODE']:.3f} | {bpb['CODE'] / base_code:.3f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
