"""Tokens/s and MFU of a Lightning training run (trainers.fit's LlamaLM + ShardDataModule) next to a raw PyTorch
loop over the same model and the same batches, in the same process.

    .venv/bin/python bench/train_bench.py [--lake data] [--steps 30] [--d-model 192 --layers 4 --seq-len 256 --batch 16]
    .venv/bin/python bench/train_bench.py --compile                      # torch.compile on the CPU too
    .venv/bin/python bench/train_bench.py --config trainers/configs/125m.yaml --accelerator gpu \\
        --precision bf16-mixed --steps 300 --rounds 1                    # the 125M shape on one GPU

Without --lake it builds a small lake of GOROOT Go files in a temporary folder (real tokenizer, real shards).
Both loops: the same LlamaLM (same seed), the config's or --optimizer's optimiser (trainers/optimizers.py: AdamW,
fused on a GPU, or Muon + AdamW), gradient clipping 1.0, batches from the same TrainWindows stream (FIM at
--fim-rate), the same precision and the same torch.compile setting; timed over the steps after `--warmup`
(compiling happens there), in `--rounds` interleaved rounds (best of each).
Target on a CPU: Lightning >= 0.95x the raw loop. MFU needs the accelerator's peak FLOP/s: Lightning's table for
known GPUs, or --peak-flops (e.g. a CPU's measured matmul peak).
"""
from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
import time
from pathlib import Path

import lightning as L
import torch
import yaml

sys.path.insert(0, str(Path(__file__).parents[1]))

from trainers import flops  # noqa: E402
from trainers.data import ShardDataModule  # noqa: E402
from trainers.model import LlamaLM  # noqa: E402
from trainers.optimizers import OPTIMIZERS, build_optimizer  # noqa: E402


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


class StepClock(L.Callback):
    def __init__(self, warmup: int):
        self.warmup, self.t0, self.t1 = warmup, None, None

    def on_train_batch_start(self, trainer, pl_module, *a):
        if trainer.global_step == self.warmup and self.t0 is None:
            sync(pl_module.device)
            self.t0 = time.perf_counter()

    def on_train_batch_end(self, trainer, pl_module, *a):
        sync(pl_module.device)
        self.t1 = time.perf_counter()


def model_for(args, vocab: int) -> LlamaLM:
    return LlamaLM(vocab_size=vocab, d_model=args.d_model, n_layers=args.layers, n_heads=args.heads,
                   n_kv_heads=args.kv_heads, ffn_hidden=args.ffn, max_seq_len=args.seq_len, lr=1e-3, warmup_steps=5,
                   seed=1, compile=args.compile, optimizer=args.optimizer, tie_embeddings=args.tie)


def data_for(args, lake) -> ShardDataModule:
    return ShardDataModule(lake=str(lake), seq_len=args.seq_len, batch_size=args.batch, seed=1, baselines=False,
                           val_tokens_per_category=0, fim_rate=args.fim_rate)


def lightning_run(args, lake) -> float:
    dm = data_for(args, lake)
    model = model_for(args, dm.vocab_size)
    clock = StepClock(args.warmup)
    trainer = L.Trainer(accelerator=args.accelerator, devices=1, precision=args.precision,
                        max_steps=args.warmup + args.steps, logger=False, enable_checkpointing=False,
                        enable_progress_bar=False, enable_model_summary=False, limit_val_batches=0,
                        gradient_clip_val=1.0, callbacks=[clock])
    trainer.fit(model, datamodule=dm)
    return args.steps * args.batch * args.seq_len / (clock.t1 - clock.t0)


def raw_run(args, lake) -> tuple[float, LlamaLM]:
    dm = data_for(args, lake)
    model = model_for(args, dm.vocab_size)
    trainer = L.Trainer(accelerator="cpu", devices=1, max_steps=1, logger=False)  # only to size the stream
    dm.trainer = trainer
    batches = iter(dm.train_dataloader())
    device = torch.device("cuda" if args.accelerator == "gpu" else "cpu")
    model.to(device)
    if args.precision == "bf16-true":
        model.to(torch.bfloat16)
    net = model.model
    if model.compiles(device):
        net.compile()
    autocast = (torch.autocast(device.type, dtype=torch.bfloat16) if args.precision == "bf16-mixed"
                else contextlib.nullcontext())
    # LlamaLM.configure_optimizers' optimiser (its warmup schedule aside)
    optimizer = build_optimizer(args.optimizer, list(net.named_parameters()), 1e-3, 0.1, (0.9, 0.95),
                                device.type == "cuda")
    model.train()
    t0 = None
    for step in range(args.warmup + args.steps):
        if step == args.warmup:
            sync(device)
            t0 = time.perf_counter()
        batch = {k: v.to(device, non_blocking=True) for k, v in next(batches).items()}
        with autocast:
            losses = model.token_losses(batch)
        loss = losses.mean()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
    sync(device)
    return args.steps * args.batch * args.seq_len / (time.perf_counter() - t0), model


