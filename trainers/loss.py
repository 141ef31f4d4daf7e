"""The loss and the held-out sums, one piece of code for the run's validation and for scoring a model alone.

Validation sums negative log-likelihood, scored tokens and text bytes over whole held-out documents, per
category; bits per byte is the summed nats / ln 2 / bytes, so it does not depend on the tokenizer.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

IGNORE = -100  # target value that carries no loss (SFT prompt tokens, padding)


def token_losses(model, batch: dict) -> torch.Tensor:
    """Per-token cross-entropy of a causal LM on {"input_ids", "targets"} (0 where the target is IGNORE)."""
    logits = model(input_ids=batch["input_ids"]).logits
    return F.cross_entropy(logits.float().flatten(0, 1), batch["targets"].flatten(), ignore_index=IGNORE,
                           reduction="none").view_as(batch["targets"])


class HeldOutSums:
    """nll, tokens and bytes summed per category index over validation batches {"targets", "category", "bytes"}."""

    KEYS = ("nll", "tokens", "bytes")

    def __init__(self, categories: list[str], device=None):
        self.categories = list(categories)
        self.sums = {k: torch.zeros(len(self.categories), dtype=torch.float64, device=device) for k in self.KEYS}

    def add(self, batch: dict, losses: torch.Tensor) -> None:
        cat = batch["category"]
        self.sums["nll"].index_add_(0, cat, losses.double().sum(1))
        self.sums["tokens"].index_add_(0, cat, (batch["targets"] != IGNORE).sum(1).double())
        self.sums["bytes"].index_add_(0, cat, batch["bytes"].double())

    def metrics(self, reduce=None) -> dict[str, float]:
        """val_metrics of the sums; `reduce(tensor)` first sums them over the ranks of a distributed run."""
        sums = {k: (reduce(v) if reduce else v).cpu() for k, v in self.sums.items()}
        return val_metrics(self.categories, sums["nll"], sums["tokens"], sums["bytes"])


def val_metrics(categories: list[str], nll, tokens, bytes_) -> dict[str, float]:
    """Loss, perplexity and bits per byte per category and overall (bpb = nats / ln 2 / bytes of the text)."""
    out = {}
    for i, cat in enumerate(categories):
        if tokens[i] > 0:
            out[f"val/loss_{cat}"] = float(nll[i] / tokens[i])
            out[f"val/ppl_{cat}"] = math.exp(min(out[f"val/loss_{cat}"], 50.0))
            out[f"val/bpb_{cat}"] = float(nll[i] / math.log(2) / bytes_[i])
    if tokens.sum() > 0:
        out["val/loss"] = float(nll.sum() / tokens.sum())
        out["val/ppl"] = math.exp(min(out["val/loss"], 50.0))
        out["val/bpb"] = float(nll.sum() / math.log(2) / bytes_.sum())
    return out
