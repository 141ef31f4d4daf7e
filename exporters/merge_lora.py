"""A run on a Hugging Face base (trainers/adapt.py) back into a Hugging Face folder: `merge-lora`.

`merge_lora(base, ckpt, out)`: with a LoRA checkpoint, the base folder's model gets the checkpoint's adapter
weights (peft, the LoraSpec the run recorded) and `merge_and_unload()` folds them into the linear layers; with a
continued-pretraining checkpoint (every weight trained) the checkpoint's weights replace the base's. Either way
`out` is the base folder's layout -- config.json, model.safetensors, generation config, and the base's own
tokenizer files copied as they are -- plus repo_llm.json (provenance), so `exporters gguf --hf out` and the
server take it like any other export.
"""
from __future__ import annotations

import json
import shutil
from dataclasses import asdict
from pathlib import Path

import torch

from exporters.errors import ExportError
from exporters.source import META_FILE

# Tokenizer (and generation) files of the base that travel unchanged: the merged model keeps its vocabulary.
BASE_FILES = ("tokenizer.json", "tokenizer_config.json", "tokenizer.model", "special_tokens_map.json",
              "generation_config.json", "chat_template.jinja", "vocab.json", "merges.txt")


def adapted_model(base: Path, ckpt: Path, *, with_meta: bool = False):
    """The base model with the checkpoint's LoRA adapters attached (a peft model, not merged) or, for a
    continued-pretraining checkpoint, its full weights loaded; eval, float32."""
    from trainers.adapt import LoraSpec, apply_lora, load_base
    from trainers.checkpoint import META_KEY, read_checkpoint
    from trainers.errors import TrainerError

    base, ckpt = Path(base), Path(ckpt)
    try:
        state = read_checkpoint(ckpt)
        hp = state.get("hyper_parameters", {})
        model = load_base(base, int(hp.get("vocab_size") or 0), bool(hp.get("lora")))
    except TrainerError as e:
        raise ExportError(str(e)) from None
    weights = {k.removeprefix("model."): v.float() for k, v in state.get("state_dict", {}).items()
               if k.startswith("model.")}
    if not weights:
        raise ExportError(f"--adapter {ckpt}: no model weights in it (not a trainers checkpoint)")
    lora = hp.get("lora")
    spec = None
    if lora:
        spec = lora if isinstance(lora, LoraSpec) else LoraSpec(**dict(lora))
        model = apply_lora(model, spec)
        adapters = {k: v for k, v in weights.items() if "lora_" in k}
        if not adapters:
            raise ExportError(f"--adapter {ckpt}: its run used LoRA but it holds no lora_ weights")
        _, unexpected = model.load_state_dict(adapters, strict=False)
        if unexpected:
            raise ExportError(f"--adapter {ckpt}: adapter weights do not fit --base {base} (e.g. {unexpected[0]})")
    else:
        missing, unexpected = model.load_state_dict(weights, strict=False)
        missing = [m for m in missing if not (model.config.tie_word_embeddings and m == "lm_head.weight")]
        if missing or unexpected:
            raise ExportError(f"--adapter {ckpt}: weights do not fit --base {base} (missing {missing[:3]}, "
                              f"unexpected {unexpected[:3]})")
        model.tie_weights()
    model = model.float().eval()
    return (model, dict(state.get(META_KEY, {})), spec) if with_meta else model


def merge_lora(base: str | Path, ckpt: str | Path, out: str | Path) -> Path:
    base, ckpt, out = Path(base), Path(ckpt), Path(out)
    if out.exists() and any(out.iterdir()) and not (out / "config.json").exists():
        raise ExportError(f"--out {out}: folder exists and is not an earlier export; choose an empty one")
    if out.resolve() == base.resolve():
        raise ExportError("--out must not be the --base folder")
    model, meta, spec = adapted_model(base, ckpt, with_meta=True)
    if spec is not None:
        model = model.merge_and_unload()  # W + (alpha / r) * B @ A, then plain linear layers again
    out.mkdir(parents=True, exist_ok=True)
    model.config.use_cache = True
    with torch.no_grad():
        model.save_pretrained(out, safe_serialization=True)
    for name in BASE_FILES:
        if (base / name).is_file():
            shutil.copyfile(base / name, out / name)
    base_meta = json.loads((base / META_FILE).read_text()) if (base / META_FILE).is_file() else {}
    keep = {k: v for k, v in meta.items() if k not in ("tokenizer_model", "config")}
    keep.update(base_model=str(base.resolve()), base_meta=base_meta, adapter=str(ckpt.resolve()),
                lora=asdict(spec) if spec else None, exported_from=str(ckpt),
                tokenizer_id=meta.get("tokenizer_id"))
    (out / META_FILE).write_text(json.dumps(keep, indent=1, sort_keys=True, default=str) + "\n")
    return out
