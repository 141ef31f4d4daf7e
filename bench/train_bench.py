"""Tokens/s of a Lightning training run next to a raw PyTorch loop over the same model and the same batches.

    .venv/bin/python bench/train_bench.py [--lake data] [--steps 30] [--d-model 192 --layers 4 --seq-len 256 --batch 16]

Without --lake it builds a small lake of GOROOT Go files in a temporary folder (real tokenizer, real shards).
Both loops: the same LlamaLM (same seed), AdamW, gradient clipping 1.0, batches from the same TrainWindows
stream; timed over the steps after `--warmup`, in `--rounds` interleaved rounds (best of each). Target: Lightning >= 0.95x the raw loop.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import lightning as L
import torch

sys.path.insert(0, str(Path(__file__).parents[1]))

from trainers import flops  # noqa: E402
from trainers.data import ShardDataModule  # noqa: E402
from trainers.model import LlamaLM  # noqa: E402


class StepClock(L.Callback):
    def __init__(self, warmup: int):
        self.warmup, self.t0, self.t1 = warmup, None, None

    def on_train_batch_start(self, trainer, *a):
        if trainer.global_step == self.warmup and self.t0 is None:
            self.t0 = time.perf_counter()

    def on_train_batch_end(self, trainer, *a):
        self.t1 = time.perf_counter()


def model_for(args, vocab: int) -> LlamaLM:
    return LlamaLM(vocab_size=vocab, d_model=args.d_model, n_layers=args.layers, n_heads=args.heads,
                   n_kv_heads=args.kv_heads, max_seq_len=args.seq_len, lr=1e-3, warmup_steps=5, seed=1)


def lightning_run(args, lake) -> float:
    dm = ShardDataModule(lake=str(lake), seq_len=args.seq_len, batch_size=args.batch, seed=1, baselines=False,
                         val_tokens_per_category=0)
    model = model_for(args, dm.vocab_size)
    clock = StepClock(args.warmup)
    trainer = L.Trainer(accelerator="cpu", devices=1, max_steps=args.warmup + args.steps, logger=False,
                        enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
                        limit_val_batches=0, gradient_clip_val=1.0, callbacks=[clock])
    trainer.fit(model, datamodule=dm)
    return args.steps * args.batch * args.seq_len / (clock.t1 - clock.t0)


def raw_run(args, lake) -> tuple[float, LlamaLM]:
    dm = ShardDataModule(lake=str(lake), seq_len=args.seq_len, batch_size=args.batch, seed=1, baselines=False,
                         val_tokens_per_category=0)
    model = model_for(args, dm.vocab_size)
    trainer = L.Trainer(accelerator="cpu", devices=1, max_steps=1, logger=False)  # only to size the stream
    dm.trainer = trainer
    batches = iter(dm.train_dataloader())
    # the optimiser groups of LlamaLM.configure_optimizers (its warmup schedule aside)
    decay = [p for p in model.parameters() if p.ndim >= 2]
    no_decay = [p for p in model.parameters() if p.ndim < 2]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}],
                                  lr=1e-3, betas=(0.9, 0.95), foreach=True)
    model.train()
    t0 = None
    for step in range(args.warmup + args.steps):
        if step == args.warmup:
            t0 = time.perf_counter()
        batch = next(batches)
        losses = model.token_losses(batch)
        loss = losses.mean()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
    return args.steps * args.batch * args.seq_len / (time.perf_counter() - t0), model


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lake")
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--d-model", type=int, default=192)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--heads", type=int, default=6)
    ap.add_argument("--kv-heads", type=int, default=2)
    ap.add_argument("--seq-len", type=int, default=256)
    ap.add_argument("--batch", type=int, default=16)
    args = ap.parse_args()
    torch.manual_seed(0)
    tmp = None
    lake = args.lake
    if lake is None:
        from lake import Lake
        from tests.test_trainers_corpus import build_go_lake
        tmp = tempfile.TemporaryDirectory(prefix="train_bench_")
        lake = Path(tmp.name) / "lake"
        with Lake(lake) as lk:
            build_go_lake(lk, max_files=400, max_file_bytes=20000, vocab_size=2048, stride=5)
    # Interleaved rounds, best of each: this machine is shared, and a neighbour's load shifts any single run.
    raws, lights = [], []
    for _ in range(args.rounds):
        r, model = raw_run(args, lake)
        raws.append(r)
        lights.append(lightning_run(args, lake))
    raw, light = max(raws), max(lights)
    print(f"rounds raw      : {', '.join(f'{x:.0f}' for x in raws)}")
    print(f"rounds Lightning: {', '.join(f'{x:.0f}' for x in lights)}")
    fpt = flops.flops_per_token(model.model, args.layers, args.d_model, args.seq_len)
    print(f"model: {sum(p.numel() for p in model.parameters()) / 1e6:.2f}M params, seq {args.seq_len}, batch {args.batch}, "
          f"{torch.get_num_threads()} threads")
    print(f"raw PyTorch loop : {raw:10.0f} tokens/s")
    print(f"Lightning fit    : {light:10.0f} tokens/s   ratio {light / raw:.3f}x (target >= 0.95)")
    print(f"flops/token      : {fpt / 1e6:.1f} MFLOP; achieved {fpt * light / 1e9:.1f} GFLOP/s on this CPU")
    print(f"MFU formula      : {flops.FORMULA}")
    if tmp:
        tmp.cleanup()


if __name__ == "__main__":
    main()
