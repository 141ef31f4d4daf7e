"""A run on a Hugging Face base (trainers/adapt.py) back into a Hugging Face folder: `merge-lora`.

`merge_lora(base, ckpt, out)`: the checkpoint's model as artifacts.checkpoint.load_model gives it -- under LoRA
the adapters folded into the linear layers by peft's `merge_and_unload()`, after continued pretraining every
weight as trained; the base must be the model the run started from. `out` is the base folder's layout -- config.json, model.safetensors, generation config, and the base's own
tokenizer files copied as they are -- plus repo_llm.json (provenance), so `exporters gguf --hf out` and the
server take it like any other export.
"""
from __future__ import annotations

import json
import shutil
from dataclasses import asdict
from pathlib import Path

import torch
from transformers import AutoConfig

from exporters.errors import ExportError
from exporters.source import META_FILE
from artifacts.architecture import hf_architecture, is_hf_folder
from artifacts.checkpoint import load_model
from artifacts.lora import LoraSpec

# Tokenizer (and generation) files of the base that travel unchanged: the merged model keeps its vocabulary.
BASE_FILES = ("tokenizer.json", "tokenizer_config.json", "tokenizer.model", "special_tokens_map.json",
              "generation_config.json", "chat_template.jinja", "vocab.json", "merges.txt")


def merge_lora(base: str | Path, ckpt: str | Path, out: str | Path) -> Path:
    base, ckpt, out = Path(base), Path(ckpt), Path(out)
    if out.exists() and any(out.iterdir()) and not (out / "config.json").exists():
        raise ExportError(f"--out {out}: folder exists and is not an earlier export; choose an empty one")
    if out.resolve() == base.resolve():
        raise ExportError("--out must not be the --base folder")
    if not is_hf_folder(base):
        raise ExportError(f"--base {base}: no config.json (not a Hugging Face model folder)")
    loaded = load_model(ckpt)  # the checkpoint holds every weight (the frozen base beside LoRA adapters), merged
    model, meta = loaded.model, loaded.meta
    lora = meta["hyper_parameters"].get("lora")
    spec = lora if lora is None or isinstance(lora, LoraSpec) else LoraSpec(**dict(lora))
    # --base supplies only the tokenizer and generation files: it must be the model the run started from
    theirs, ours = hf_architecture(AutoConfig.from_pretrained(base, local_files_only=True)), hf_architecture(model.config)
    differ = [k for k in theirs if k != "vocab_size" and theirs[k] != ours[k]]
    if differ:
        raise ExportError(f"--base {base} is not the model {ckpt} was trained from ({differ[0]}: "
                          f"{theirs[differ[0]]} vs {ours[differ[0]]})")
    out.mkdir(parents=True, exist_ok=True)
    model.config.use_cache = True
    with torch.no_grad():
        model.save_pretrained(out, safe_serialization=True)
    for name in BASE_FILES:
        if (base / name).is_file():
            shutil.copyfile(base / name, out / name)
    base_meta = json.loads((base / META_FILE).read_text()) if (base / META_FILE).is_file() else {}
    keep = {k: v for k, v in meta.items() if k not in ("tokenizer_model", "config", "hyper_parameters")}
    keep.update(base_model=str(base.resolve()), base_meta=base_meta, adapter=str(ckpt.resolve()),
                lora=asdict(spec) if spec else None, exported_from=str(ckpt),
                tokenizer_id=meta.get("tokenizer_id"))
    (out / META_FILE).write_text(json.dumps(keep, indent=1, sort_keys=True, default=str) + "\n")
    return out
