"""LoRA adapters (peft) on a causal LM: what a run trains on a frozen base, and what a checkpoint merges back."""
from __future__ import annotations

import sys
from dataclasses import dataclass, field

from artifacts.errors import ModelConfigError


@dataclass
class LoraSpec:
    """peft LoRA settings (model.lora in the YAML)."""
    rank: int = 8
    alpha: float = 16.0
    dropout: float = 0.0
    target_modules: list[str] = field(default_factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj",
                                                               "gate_proj", "up_proj", "down_proj"])


def apply_lora(model, spec: LoraSpec | dict):
    """Freeze `model` and wrap it in peft LoRA adapters; prints how many parameters train."""
    from peft import LoraConfig, get_peft_model  # heavy (seconds to import), and most runs never use LoRA
    spec = spec if isinstance(spec, LoraSpec) else LoraSpec(**spec)
    if spec.rank < 1:
        raise ModelConfigError(f"model.lora.rank must be >= 1, not {spec.rank}")
    cfg = LoraConfig(r=spec.rank, lora_alpha=spec.alpha, lora_dropout=spec.dropout,
                     target_modules=list(spec.target_modules), task_type="CAUSAL_LM", bias="none")
    try:
        wrapped = get_peft_model(model, cfg)
    except ValueError as e:
        raise ModelConfigError(f"model.lora.target_modules {spec.target_modules}: {str(e).splitlines()[0]}") from None
    trainable, total = parameter_counts(wrapped)
    print(f"lora: {trainable:,} trainable parameters of {total:,} ({100 * trainable / total:.2f}%), rank "
          f"{spec.rank}, alpha {spec.alpha}, modules {','.join(spec.target_modules)}", file=sys.stderr)
    return wrapped


def parameter_counts(model) -> tuple[int, int]:
    """(trainable, total) distinct parameters (a tied head counts once)."""
    params = {id(p): p for p in model.parameters()}.values()
    return sum(p.numel() for p in params if p.requires_grad), sum(p.numel() for p in params)
