"""A checkpoint as a Hugging Face model folder (transformers, vLLM, TGI, any OpenAI-compatible stack).

The folder: config.json, model.safetensors, generation_config.json, tokenizer.json + tokenizer_config.json
(and the SentencePiece tokenizer.model itself), repo_llm.json (provenance, so `gguf --hf` and `card` can
work from the folder alone). It loads offline with AutoModelForCausalLM / AutoTokenizer.from_pretrained.
"""
from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path

from transformers import GenerationConfig

from exporters.errors import ExportError
from exporters.gguf_vocab import SentencePieceVocab
from exporters.hf_tokenizer import build_hf_tokenizer
from exporters.source import META_FILE, TOKENIZER_FILE, ModelSource
from artifacts import sampling


def write_hf(source: ModelSource, out: Path) -> Path:
    out = Path(out)
    if out.exists() and any(out.iterdir()) and not (out / "config.json").exists():
        raise ExportError(f"--out {out}: folder exists and is not an earlier export; choose an empty one")
    out.mkdir(parents=True, exist_ok=True)
    vocab = SentencePieceVocab.from_file(source.tokenizer_path)
    model = source.model
    if len(vocab) != model.config.vocab_size:
        raise ExportError(f"tokenizer {source.tokenizer_path} has {len(vocab)} pieces, the model's vocab_size is "
                          f"{model.config.vocab_size}")
    # The tokenizer's ids are the truth: the config carries them for generate() and for servers.
    config = copy.deepcopy(model.config)
    config.bos_token_id, config.eos_token_id, config.pad_token_id = vocab.bos_id, vocab.eos_id, vocab.pad_id
    config.use_cache = True
    original, model.config = model.config, config
    try:
        model.save_pretrained(out, safe_serialization=True)
    finally:
        model.config = original
    GenerationConfig(bos_token_id=vocab.bos_id, eos_token_id=vocab.eos_id, pad_token_id=vocab.pad_id,
                     max_new_tokens=256, **sampling.DEFAULT.hf()).save_pretrained(out)
    build_hf_tokenizer(source.tokenizer_path, config.max_position_embeddings).save_pretrained(out)
    if Path(source.tokenizer_path).resolve() != (out / TOKENIZER_FILE).resolve():
        shutil.copyfile(source.tokenizer_path, out / TOKENIZER_FILE)
    meta = {k: v for k, v in source.meta.items() if k not in ("hyper_parameters", "config")}
    meta.update(tokenizer_id=source.tokenizer_id, exported_from=source.origin)
    (out / META_FILE).write_text(json.dumps(meta, indent=1, sort_keys=True, default=str) + "\n")
    return out
