"""Adapting an existing open model: start from a Hugging Face checkpoint folder, optionally wrapped in LoRA.

`model.init_from DIR` (a folder `AutoModelForCausalLM.from_pretrained` loads offline: Llama, and the
architectures transformers maps onto the same layer names) makes `LlamaLM` continue pretraining that model;
`model.lora {rank, alpha, dropout, target_modules}` trains only `peft` LoRA adapters on top of it (the base
weights are frozen and stay bit for bit what DIR holds). The data must be packed with DIR's own tokenizer
(`python -m transforms pack --tokenizer hf:DIR`): `check_tokenizer` refuses shards of any other.
"""
from __future__ import annotations

import hashlib
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

import torch

from trainers.errors import TrainerError

TOKENIZER_JSON = "tokenizer.json"


@dataclass
class LoraSpec:
    """peft LoRA settings (model.lora in the YAML)."""
    rank: int = 8
    alpha: float = 16.0
    dropout: float = 0.0
    target_modules: list[str] = field(default_factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj",
                                                               "gate_proj", "up_proj", "down_proj"])


def is_hf_folder(path: str | Path | None) -> bool:
    return path is not None and (Path(path) / "config.json").is_file()


def architecture(config) -> dict:
    """The LlamaLM ARCHITECTURE fields of a Hugging Face config, so hparams and checkpoints describe the model."""
    rope = (getattr(config, "rope_parameters", None) or {}).get("rope_theta") or getattr(config, "rope_theta", 10000.0)
    return {"vocab_size": config.vocab_size, "d_model": config.hidden_size, "n_layers": config.num_hidden_layers,
            "n_heads": config.num_attention_heads,
            "n_kv_heads": getattr(config, "num_key_value_heads", None) or config.num_attention_heads,
            "ffn_hidden": config.intermediate_size, "max_seq_len": config.max_position_embeddings,
            "rope_theta": float(rope), "tie_embeddings": bool(config.tie_word_embeddings),
            "norm_eps": float(getattr(config, "rms_norm_eps", 1e-5))}


def load_base(folder: str | Path, vocab_size: int = 0, lora: bool = False):
    """DIR's causal LM in float32; embeddings grown to `vocab_size` when the data's tokenizer added tokens
    (not under LoRA: the new rows would stay at their initial values, frozen)."""
    from transformers import AutoModelForCausalLM
    folder = Path(folder)
    if not is_hf_folder(folder):
        raise TrainerError(f"model.init_from {folder}: no config.json (not a Hugging Face model folder)")
    try:
        model = AutoModelForCausalLM.from_pretrained(folder, local_files_only=True, dtype=torch.float32)
    except (OSError, ValueError) as e:
        raise TrainerError(f"model.init_from {folder}: cannot load ({str(e).splitlines()[0]})") from None
    if vocab_size and vocab_size > model.config.vocab_size:
        if lora:
            raise TrainerError(f"model.lora: the data's tokenizer has {vocab_size - model.config.vocab_size} tokens "
                               f"{folder} lacks, and LoRA does not train embeddings: pack with --hf-markers text")
        # markers added as special tokens (pack --hf-markers special): new rows start at the mean embedding
        model.resize_token_embeddings(vocab_size, mean_resizing=True)
    model.config.use_cache = False
    return model


def apply_lora(model, spec: LoraSpec | dict):
    """Freeze `model` and wrap it in peft LoRA adapters; prints how many parameters train."""
    from peft import LoraConfig, get_peft_model
    spec = spec if isinstance(spec, LoraSpec) else LoraSpec(**spec)
    if spec.rank < 1:
        raise TrainerError(f"model.lora.rank must be >= 1, not {spec.rank}")
    cfg = LoraConfig(r=spec.rank, lora_alpha=spec.alpha, lora_dropout=spec.dropout,
                     target_modules=list(spec.target_modules), task_type="CAUSAL_LM", bias="none")
    try:
        wrapped = get_peft_model(model, cfg)
    except ValueError as e:
        raise TrainerError(f"model.lora.target_modules {spec.target_modules}: {str(e).splitlines()[0]}") from None
    trainable, total = parameter_counts(wrapped)
    print(f"lora: {trainable:,} trainable parameters of {total:,} ({100 * trainable / total:.2f}%), rank "
          f"{spec.rank}, alpha {spec.alpha}, modules {','.join(spec.target_modules)}", file=sys.stderr)
    return wrapped


def parameter_counts(model) -> tuple[int, int]:
    """(trainable, total) distinct parameters (a tied head counts once)."""
    params = {id(p): p for p in model.parameters()}.values()
    return sum(p.numel() for p in params if p.requires_grad), sum(p.numel() for p in params)


def tokenizer_sha256(folder: str | Path) -> str | None:
    path = Path(folder) / TOKENIZER_JSON
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None


def check_tokenizer(folder: str | Path, data_meta: dict) -> None:
    """The shards must come from DIR's own tokenizer (an `hf:` tokenizer whose source is DIR/tokenizer.json)."""
    want = tokenizer_sha256(folder)
    tok_path = data_meta.get("tokenizer_path")
    meta_file = Path(tok_path).with_name("meta.json") if tok_path else None
    source = json.loads(meta_file.read_text()).get("source_sha256") if meta_file and meta_file.is_file() else None
    if want is None or source != want:
        raise TrainerError(f"model.init_from {folder} has its own tokenizer, the data's shards were packed with "
                           f"{data_meta.get('tokenizer_id')}: pack with `python -m transforms pack --tokenizer "
                           f"hf:{folder}` and train on those shards (data.tokenizer_id)")


def held_out_bpb(model, dm) -> dict[str, float]:
    """Validation metrics (val/bpb, per category too) of a causal LM on a set-up data module's held-out
    documents, exactly as a run's validation feeds them: the 'before' of a run that starts from `model`."""
    from trainers.model import IGNORE, val_metrics
    from trainers.windows import ValDocuments
    import torch.nn.functional as F

    n = len(dm.val_categories)
    sums = {k: torch.zeros(n, dtype=torch.float64) for k in ("nll", "tokens", "bytes")}
    model.eval()
    with torch.no_grad():
        for b in ValDocuments(dm.val_docs, dm.seq_len, dm.val_batch_size, 0, 1):
            logits = model(input_ids=b["input_ids"]).logits
            losses = F.cross_entropy(logits.float().flatten(0, 1), b["targets"].flatten(), ignore_index=IGNORE,
                                     reduction="none").view_as(b["targets"]).double()
            sums["nll"].index_add_(0, b["category"], losses.sum(1))
            sums["tokens"].index_add_(0, b["category"], (b["targets"] != IGNORE).sum(1).double())
            sums["bytes"].index_add_(0, b["category"], b["bytes"].double())
    return val_metrics(dm.val_categories, sums["nll"], sums["tokens"], sums["bytes"])
