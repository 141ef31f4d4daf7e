"""On-disk format of a token shard: the contract between the packer and the trainers.

A shard is three files sharing a stem, e.g. artifacts/shards/<tokenizer>/<snapshot>/train/CODE/00000:
- `00000.bin`: the tokens, flat little-endian uint16 (vocabulary <= 65,536) or uint32, no header, exactly
  nanoGPT's `train.bin`; every document is followed by one EOS token.
- `00000.idx.npy`: int64 array of length documents + 1: document i occupies tokens [idx[i], idx[i+1]) of
  the .bin, its trailing EOS included (the offsets of Megatron's .idx, in a plain .npy).
- `00000.docs.parquet`: one row per document, in order: `sample_id`, so a token resolves to its sample and,
  through `samples`, to repository, licence, commit and path.
The `shards` table records path (the stem, relative to the lake root), dtype, tokens, documents and the
sha256 of each of the three files (`sha256` the .bin, `idx_sha256`, `docs_sha256`); `verify` checks them.

Reading one without this module: `np.memmap(stem + ".bin", dtype=row.dtype, mode="r")` is a nanoGPT-style
token stream (sample random windows of seq_len + 1 tokens from it); `np.load(stem + ".idx.npy")` gives the
document boundaries a Megatron-style indexed dataset keeps in its .idx.

Writing: `ShardWriter` writes the three files under temporary names (`<stem>.bin.tmp`, ...) and renames them
into place only when the shard is complete (the .bin last), so a shard whose files exist under their final
names is whole; a killed writer leaves only `.tmp` files, which the next writer of that stem replaces.
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from artifacts.errors import ShardError


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
        path = self.stem.with_suffix(".docs.parquet")
        try:
            return pq.read_table(path, columns=["sample_id"]).column(0).to_pylist()
        except (OSError, pa.ArrowException) as e:
            raise ShardError(f"shard {self.stem}: cannot read {path.name} ({str(e).splitlines()[0]})") from None


def verify(stem: Path, sha256: str, tokens: int | None = None, dtype: str | np.dtype | None = None, *,
           idx_sha256: str | None = None, docs_sha256: str | None = None) -> None:
    """Raise ShardError naming the shard and the file if one is missing, truncated or altered.

    With `tokens` and `dtype` (the manifest row's), a truncated .bin is named as such before hashing it. The
    .idx.npy and .docs.parquet are checked when their checksums are given (rows packed before they were kept
    have none)."""
    path = Path(stem).with_suffix(".bin")
    if not path.exists():
        raise ShardError(f"shard {stem}: {path.name} is missing")
    if tokens is not None and dtype is not None:
        size, want = path.stat().st_size, int(tokens) * np.dtype(dtype).itemsize
        if size != want:
            raise ShardError(f"shard {stem}: {path.name} has {size} bytes, the manifest says {want}: truncated or altered")
    for suffix, expected in ((".bin", sha256), (".idx.npy", idx_sha256), (".docs.parquet", docs_sha256)):
        if expected is None:
            continue
        path = Path(stem).with_suffix(suffix)
        if not path.exists():
            raise ShardError(f"shard {stem}: {path.name} is missing")
        digest = sha256_file(path)
        if digest != expected:
            raise ShardError(f"shard {stem}: {path.name} checksum mismatch (expected {expected[:12]}, "
                             f"got {digest[:12]}): corrupted or truncated")


def verify_row(stem: Path, row: dict) -> None:
    """`verify` against a `shards` row, every checksum it has."""
    verify(stem, row["sha256"], row["tokens"], row["dtype"], idx_sha256=row.get("idx_sha256"),
           docs_sha256=row.get("docs_sha256"))


def write_docs(stem: Path, sample_ids: list[str]) -> None:
    pq.write_table(pa.table({"sample_id": pa.array(sample_ids, pa.string())}), Path(stem).with_suffix(".docs.parquet"))


SUFFIXES = (".idx.npy", ".docs.parquet", ".bin")  # the order ShardWriter renames them in: the .bin last


def shard_files(stem: Path) -> list[Path]:
    return [Path(stem).with_suffix(s) for s in SUFFIXES]


class ShardWriter:
    """Write one shard: append encoded documents in order, then `close()` to checksum and rename into place.

    `add(tokens, lengths, sample_ids)`: `tokens` holds the documents back to back, each already followed by
    its EOS; `lengths[i]` counts document i's tokens, EOS included.
    """

    def __init__(self, stem: Path, dtype):
        self.stem = Path(stem)
        self.dtype = np.dtype(dtype)
        self.stem.parent.mkdir(parents=True, exist_ok=True)
        for final in shard_files(self.stem):  # a stale or half-written shard of this stem goes first
            final.unlink(missing_ok=True)
            _tmp(final).unlink(missing_ok=True)
        self._bin = open(_tmp(self.stem.with_suffix(".bin")), "wb")
        self._sha = hashlib.sha256()
        self._ends: list[np.ndarray] = []
        self._sample_ids: list[str] = []
        self.tokens = 0

    def add(self, tokens: np.ndarray, lengths: np.ndarray, sample_ids: list[str]) -> None:
        if len(lengths) != len(sample_ids) or int(np.sum(lengths)) != len(tokens):
            raise ShardError(f"shard {self.stem}: {len(sample_ids)} documents, {len(lengths)} lengths, "
                             f"{len(tokens)} tokens do not agree")
        data = np.ascontiguousarray(tokens, dtype=self.dtype.newbyteorder("<")).tobytes()
        self._bin.write(data)
        self._sha.update(data)
        self._ends.append(self.tokens + np.cumsum(lengths, dtype=np.int64))
        self._sample_ids += sample_ids
        self.tokens += len(tokens)

    @property
    def documents(self) -> int:
        return len(self._sample_ids)

    def close(self) -> str:
        """Finish the shard; returns the sha256 of its .bin (`checksums` then holds all three)."""
        self._bin.close()
        offsets = np.concatenate([np.zeros(1, np.int64), *self._ends])
        with open(_tmp(self.stem.with_suffix(".idx.npy")), "wb") as f:
            np.save(f, offsets)
        pq.write_table(pa.table({"sample_id": pa.array(self._sample_ids, pa.string())}),
                       _tmp(self.stem.with_suffix(".docs.parquet")))
        self.checksums = {"sha256": self._sha.hexdigest(),
                          "idx_sha256": sha256_file(_tmp(self.stem.with_suffix(".idx.npy"))),
                          "docs_sha256": sha256_file(_tmp(self.stem.with_suffix(".docs.parquet")))}
        for final in shard_files(self.stem):
            os.replace(_tmp(final), final)
        return self._sha.hexdigest()

    def abort(self) -> None:
        self._bin.close()
        for final in shard_files(self.stem):
            _tmp(final).unlink(missing_ok=True)


def _tmp(path: Path) -> Path:
    return path.with_name(path.name + ".tmp")
