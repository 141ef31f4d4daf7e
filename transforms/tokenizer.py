"""Training the tokenizer: one lossless SentencePiece BPE over Go code, trained on a stratified sample of the lake.

Loading one (what the trainers, exporters and evaluation use) is artifacts/tokenizer.py.

Train one: `python -m transforms tokenizer --vocab-size 32000 [--sample-bytes N]` (transforms/tokenizer_cli.py),
or `train_tokenizer(lake, vocab_size, sample_bytes)`. It writes, under `lake.artifacts("tokenizers")/<id>/`:
- `tokenizer.model`: the SentencePiece model (ids: 0 <pad>, 1 <unk>, 2 <s>, 3 </s>, then the markers and FIM sentinels, then
  the 256 byte pieces <0x00>..<0xFF>, then the merges);
- `meta.json`: options, vocabulary size, the lake snapshot the sample was read at, sample bytes and documents
  by category, bytes per token on val by category;
- `sample.parquet`: the sample_ids of the training sample (the exact sample, re-readable at that snapshot);
and one `tokenizers` row (path, vocab_size, options, sample_snapshot, sample_bytes, bytes_per_token, sha256).
The id is `spm-bpe-<vocab>-<first 12 hex of the model's sha256>`: the same sample and options give the same id.

The sample is category-stratified: the byte budget is shared equally between the train split's categories
(NAT, MIX, CODE); a category with less text than its share gives all it has and the rest goes to the others.
Within a category documents are taken in sample_id (a sha256) order, i.e. a fixed pseudo-random sample.
Whole documents are fed through `sentence_iterator`: a text file read line by line would lose the newlines.

Lossless (artifacts/tokenizer.py): SentencePiece is configured not to normalise and to fall back to bytes.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
from datetime import datetime, timezone
from typing import Iterator

import pyarrow as pa
import pyarrow.parquet as pq
import sentencepiece as spm

from artifacts import grammar
from artifacts.errors import TokenizerError
from artifacts.tokenizer import META_FILE, MODEL_FILE, Tokenizer, marker_piece
from artifacts.tokenizer_sample import bytes_per_token, stratified_quotas
from artifacts.tokenizer_sample import category_bytes as _category_bytes, stream_sample as _stream_sample

KIND = "sentencepiece"
SAMPLE_FILE = "sample.parquet"

# Found on Go code (see /work/shared/FACTS.md): no normalisation, byte fallback, pieces free to cross
# whitespace and script boundaries (indentation runs and `) {\n\t` become single pieces).
SPM_OPTIONS: dict = {
    "model_type": "bpe",
    "normalization_rule_name": "identity",
    "remove_extra_whitespaces": False,
    "add_dummy_prefix": False,
    "byte_fallback": True,
    "allow_whitespace_only_pieces": True,
    "split_by_whitespace": False,
    "split_by_unicode_script": False,
    "split_digits": False,
    "character_coverage": 0.9995,  # the rarest characters are left to byte pieces, not given a piece each
    "max_sentence_length": 1 << 22,  # bytes; training documents are cut to MAX_TRAIN_DOC_CHARS below it
    "pad_id": 0, "unk_id": 1, "bos_id": 2, "eos_id": 3,
    "pad_piece": grammar.PAD, "unk_piece": grammar.UNK, "bos_piece": grammar.BOS, "eos_piece": grammar.EOS,
}
MAX_TRAIN_DOC_CHARS = 1 << 20  # a single huge generated file should not dominate the merges


# -- training -------------------------------------------------------------------------------------
def train_tokenizer(lake, vocab_size: int, sample_bytes: int = 200_000_000, *, num_threads: int | None = None,
                    progress: bool = True) -> Tokenizer:
    """Train on a category-stratified sample of the train split; store the model and a `tokenizers` row."""
    minimum = 4 + len(grammar.SINGLE_TOKENS) + 256 + 1
    if vocab_size < minimum:
        raise TokenizerError(f"--vocab-size {vocab_size} is too small: the specials, markers and 256 byte pieces "
                             f"need {minimum}")
    if sample_bytes <= 0:
        raise TokenizerError(f"--sample-bytes must be positive, not {sample_bytes}")
    snapshot = lake.snapshot()
    available = _category_bytes(lake, "train")
    if not any(available.values()):
        raise TokenizerError("no train samples in the lake (build the `samples` table first: python -m transforms run)")
    quotas = stratified_quotas(available, sample_bytes)
    chosen: dict[str, list] = {"sample_id": [], "category": []}
    taken: dict[str, dict[str, int]] = {}

    def documents() -> Iterator[str]:
        from tqdm import tqdm
        with tqdm(total=sum(quotas.values()), unit="B", unit_scale=True, desc="tokenizer sample",
                  disable=not progress) as bar:
            for batch in _stream_sample(lake, "train", quotas):
                for sid, cat, text in zip(*(batch.column(c).to_pylist() for c in ("sample_id", "category", "text"))):
                    chosen["sample_id"].append(sid)
                    chosen["category"].append(cat)
                    n = len(text.encode("utf-8", "surrogateescape"))
                    t = taken.setdefault(cat, {"documents": 0, "bytes": 0})
                    t["documents"] += 1
                    t["bytes"] += n
                    bar.update(n)
                    yield text[:MAX_TRAIN_DOC_CHARS]

    options = {**SPM_OPTIONS, "vocab_size": vocab_size,
               "user_defined_symbols": [marker_piece(m) for m in grammar.SINGLE_TOKENS]}
    model = io.BytesIO()
    try:
        spm.SentencePieceTrainer.train(sentence_iterator=documents(), model_writer=model, minloglevel=2,
                                       num_threads=num_threads or os.cpu_count() or 1, **options)
    except RuntimeError as e:
        raise TokenizerError(f"sentencepiece training failed: {str(e).strip().splitlines()[-1]}") from None
    blob = model.getvalue()
    sha = hashlib.sha256(blob).hexdigest()
    tokenizer_id = f"spm-bpe-{vocab_size}-{sha[:12]}"

    root = lake.artifacts("tokenizers")
    final, tmp = root / tokenizer_id, root / f".{tokenizer_id}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    (tmp / MODEL_FILE).write_bytes(blob)
    pq.write_table(pa.table(chosen), tmp / SAMPLE_FILE)
    tok = Tokenizer(tmp / MODEL_FILE, {"tokenizer_id": tokenizer_id})
    bpt = bytes_per_token(lake, tok, "val")
    created = datetime.now(timezone.utc)
    meta = {
        "tokenizer_id": tokenizer_id, "kind": KIND, "vocab_size": tok.vocab_size, "sha256": sha,
        "options": options, "sample_snapshot": snapshot, "sample_bytes": sum(t["bytes"] for t in taken.values()),
        "sample_requested_bytes": sample_bytes, "sample_by_category": dict(sorted(taken.items())),
        "bytes_per_token_val": bpt, "special_ids": {"pad": tok.pad_id, "unk": tok.unk_id, "bos": tok.bos_id,
                                                    "eos": tok.eos_id},
        "marker_ids": tok.marker_ids, "fim_ids": tok.fim_ids, "created_at": created.isoformat(),
    }
    (tmp / META_FILE).write_text(json.dumps(meta, indent=1, sort_keys=True) + "\n")
    shutil.rmtree(final, ignore_errors=True)  # the same id is the same model: replacing it changes nothing
    tmp.rename(final)
    lake.write("tokenizers", [{
        "tokenizer_id": tokenizer_id, "kind": KIND, "path": str((final / MODEL_FILE).relative_to(lake.root)),
        "vocab_size": tok.vocab_size, "options": json.dumps(options, sort_keys=True), "sample_snapshot": snapshot,
        "sample_bytes": meta["sample_bytes"], "bytes_per_token": json.dumps(bpt, sort_keys=True), "sha256": sha,
        "created_at": created,
    }], mode="upsert", message=f"tokenizer {tokenizer_id}")
    return Tokenizer.from_file(final / MODEL_FILE)
