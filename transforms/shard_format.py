"""On-disk format of a token shard: the contract between the packer and the trainers.

A shard is three files sharing a stem, e.g. artifacts/shards/<tokenizer>/<snapshot>/train/CODE/00000:
- `00000.bin`: the tokens, flat little-endian uint16 (vocabulary <= 65,536) or uint32, no header, exactly
  nanoGPT's `train.bin`; every document is followed by one EOS token.
- `00000.idx.npy`: int64 array of length documents + 1: document i occupies tokens [idx[i], idx[i+1]) of
  the .bin, its trailing EOS included (the offsets of Megatron's .idx, in a plain .npy).
- `00000.docs.parquet`: one row per document, in order: `sample_id`, so a token resolves to its sample and,
  through `samples`, to repository, licence, commit and path.
The `shards` table records path (the stem, relative to the lake root), dtype, tokens, documents and the
sha256 of the .bin; `verify` checks it.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq


class ShardError(Exception):
    pass


def dtype_for(vocab_size: int) -> np.dtype:
    return np.dtype(np.uint16) if vocab_size <= 2**16 else np.dtype(np.uint32)


def sha256_file(path: Path, chunk: int = 1 << 22) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


@dataclass
class ShardReader:
    """Memory-mapped view of one shard; never reads the whole .bin."""

    stem: Path
    dtype: np.dtype

    def __post_init__(self):
        self.stem = Path(self.stem)
        self.dtype = np.dtype(self.dtype)
        try:
            self.tokens = np.memmap(self.stem.with_suffix(".bin"), dtype=self.dtype, mode="r")
            self.offsets = np.load(self.stem.with_suffix(".idx.npy"), mmap_mode="r")
        except (OSError, ValueError) as e:
            raise ShardError(f"shard {self.stem}: cannot open ({e})") from None
        if len(self.offsets) == 0 or int(self.offsets[-1]) != len(self.tokens):
            raise ShardError(f"shard {self.stem}: index says {int(self.offsets[-1]) if len(self.offsets) else 0} "
                             f"tokens, .bin has {len(self.tokens)} (truncated?)")

    def __len__(self) -> int:
        return len(self.tokens)

    @property
    def documents(self) -> int:
        return len(self.offsets) - 1

    def document_of(self, token_index: int) -> int:
        """Index of the document that token `token_index` belongs to."""
        return int(np.searchsorted(self.offsets, token_index, side="right") - 1)

    def sample_ids(self) -> list[str]:
        return pq.read_table(self.stem.with_suffix(".docs.parquet"), columns=["sample_id"]).column(0).to_pylist()


def verify(stem: Path, sha256: str, tokens: int | None = None) -> None:
    """Raise ShardError naming the shard if its .bin is missing, truncated or altered."""
    path = Path(stem).with_suffix(".bin")
    if not path.exists():
        raise ShardError(f"shard {stem}: {path.name} is missing")
    digest = sha256_file(path)
    if digest != sha256:
        raise ShardError(f"shard {stem}: checksum mismatch (expected {sha256[:12]}, got {digest[:12]}): corrupted or truncated")


def write_docs(stem: Path, sample_ids: list[str]) -> None:
    pq.write_table(pa.table({"sample_id": pa.array(sample_ids, pa.string())}), Path(stem).with_suffix(".docs.parquet"))
