"""Loading a trained tokenizer: our SentencePiece model (lossless encode/decode), or another model's Hugging Face
tokenizer registered in the lake (artifacts/hf_tokenizer.py). Training one is transforms/tokenizer.py's job.

    from artifacts.tokenizer import load_tokenizer, Tokenizer
    tok = load_tokenizer(lake)                  # the latest `tokenizers` row; or load_tokenizer(lake, "spm-bpe-8000-...")
    tok = Tokenizer.from_file("x/tokenizer.model")   # no lake needed (exporters embed the .model file)
    ids = tok.encode(text)                       # list[int]; no BOS/EOS added
    assert tok.decode(ids) == text               # byte for byte, for every str (see "Lossless" below)
    tok.vocab_size, tok.bos_id, tok.eos_id, tok.pad_id, tok.unk_id
    tok.marker_ids["<DIFF>"]                     # each region marker of artifacts/grammar.py is one id
    tok.fim_ids["<FIM_MIDDLE>"]                  # so is each fill-in-the-middle sentinel ({} on older tokenizers)
    tok.model_path, tok.tokenizer_id, tok.meta   # the .model file, its id, the metadata stored beside it

Lossless: SentencePiece is configured not to normalise (identity rule, no dummy prefix, no whitespace
collapsing, pieces may span whitespace and lines) and to fall back to bytes. Two inputs it still cannot give
back are handled here, by encoding them as byte pieces: a literal U+2581 (SentencePiece's own space symbol,
which its decoder turns into a space), and bytes that are not UTF-8 (a str holding them as surrogateescape
code points U+DC80..U+DCFF, or `encode_bytes`). `decode` maps ids to bytes through a table of the pieces
because SentencePiece's decoder turns byte pieces that are not valid UTF-8 into U+FFFD.
"""
from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable
from pathlib import Path

import sentencepiece as spm

from artifacts import grammar
from artifacts.errors import TokenizerError
from artifacts.hf_tokenizer import HFTokenizer, register_hf_tokenizer

SPACE = "\u2581"  # SentencePiece's visible space
MODEL_FILE, META_FILE = "tokenizer.model", "meta.json"

# Text SentencePiece would not give back as it came: its space symbol, and surrogateescaped raw bytes.
_NEEDS_BYTES = re.compile("[\u2581\ud800-\udfff]")


def marker_piece(marker: str) -> str:
    """The piece of a region marker: SentencePiece matches user symbols after it has turned spaces into U+2581."""
    return marker.replace(" ", SPACE)


