"""Another model's Hugging Face tokenizer (its tokenizer.json) as a packer tokenizer, registered in the lake.

`pack --tokenizer hf:DIR` packs the gold samples with the tokenizer of an open model on disk, beside our
SentencePiece shards: `register_hf_tokenizer(lake, DIR, markers)` copies DIR/tokenizer.json (and the special
ids from DIR's tokenizer_config.json / config.json) to `lake.artifacts("tokenizers")/<id>/` and writes one
`tokenizers` row (kind `hf`), so the shards, the trainers and provenance resolve it like our own.
The id is `hf:<folder name>-<first 12 hex of the sha256 of DIR/tokenizer.json>` (`+markers` when the region
markers were added as tokens): the same tokenizer gives the same id, and `source_sha256` in the row's
options ties the shards to the model folder they belong with (trainers/adapt.py checks it).
`python -m artifacts.hf_tokenizer DIR [text|special]` prints the id (for `--data.tokenizer_id`).

Region markers (`markers`):
- "text" (the default): the markers stay plain text, split by the model's own merges. Nothing about the
  model changes, so this works with LoRA, whose frozen embeddings could not learn a new row, and keeps the
  packed shards valid for the unchanged checkpoint and every export of it.
- "special": each marker and FIM sentinel the vocabulary lacks becomes one added special token (ids after the vocabulary);
  training must then resize the embeddings (continued pretraining does: trainers/adapt.py resizes them and
  trains the new rows). One id per marker is shorter and unambiguous, worth it only when all weights train.
"""
from __future__ import annotations

import hashlib
import json
import shutil
from datetime import datetime, timezone
from pathlib import Path

from tokenizers import AddedToken, Tokenizer as Backend

from artifacts import grammar
from artifacts.errors import TokenizerError
from artifacts.tokenizer_sample import bytes_per_token

KIND = "hf"
TOKENIZER_JSON, META_FILE = "tokenizer.json", "meta.json"
MARKER_MODES = ("text", "special")
PREFIX = "hf:"


class HFTokenizer:
    """tokenizers.Tokenizer with the interface of transforms.tokenizer.Tokenizer that the packer and trainers use."""

    def __init__(self, path: str | Path, meta: dict | None = None):
        self.model_path = Path(path)
        try:
            self.backend = Backend.from_file(str(self.model_path))
        except Exception as e:  # tokenizers raises a bare Exception on a bad file
            raise TokenizerError(f"tokenizer {self.model_path}: cannot load ({str(e).splitlines()[0]})") from None
        self.meta = meta or {}
        self.tokenizer_id = self.meta.get("tokenizer_id") or self.model_path.parent.name
        self.vocab_size = self.backend.get_vocab_size(with_added_tokens=True)
        ids = self.meta.get("special_ids", {})
        self.bos_id, self.eos_id, self.pad_id, self.unk_id = (ids.get(k) for k in ("bos", "eos", "pad", "unk"))
        if self.eos_id is None:
            raise TokenizerError(f"tokenizer {self.model_path}: no EOS token (the packer ends every document with it)")
        vocab = self.backend.get_vocab(with_added_tokens=True)
        self.marker_ids = {m: vocab[m] for m in grammar.MARKERS if m in vocab}
        self.fim_ids = {m: vocab[m] for m in grammar.FIM_MARKERS} if all(m in vocab for m in grammar.FIM_MARKERS) else {}

    @classmethod
    def from_file(cls, path: str | Path) -> "HFTokenizer":
        meta_path = Path(path).with_name(META_FILE)
        return cls(path, json.loads(meta_path.read_text()) if meta_path.exists() else None)

    def encode(self, text: str) -> list[int]:
        return self.backend.encode(text, add_special_tokens=False).ids

    def encode_batch(self, texts: list[str], num_threads: int = 1) -> list[list[int]]:
        return [e.ids for e in self.backend.encode_batch(texts, add_special_tokens=False)]

    def decode(self, ids) -> str:
        return self.backend.decode(list(ids), skip_special_tokens=False)

    def decode_bytes(self, ids) -> bytes:
        """UTF-8 of decode(ids) (what bits per byte count; a cut multi-byte character decodes as U+FFFD)."""
        return self.decode(ids).encode("utf-8", "surrogateescape")

    def __repr__(self) -> str:
        return f"HFTokenizer({self.tokenizer_id!r}, vocab_size={self.vocab_size})"


