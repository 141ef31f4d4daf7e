"""Reading a training checkpoint without the run that wrote it: the model, its tokenizer and its provenance.

A .ckpt carries, beside Lightning's state, `checkpoint["repo_llm"]` (META_KEY): the tokenizer id, its path
and the SentencePiece model bytes themselves, the lake snapshot, the shard manifest, tokens seen and step.
So `load_model(ckpt)` works when the lake or the run folder are gone. A run on a Hugging Face base
(trainers/adapt.py) loads too, without that base folder: its checkpoint holds every weight (under LoRA the
frozen base beside the adapters, which are merged in memory) and the config the base had; its tokenizer is
that base's tokenizer.json (with the meta.json the HF tokenizer needs, rebuilt when only the copy is left).
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import torch
from transformers import AutoConfig, AutoModelForCausalLM, LlamaForCausalLM

from artifacts.architecture import ARCHITECTURE, apply_special_ids, fresh_model
from artifacts.errors import CheckpointError
from artifacts.lora import LoraSpec, apply_lora

META_KEY = "repo_llm"


@dataclass
class LoadedModel:
    model: LlamaForCausalLM      # eval mode, float32, CPU
    tokenizer_path: Path         # the SentencePiece .model, or a Hugging Face base's tokenizer.json
    tokenizer_id: str | None
    meta: dict = field(default_factory=dict)  # config, lake_snapshot, shards, tokens_seen, step, ...


def read_checkpoint(ckpt: str | Path) -> dict:
    path = Path(ckpt)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path}: no such file")
    try:
        return torch.load(path, map_location="cpu", weights_only=False)
    except Exception as e:  # a truncated or foreign file: say which one
        raise CheckpointError(f"checkpoint {path}: cannot read ({type(e).__name__}: {str(e).splitlines()[0][:200]})") from None


def _tokenizer_file(path: Path, meta: dict) -> Path:
    """The recorded tokenizer if it is still there and unchanged, else the copy inside the checkpoint."""
    recorded = Path(meta["tokenizer_path"]) if meta.get("tokenizer_path") else None
    blob: bytes | None = meta.get("tokenizer_model")
    want = meta.get("tokenizer_sha256")
    if recorded and recorded.is_file() and (want is None or hashlib.sha256(recorded.read_bytes()).hexdigest() == want):
        return recorded
    if blob is None:
        raise CheckpointError(f"checkpoint {path}: its tokenizer {recorded} is gone and no copy is stored in it")
    if recorded and recorded.suffix == ".json":  # a Hugging Face tokenizer: a folder with its meta.json
        out = path.with_name(f"{path.stem}.tokenizer") / recorded.name
        out.parent.mkdir(exist_ok=True)
        side = {"tokenizer_id": meta.get("tokenizer_id"), "kind": "hf", "special_ids": meta.get("special_ids") or {}}
        (out.parent / "meta.json").write_text(json.dumps(side, indent=1, sort_keys=True) + "\n")
    else:
        out = path.with_name(f"{path.stem}.tokenizer.model")
    if not out.exists() or out.read_bytes() != blob:
        out.write_bytes(blob)
    return out


def _adapted_model(path: Path, hp: dict, meta: dict, weights: dict):
    """A run on a Hugging Face base: the model its recorded config describes, the checkpoint's weights in it
    and, under LoRA, the adapters merged into the linear layers (a plain causal LM again)."""
    cfg_dict = dict(meta.get("config") or {})
    if "model_type" not in cfg_dict:
        raise CheckpointError(f"checkpoint {path}: a run on {hp.get('init_from')} but no model config recorded in it")
    cfg = AutoConfig.for_model(cfg_dict.pop("model_type"), **cfg_dict)
    model = AutoModelForCausalLM.from_config(cfg, dtype=torch.float32)
    lora = hp.get("lora")
    if lora:
        model = apply_lora(model, lora if isinstance(lora, LoraSpec) else LoraSpec(**dict(lora)))
    missing, unexpected = model.load_state_dict(weights, strict=False)
    missing = [m for m in missing if not (cfg.tie_word_embeddings and m.endswith("lm_head.weight"))]
    if missing or unexpected:
        raise CheckpointError(f"checkpoint {path}: weights do not fit its model (missing {missing[:3]}, unexpected {unexpected[:3]})")
    if lora:
        model = model.merge_and_unload()  # W + (alpha / r) * B @ A: the plain model the export would give
    model.tie_weights()
    return model, cfg


def load_model(ckpt: str | Path) -> LoadedModel:
    """The LlamaForCausalLM of a checkpoint (eval, float32, CPU) with its tokenizer and provenance."""
    path = Path(ckpt)
    state = read_checkpoint(path)
    if "state_dict" not in state or "hyper_parameters" not in state:
        raise CheckpointError(f"checkpoint {path}: not a trainers checkpoint (no state_dict / hyper_parameters)")
    hp = state["hyper_parameters"]
    meta = dict(state.get(META_KEY, {}))
    weights = {k.removeprefix("model."): v.float() for k, v in state["state_dict"].items() if k.startswith("model.")}
    # a run that started from another model is rebuilt from the config it recorded, not by looking for
    # that model's folder (it may be gone or elsewhere now)
    started_from = hp.get("init_from") and (meta.get("config") or {}).get("model_type")
    if hp.get("lora") or started_from or any(k.startswith("base_model.") for k in weights):
        model, cfg = _adapted_model(path, hp, meta, weights)
    else:
        model = fresh_model({k: hp[k] for k in ARCHITECTURE}, hp.get("init_std", 0.02))
        cfg = model.config
        missing, unexpected = model.load_state_dict(weights, strict=False)
        # A tied head has no weight of its own in the state dict; anything else missing is a broken checkpoint.
        missing = [m for m in missing if not (cfg.tie_word_embeddings and m == "lm_head.weight")]
        if missing or unexpected:
            raise CheckpointError(f"checkpoint {path}: weights do not fit the model (missing {missing[:3]}, unexpected {unexpected[:3]})")
        model.tie_weights()
    apply_special_ids(model, meta.get("special_ids"))
    model = model.float().eval().to("cpu")
    tokenizer = _tokenizer_file(path, meta)
    meta.pop("tokenizer_model", None)
    meta.setdefault("config", cfg.to_dict())
    meta.setdefault("step", int(state.get("global_step", 0)))
    meta["hyper_parameters"] = dict(hp)
    return LoadedModel(model=model, tokenizer_path=tokenizer, tokenizer_id=meta.get("tokenizer_id"), meta=meta)
