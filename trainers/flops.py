"""Model FLOPs per token and the MFU estimate (PaLM, appendix B; the figure nanoGPT and litgpt report).

    flops_per_token = 6 * N + 12 * n_layers * d_model * seq_len
    MFU             = flops_per_token * tokens_per_second / peak_flops

N counts the non-embedding parameters (the embedding lookup is not a matmul; a tied or separate output
head is a matmul and is counted). 6N: forward (2N) + backward (4N); the second term is the attention
score and value matmuls, forward and backward. peak_flops: the accelerator's dense bf16/fp32 figure
(Lightning's table for known GPUs), or `--model.peak_flops` on a machine it does not know.
"""
from __future__ import annotations

import torch

FORMULA = "MFU = (6*N + 12*n_layers*d_model*seq_len) * tokens_per_s / peak_flops  (N: non-embedding params incl. output head)"


def flops_per_token(model: torch.nn.Module, n_layers: int, d_model: int, seq_len: int) -> float:
    n = sum(p.numel() for name, p in model.named_parameters() if "embed_tokens" not in name)
    if getattr(model.config, "tie_word_embeddings", False):
        n += model.config.vocab_size * d_model  # the tied head is still a matmul
    return 6.0 * n + 12.0 * n_layers * d_model * seq_len


def peak_flops(device: torch.device, precision: str, override: float | None = None) -> float | None:
    if override:
        return float(override)
    from lightning.fabric.utilities.throughput import get_available_flops
    dtype = torch.bfloat16 if "bf16" in str(precision) else (torch.float16 if "16" in str(precision) else torch.float32)
    if device.type != "cuda":
        return None  # Lightning has no CPU table; pass --model.peak_flops to get an MFU on a CPU
    return get_available_flops(device, dtype)