def _special_ids(folder: Path, backend) -> dict:
    """bos/eos/pad/unk ids: tokenizer_config.json's tokens, else config.json's ids (None where neither says)."""
    cfg = json.loads((folder / "tokenizer_config.json").read_text()) if (folder / "tokenizer_config.json").is_file() else {}
    model_cfg = json.loads((folder / "config.json").read_text()) if (folder / "config.json").is_file() else {}
    out = {}
    for name in ("bos", "eos", "pad", "unk"):
        token = cfg.get(f"{name}_token")
        token = token.get("content") if isinstance(token, dict) else token
        tid = backend.token_to_id(token) if token else None
        if tid is None:
            tid = model_cfg.get(f"{name}_token_id")
            tid = tid[0] if isinstance(tid, list) else tid
        out[name] = tid
    return out


def _make_id(folder: Path, source_sha: str, with_markers: bool) -> str:
    name = "".join(c if c.isalnum() or c in "._-" else "-" for c in Path(folder).resolve().name)
    return f"{PREFIX}{name}{'+markers' if with_markers else ''}-{source_sha[:12]}"


def tokenizer_id_for(folder: str | Path, markers: str = "text") -> str:
    """The id `pack --tokenizer hf:DIR --hf-markers M` gives DIR's tokenizer (for `--data.tokenizer_id`)."""
    src = Path(folder) / TOKENIZER_JSON
    if not src.is_file():
        raise TokenizerError(f"hf:{folder}: no {TOKENIZER_JSON} in that folder")
    blob = src.read_bytes()
    vocab = Backend.from_str(blob.decode()).get_vocab(with_added_tokens=True)
    added = markers == "special" and any(m not in vocab for m in grammar.SINGLE_TOKENS)
    return _make_id(Path(folder), hashlib.sha256(blob).hexdigest(), added)


def register_hf_tokenizer(lake, folder: str | Path, markers: str = "text") -> HFTokenizer:
    """Copy DIR's tokenizer into the lake's artifacts and record its `tokenizers` row; returns it loaded."""
    if markers not in MARKER_MODES:
        raise TokenizerError(f"markers {markers!r}: choose one of {', '.join(MARKER_MODES)}")
    folder = Path(folder)
    src = folder / TOKENIZER_JSON
    if not src.is_file():
        raise TokenizerError(f"--tokenizer hf:{folder}: no {TOKENIZER_JSON} in that folder")
    blob = src.read_bytes()
    source_sha = hashlib.sha256(blob).hexdigest()
    try:
        backend = Backend.from_str(blob.decode())
    except Exception as e:
        raise TokenizerError(f"--tokenizer hf:{folder}: cannot load {TOKENIZER_JSON} ({str(e).splitlines()[0]})") from None
    added = []
    if markers == "special":
        vocab = backend.get_vocab(with_added_tokens=True)
        added = [m for m in grammar.SINGLE_TOKENS if m not in vocab]
        backend.add_special_tokens([AddedToken(m, special=True, normalized=False) for m in added])
    tokenizer_id = _make_id(folder, source_sha, bool(added))
    # registered before (every pack and SFT start loads it): the same id is the same bytes, reuse them
    known = lake.query("SELECT path, sha256 FROM tokenizers WHERE tokenizer_id = ?", [tokenizer_id]).to_pylist()
    if known and (lake.root / known[0]["path"]).is_file() and \
            hashlib.sha256((lake.root / known[0]["path"]).read_bytes()).hexdigest() == known[0]["sha256"]:
        return HFTokenizer.from_file(lake.root / known[0]["path"])
    root = lake.artifacts("tokenizers")
    final = root / tokenizer_id
    tmp = root / f".{tokenizer_id}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    backend.save(str(tmp / TOKENIZER_JSON))
    out_sha = hashlib.sha256((tmp / TOKENIZER_JSON).read_bytes()).hexdigest()
    options = {"source_dir": str(folder.resolve()), "source_sha256": source_sha, "markers": markers,
               "added_markers": added, "base_vocab_size": backend.get_vocab_size(with_added_tokens=True) - len(added)}
    meta = {"tokenizer_id": tokenizer_id, "kind": KIND, "special_ids": _special_ids(folder, backend), **options}
    (tmp / META_FILE).write_text(json.dumps(meta, indent=1, sort_keys=True) + "\n")
    tok = HFTokenizer(tmp / TOKENIZER_JSON, meta)
    bpt = bytes_per_token(lake, tok, "val")
    shutil.rmtree(final, ignore_errors=True)
    tmp.rename(final)
    lake.write("tokenizers", [{
        "tokenizer_id": tokenizer_id, "kind": KIND, "path": str((final / TOKENIZER_JSON).relative_to(lake.root)),
        "vocab_size": tok.vocab_size, "options": json.dumps(options, sort_keys=True), "sample_snapshot": None,
        "sample_bytes": None, "bytes_per_token": json.dumps(bpt, sort_keys=True), "sha256": out_sha,
        "created_at": datetime.now(timezone.utc),
    }], mode="upsert", message=f"tokenizer {tokenizer_id}")
    return HFTokenizer.from_file(final / TOKENIZER_JSON)

