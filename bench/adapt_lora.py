"""Held-out bits per byte of a Hugging Face base model before and after a LoRA (or continued-pretraining) run.

    .venv/bin/python bench/adapt_lora.py --lake data --base DIR --adapter runs/lora/checkpoints/final.ckpt

Both are measured in this process on the same held-out documents (the run's data module: DIR's own
tokenizer's shards, the run's seq_len and validation budget), with the trainable / total parameter counts.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1]))


def main() -> None:
    import torch
    from artifacts.lora import parameter_counts
    from trainers.adapt import held_out_bpb, load_base
    from artifacts.checkpoint import load_model, read_checkpoint
    from trainers.data import ShardDataModule

    ap = argparse.ArgumentParser()
    ap.add_argument("--lake", default=None)
    ap.add_argument("--base", required=True)
    ap.add_argument("--adapter", required=True)
    args = ap.parse_args()
    torch.set_num_threads(2)
    ckpt = read_checkpoint(args.adapter)
    hp, meta = ckpt["hyper_parameters"], ckpt.get("repo_llm", {})
    init = ckpt.get("datamodule_hyper_parameters", {})
    # the lake and snapshot the run recorded: the same held-out documents it validated on
    dm = ShardDataModule(args.lake or meta.get("lake"), meta.get("tokenizer_id"), lake_snapshot=meta.get("lake_snapshot"),
                         seq_len=meta.get("seq_len", 256),
                         val_tokens_per_category=init.get("val_tokens_per_category", 32768), baselines=False)
    dm.setup()
    base = load_base(args.base, hp.get("vocab_size") or 0)
    adapted = load_model(args.adapter).model  # the run's weights, LoRA merged in
    before, after = held_out_bpb(base, dm), held_out_bpb(adapted, dm)
    trainable, total = meta.get("trainable_parameters"), meta.get("parameters") or parameter_counts(base)[1]
    print(f"tokenizer {meta.get('tokenizer_id')}, {len(dm.val_docs)} held-out documents, step {ckpt.get('global_step')}")
    print(f"trainable parameters: {trainable or total:,} of {total:,}"
          + (f" ({100 * trainable / total:.2f}%, LoRA {hp['lora']})" if trainable else " (every weight)"))
    for key in sorted(before):
        if key.startswith("val/bpb"):
            print(f"{key:14s} before {before[key]:.4f}  after {after[key]:.4f}  ratio {after[key] / before[key]:.3f}")


if __name__ == "__main__":
    main()