class Tokenizer:
    """A trained SentencePiece model with lossless encode/decode and the ids the trainers need."""

    def __init__(self, model_path: str | os.PathLike, meta: dict | None = None):
        self.model_path = Path(model_path)
        try:
            self.sp = spm.SentencePieceProcessor(model_file=str(self.model_path))
        except (OSError, RuntimeError) as e:
            raise TokenizerError(f"tokenizer {self.model_path}: cannot load ({str(e).splitlines()[0]})") from None
        self.meta = meta or {}
        self.tokenizer_id = self.meta.get("tokenizer_id") or self.model_path.parent.name
        self.vocab_size = self.sp.vocab_size()
        self.bos_id, self.eos_id = self.sp.bos_id(), self.sp.eos_id()
        self.pad_id, self.unk_id = self.sp.pad_id(), self.sp.unk_id()
        self.marker_ids = {m: self.sp.piece_to_id(marker_piece(m)) for m in grammar.MARKERS}
        missing = [m for m, i in self.marker_ids.items() if i == self.unk_id]
        if missing:
            raise TokenizerError(f"tokenizer {self.model_path}: no single token for marker(s) {', '.join(missing)}")
        # empty for a tokenizer trained before the FIM sentinels existed: it packs and trains, without FIM
        fim = {m: self.sp.piece_to_id(marker_piece(m)) for m in grammar.FIM_MARKERS}
        self.fim_ids = fim if self.unk_id not in fim.values() else {}
        self._byte_ids = [self.sp.piece_to_id(f"<0x{b:02X}>") for b in range(256)]
        self._piece_bytes: list[bytes] | None = None

    @classmethod
    def from_file(cls, model_path: str | os.PathLike) -> "Tokenizer":
        """Load a .model file; its meta.json beside it, when there, gives the id and training metadata.

        A tokenizer.json (a Hugging Face tokenizer registered by artifacts/hf_tokenizer.py) loads as an
        HFTokenizer, which has the same interface."""
        if Path(model_path).suffix == ".json":
            return HFTokenizer.from_file(model_path)  # type: ignore[return-value]
        meta_path = Path(model_path).with_name(META_FILE)
        meta = json.loads(meta_path.read_text()) if meta_path.exists() else None
        return cls(model_path, meta)

    # -- encoding -----------------------------------------------------------------------------
    def encode(self, text: str) -> list[int]:
        """Token ids of text, no BOS/EOS. decode(encode(text)) == text for every str."""
        if not _NEEDS_BYTES.search(text):
            return self.sp.encode(text)
        ids: list[int] = []
        pos = 0
        for m in _NEEDS_BYTES.finditer(text):
            if m.start() > pos:
                ids += self.sp.encode(text[pos:m.start()])
            ids += [self._byte_ids[b] for b in _raw_bytes(m.group())]
            pos = m.end()
        if pos < len(text):
            ids += self.sp.encode(text[pos:])
        return ids

    def encode_batch(self, texts: list[str], num_threads: int = 1) -> list[list[int]]:
        """encode() of each text; the plain ones go to SentencePiece in one batch call."""
        plain = [i for i, t in enumerate(texts) if not _NEEDS_BYTES.search(t)]
        out: list[list[int] | None] = [None] * len(texts)
        if len(plain) == len(texts):
            return self.sp.encode(texts, num_threads=num_threads)
        for i, ids in zip(plain, self.sp.encode([texts[i] for i in plain], num_threads=num_threads)):
            out[i] = ids
        for i, t in enumerate(texts):
            if out[i] is None:
                out[i] = self.encode(t)
        return out  # type: ignore[return-value]

    def encode_bytes(self, data: bytes) -> list[int]:
        """Token ids of arbitrary bytes (invalid UTF-8 becomes byte pieces); decode_bytes gives them back."""
        return self.encode(data.decode("utf-8", "surrogateescape"))

    # -- decoding -----------------------------------------------------------------------------
    def decode_bytes(self, ids: Iterable[int]) -> bytes:
        table = self._piece_bytes or self._build_piece_bytes()
        try:
            return b"".join(table[i] for i in ids)
        except IndexError:
            bad = next(i for i in ids if not 0 <= i < len(table))
            raise TokenizerError(f"tokenizer {self.tokenizer_id}: id {bad} outside the vocabulary of {len(table)}") from None

    def decode(self, ids: Iterable[int]) -> str:
        """The text of ids; bytes that are not UTF-8 come back as surrogateescape code points, as encode takes them."""
        return self.decode_bytes(ids).decode("utf-8", "surrogateescape")

    def _build_piece_bytes(self) -> list[bytes]:
        sp, table = self.sp, []
        for i in range(self.vocab_size):
            piece = sp.id_to_piece(i)
            if sp.is_byte(i):
                table.append(bytes([int(piece[3:5], 16)]))
            elif sp.is_control(i):
                table.append(b"")  # <s>, </s>, <pad> carry no text
            elif sp.is_unknown(i):
                table.append("\ufffd".encode())  # never produced: byte fallback covers every input
            else:
                table.append(piece.replace(SPACE, " ").encode())
        self._piece_bytes = table
        return table

    def __repr__(self) -> str:
        return f"Tokenizer({self.tokenizer_id!r}, vocab_size={self.vocab_size})"


def _raw_bytes(ch: str) -> bytes:
    if ch == SPACE:
        return SPACE.encode()
    code = ord(ch)
    if 0xDC80 <= code <= 0xDCFF:  # a byte that was not UTF-8, as surrogateescape carries it
        return bytes([code - 0xDC00])
    raise TokenizerError(f"text holds a lone surrogate U+{code:04X} that is not an escaped byte")


# -- loading from the lake ------------------------------------------------------------------------
def load_tokenizer(lake, tokenizer_id: str | None = None, hf_markers: str = "text") -> Tokenizer:
    """The tokenizer named by a `tokenizers` row (None: the most recently trained SentencePiece one).

    `hf:DIR` with DIR a folder holding a tokenizer.json registers that Hugging Face tokenizer first (see
    artifacts/hf_tokenizer.py; `hf_markers`: region markers as plain text or added special tokens)."""
    if tokenizer_id and tokenizer_id.startswith("hf:") and Path(tokenizer_id[3:]).is_dir():
        return register_hf_tokenizer(lake, tokenizer_id[3:], hf_markers)  # type: ignore[return-value]
    if tokenizer_id is None:
        # our own trained ones: a registered Hugging Face tokenizer is only ever used by name
        rows = lake.query("SELECT tokenizer_id, path FROM tokenizers WHERE kind IS DISTINCT FROM 'hf' "
                          "ORDER BY created_at DESC, tokenizer_id LIMIT 1")
    else:
        rows = lake.query("SELECT tokenizer_id, path FROM tokenizers WHERE tokenizer_id = ?", [tokenizer_id])
    if rows.num_rows == 0:
        if tokenizer_id is None:
            raise TokenizerError("no tokenizer in the lake (run `python -m transforms tokenizer --vocab-size N`)")
        raise TokenizerError(f"no tokenizer {tokenizer_id!r} in the lake")
    path = Path(lake.root) / rows.column("path")[0].as_py()
    if not path.exists():
        raise TokenizerError(f"tokenizer {rows.column('tokenizer_id')[0].as_py()}: model file {path} is missing")
    return Tokenizer.from_file(path)
