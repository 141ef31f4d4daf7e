"""The model a run starts from, built one of three ways: fresh from the architecture, from a trainers checkpoint
(`init_from` a .ckpt, e.g. SFT), or from a Hugging Face model folder (continued pretraining, trainers/adapt.py);
then optionally wrapped in LoRA adapters."""
from __future__ import annotations

from dataclasses import dataclass, field

import torch
from transformers import AutoConfig

from artifacts.architecture import ARCHITECTURE, fresh_model, hf_architecture, is_hf_folder
from artifacts.checkpoint import META_KEY, read_checkpoint
from artifacts.lora import LoraSpec, apply_lora, parameter_counts
from trainers.adapt import load_base
from trainers.errors import TrainerError


@dataclass
class Built:
    model: torch.nn.Module
    config: object                                  # the model's transformers config (before any LoRA wrapping)
    arch: dict                                      # the ARCHITECTURE actually built (checkpoints record it)
    base_meta: dict = field(default_factory=dict)   # what the model started from carries (tokenizer, counts)


def base_architecture(arch: dict, init_from: str | None) -> tuple[dict, dict | None]:
    """The architecture a run builds: `arch` itself, or the one of the model it starts from (with that
    checkpoint's state, when it is one)."""
    if is_hf_folder(init_from):
        built = hf_architecture(AutoConfig.from_pretrained(init_from, local_files_only=True))
        built["vocab_size"] = max(arch["vocab_size"], built["vocab_size"])  # grown for added marker tokens
        return built, None
    if init_from:
        base = read_checkpoint(init_from)
        built = {k: base["hyper_parameters"][k] for k in ARCHITECTURE}
        if arch["vocab_size"] and arch["vocab_size"] != built["vocab_size"]:
            raise TrainerError(f"model.init_from {init_from}: vocabulary {built['vocab_size']} != data's {arch['vocab_size']}")
        return built, base
    return dict(arch), None


def build_model(arch: dict, init_std: float, init_from: str | None, lora: LoraSpec | None, seed: int) -> Built:
    """The model of a run; its initial weights (and LoRA's) depend on the seed alone, not on what ran before."""
    arch, base = base_architecture(arch, init_from)
    base_meta = dict(base.get(META_KEY, {})) if base is not None else {}
    if is_hf_folder(init_from):
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            model = load_base(init_from, arch["vocab_size"], lora is not None)
    else:
        model = fresh_model(arch, init_std, seed)
    config = model.config
    if base is not None:
        model.load_state_dict({k.removeprefix("model."): v for k, v in base["state_dict"].items()
                               if k.startswith("model.")})
    if lora is not None:  # after the weights it adapts are in place; its own init seeded like the model's
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            model = apply_lora(model, lora)
        base_meta["trainable_parameters"], base_meta["parameters"] = parameter_counts(model)
    return Built(model, config, arch, base_meta)
