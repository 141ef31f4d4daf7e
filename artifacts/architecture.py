"""The model architecture, built from a config without Lightning: what trainers, exporters and evaluation share.

A Llama-style decoder from `transformers` (RMSNorm, RoPE, SwiGLU, optional grouped-query attention), built
from a LlamaConfig, never downloaded. Using LlamaForCausalLM itself keeps the Hugging Face and GGUF exports a
direct copy of the state dict. ARCHITECTURE names the hyper-parameters a checkpoint records to rebuild it.
"""
from __future__ import annotations

import math
from pathlib import Path

import torch
from transformers import LlamaConfig, LlamaForCausalLM

from artifacts.errors import ModelConfigError

ARCHITECTURE = ("vocab_size", "d_model", "n_layers", "n_heads", "n_kv_heads", "ffn_hidden", "max_seq_len",
                "rope_theta", "tie_embeddings", "norm_eps")


def llama_config(vocab_size: int, d_model: int, n_layers: int, n_heads: int, n_kv_heads: int | None,
                 ffn_hidden: int | None, max_seq_len: int, rope_theta: float, tie_embeddings: bool,
                 norm_eps: float = 1e-5, init_std: float = 0.02, pad_id: int = 0, bos_id: int = 1,
                 eos_id: int = 2) -> LlamaConfig:
    if vocab_size <= 0:
        raise ModelConfigError("model.vocab_size is not set (it comes from the tokenizer of the data module)")
    if d_model % n_heads:
        raise ModelConfigError(f"model.d_model {d_model} is not a multiple of model.n_heads {n_heads}")
    kv = n_kv_heads or n_heads
    if n_heads % kv:
        raise ModelConfigError(f"model.n_heads {n_heads} is not a multiple of model.n_kv_heads {kv}")
    # SwiGLU hidden width: 8/3 d rounded up to a multiple of 64, as in Llama.
    ffn = ffn_hidden or 64 * math.ceil(8 * d_model / 3 / 64)
    cfg = LlamaConfig(vocab_size=vocab_size, hidden_size=d_model, intermediate_size=ffn,
                      num_hidden_layers=n_layers, num_attention_heads=n_heads, num_key_value_heads=kv,
                      max_position_embeddings=max_seq_len, rope_theta=rope_theta, rms_norm_eps=norm_eps,
                      tie_word_embeddings=tie_embeddings, initializer_range=init_std, hidden_act="silu",
                      attention_bias=False, mlp_bias=False, attention_dropout=0.0,
                      pad_token_id=pad_id, bos_token_id=bos_id, eos_token_id=eos_id, use_cache=False)
    cfg._attn_implementation = "sdpa"
    return cfg


def fresh_model(arch: dict, init_std: float = 0.02, seed: int | None = None) -> LlamaForCausalLM:
    """A newly initialised model of `arch` (the ARCHITECTURE fields); with `seed`, its weights depend on the
    seed alone (not on what ran before), so a run's first weights can be rebuilt from its hyper-parameters."""
    config = llama_config(*(arch[k] for k in ARCHITECTURE), init_std=init_std)
    if seed is None:
        return LlamaForCausalLM(config)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return LlamaForCausalLM(config)


def apply_special_ids(model: LlamaForCausalLM, ids: dict | None) -> None:
    """The tokenizer's pad/bos/eos ids into the model's config, so that exports and generation agree with it."""
    if not ids:
        return
    for cfg in (model.config, model.generation_config):
        cfg.pad_token_id, cfg.bos_token_id, cfg.eos_token_id = ids["pad"], ids["bos"], ids["eos"]


def is_hf_folder(path: str | Path | None) -> bool:
    """A Hugging Face model folder (what `AutoModelForCausalLM.from_pretrained` loads offline)."""
    return path is not None and (Path(path) / "config.json").is_file()


def hf_architecture(config) -> dict:
    """The ARCHITECTURE fields of a Hugging Face config, so hparams and checkpoints describe the model."""
    rope = (getattr(config, "rope_parameters", None) or {}).get("rope_theta") or getattr(config, "rope_theta", 10000.0)
    return {"vocab_size": config.vocab_size, "d_model": config.hidden_size, "n_layers": config.num_hidden_layers,
            "n_heads": config.num_attention_heads,
            "n_kv_heads": getattr(config, "num_key_value_heads", None) or config.num_attention_heads,
            "ffn_hidden": config.intermediate_size, "max_seq_len": config.max_position_embeddings,
            "rope_theta": float(rope), "tie_embeddings": bool(config.tie_word_embeddings),
            "norm_eps": float(getattr(config, "rms_norm_eps", 1e-5))}
