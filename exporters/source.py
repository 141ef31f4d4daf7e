"""What an export starts from: a training checkpoint (--ckpt) or one of our Hugging Face exports (--hf).

Both give the same `ModelSource` (the shape of artifacts.checkpoint.LoadedModel): the LlamaForCausalLM in
eval/float32/CPU, the SentencePiece .model it was trained with, and the provenance the model card needs.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from artifacts.checkpoint import load_model
from exporters.errors import ExportError

META_FILE = "repo_llm.json"          # provenance beside an HF export: tokens seen, lake snapshot, shards, ...
TOKENIZER_FILE = "tokenizer.model"   # the SentencePiece model, under the name transformers and gguf expect


@dataclass
class ModelSource:
    model: object                    # transformers.LlamaForCausalLM
    tokenizer_path: Path
    tokenizer_id: str | None
    meta: dict = field(default_factory=dict)
    origin: str = ""                 # the checkpoint or folder it was read from


def from_checkpoint(ckpt: str | Path) -> ModelSource:
    loaded = load_model(ckpt)
    return ModelSource(loaded.model, Path(loaded.tokenizer_path), loaded.tokenizer_id, dict(loaded.meta), str(ckpt))


def from_hf(folder: str | Path) -> ModelSource:
    from transformers import AutoModelForCausalLM

    folder = Path(folder)
    for name in ("config.json", TOKENIZER_FILE):
        if not (folder / name).is_file():
            raise ExportError(f"--hf {folder}: no {name} (not a folder written by `python -m exporters hf`)")
    try:
        model = AutoModelForCausalLM.from_pretrained(folder, local_files_only=True, dtype="float32")
    except (OSError, ValueError) as e:
        raise ExportError(f"--hf {folder}: cannot load the model ({str(e).splitlines()[0]})") from None
    meta = json.loads((folder / META_FILE).read_text()) if (folder / META_FILE).is_file() else {}
    return ModelSource(model.eval(), folder / TOKENIZER_FILE, meta.get("tokenizer_id"), meta, str(folder))


def load_source(ckpt: str | None = None, hf: str | None = None) -> ModelSource:
    if (ckpt is None) == (hf is None):
        raise ExportError("give exactly one of --ckpt CKPT or --hf DIR")
    return from_checkpoint(ckpt) if ckpt else from_hf(hf)


def parameter_count(model) -> int:
    """Distinct parameters (a tied head counts once)."""
    return sum(p.numel() for p in {id(p): p for p in model.parameters()}.values())
