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
from pathlib import Path

import torch
from transformers import AutoModelForCausalLM

from artifacts.architecture import is_hf_folder
from trainers.errors import TrainerError
from trainers.loss import HeldOutSums, token_losses
from trainers.windows import ValDocuments

TOKENIZER_JSON = "tokenizer.json"


def load_base(folder: str | Path, vocab_size: int = 0, lora: bool = False):
    """DIR's causal LM in float32; embeddings grown to `vocab_size` when the data's tokenizer added tokens
    (not under LoRA: the new rows would stay at their initial values, frozen)."""
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
    sums = HeldOutSums(dm.val_categories)
    model.eval()
    with torch.no_grad():
        for b in ValDocuments(dm.val_docs, dm.seq_len, dm.val_batch_size, 0, 1):
            sums.add(b, token_losses(model, b))
    return sums.metrics()