def apply_config(args) -> None:
    """Model shape, seq_len and batch of a trainers config (--config), unless given on the command line."""
    cfg = yaml.safe_load(Path(args.config).read_text())
    m, d = cfg.get("model", {}), cfg.get("data", {}).get("init_args", {})
    for attr, value in (("d_model", m.get("d_model")), ("layers", m.get("n_layers")), ("heads", m.get("n_heads")),
                        ("kv_heads", m.get("n_kv_heads")), ("ffn", m.get("ffn_hidden")), ("seq_len", d.get("seq_len")),
                        ("batch", d.get("batch_size")), ("optimizer", m.get("optimizer")),
                        ("tie", m.get("tie_embeddings"))):
        if value is not None and getattr(args, attr) is None:
            setattr(args, attr, value)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lake")
    ap.add_argument("--config", help="take the model shape, seq_len and batch from a trainers config")
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--d-model", dest="d_model", type=int)
    ap.add_argument("--layers", type=int)
    ap.add_argument("--heads", type=int)
    ap.add_argument("--kv-heads", dest="kv_heads", type=int)
    ap.add_argument("--ffn", type=int)
    ap.add_argument("--seq-len", dest="seq_len", type=int)
    ap.add_argument("--batch", type=int)
    ap.add_argument("--accelerator", default="cpu", choices=("cpu", "gpu"))
    ap.add_argument("--precision", default="32-true", choices=("32-true", "bf16-mixed", "bf16-true"))
    ap.add_argument("--compile", action=argparse.BooleanOptionalAction, default=None,
                    help="torch.compile the model (default: on a GPU only, as LlamaLM does)")
    ap.add_argument("--optimizer", choices=OPTIMIZERS, help="default: the config's, else adamw")
    ap.add_argument("--tie", action=argparse.BooleanOptionalAction, default=None,
                    help="tied embeddings (default: the config's, else tied)")
    ap.add_argument("--fim-rate", dest="fim_rate", type=float, default=0.5)
    ap.add_argument("--peak-flops", dest="peak_flops", type=float, help="peak FLOP/s for the MFU (CPU: required)")
    args = ap.parse_args()
    if args.config:
        apply_config(args)
    for attr, default in (("d_model", 192), ("layers", 4), ("heads", 6), ("kv_heads", 2), ("seq_len", 256),
                          ("batch", 16), ("optimizer", "adamw"), ("tie", True)):
        if getattr(args, attr) is None:
            setattr(args, attr, default)
    torch.manual_seed(0)
    tmp = None
    lake = args.lake
    if lake is None:
        from lake import Lake
        from tests.helpers.go_corpus import build_go_lake
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
    device = torch.device("cuda" if args.accelerator == "gpu" else "cpu")
    fpt = flops.flops_per_token(model.model, args.layers, args.d_model, args.seq_len)
    peak = flops.peak_flops(device, args.precision, args.peak_flops)
    where = torch.cuda.get_device_name() if device.type == "cuda" else f"{torch.get_num_threads()} CPU threads"
    print(f"rounds raw      : {', '.join(f'{x:.0f}' for x in raws)}")
    print(f"rounds Lightning: {', '.join(f'{x:.0f}' for x in lights)}")
    print(f"model: {sum(p.numel() for p in model.parameters()) / 1e6:.2f}M params, seq {args.seq_len}, batch {args.batch}, "
          f"{args.precision}, compile {model.compiles(device)}, FIM rate {args.fim_rate}, {where}")

    def mfu(tps: float) -> str:
        return f"MFU {fpt * tps / peak:6.1%}" if peak else "MFU n/a (give --peak-flops)"
    print(f"raw PyTorch loop : {raw:10.0f} tokens/s   {mfu(raw)}")
    print(f"Lightning fit    : {light:10.0f} tokens/s   {mfu(light)}   ratio {light / raw:.3f}x (target >= 0.95)")
    print(f"flops/token      : {fpt / 1e6:.1f} MFLOP; achieved {fpt * light / 1e9:.1f} GFLOP/s")
    print(f"MFU formula      : {flops.FORMULA}")
    if tmp:
        tmp.cleanup()


if __name__ == "__main__":
    main()
