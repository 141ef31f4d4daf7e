"""What a run trains on, read from the lake: the tokenizer and its shards (the `shards` manifest table)."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from artifacts.errors import ShardError
from lake import LakeError


@dataclass(frozen=True)
class ShardEntry:
    shard_id: str
    stem: Path
    split: str
    category: str
    dtype: str
    tokens: int
    documents: int
    sha256: str


@dataclass
class Manifest:
    lake_root: Path
    tokenizer_id: str
    tokenizer_path: Path
    tokenizer_sha256: str | None
    vocab_size: int
    lake_snapshot: int
    shards: list[ShardEntry] = field(default_factory=list)

    def split(self, split: str) -> list[ShardEntry]:
        return [s for s in self.shards if s.split == split]

    def categories(self, split: str) -> list[str]:
        return sorted({s.category for s in self.split(split) if s.tokens > 0})


def newest_shard_set(lake, tokenizer_id: str | None = None) -> tuple[str, int]:
    """(tokenizer_id, lake_snapshot) of the newest packed shard set: of `tokenizer_id`, or by default of our own
    tokenizers (another model's, `hf:` in artifacts/hf_tokenizer.py, is only ever used by name, as
    artifacts.tokenizer.load_tokenizer does). A row without created_at is never the newest. ShardError if none."""
    where, params = ("WHERE tokenizer_id = ?", [tokenizer_id]) if tokenizer_id else ("WHERE tokenizer_id NOT LIKE 'hf:%'", [])
    pick = lake.query(f"SELECT tokenizer_id, lake_snapshot FROM shards {where} "
                      "ORDER BY created_at DESC NULLS LAST, lake_snapshot DESC LIMIT 1", params).to_pylist()
    if not pick:
        raise ShardError(f"lake {lake.root}: no shards{' for tokenizer ' + tokenizer_id if tokenizer_id else ''} "
                         f"(run `python -m transforms pack` first)")
    return pick[0]["tokenizer_id"], int(pick[0]["lake_snapshot"])


def read_manifest(lake, tokenizer_id: str | None = None, lake_snapshot: int | None = None) -> Manifest:
    """The newest packed shard set of our own tokenizers (or the one named) with its tokenizer. `lake`: an open Lake."""
    try:
        tok_id, newest = newest_shard_set(lake, tokenizer_id)
        snap = int(lake_snapshot if lake_snapshot is not None else newest)
        rows = lake.query("SELECT shard_id, path, split, category, dtype, tokens, documents, sha256 FROM shards "
                          "WHERE tokenizer_id = ? AND lake_snapshot = ? ORDER BY split, category, path",
                          [tok_id, snap]).to_pylist()
        tok = lake.query("SELECT path, vocab_size, sha256 FROM tokenizers WHERE tokenizer_id = ?", [tok_id]).to_pylist()
    except LakeError as e:
        raise ShardError(f"lake {lake.root}: {e}") from None
    if not rows:
        raise ShardError(f"lake {lake.root}: no shards for tokenizer {tok_id} at snapshot {snap}")
    if not tok:
        raise ShardError(f"lake {lake.root}: shards name tokenizer {tok_id}, which is not in the tokenizers table")
    root = Path(lake.root)
    tok_path = root / tok[0]["path"]
    if not tok_path.is_file():
        raise ShardError(f"tokenizer {tok_id}: file {tok_path} is missing")
    shards = [ShardEntry(r["shard_id"], root / r["path"], r["split"], r["category"], r["dtype"], int(r["tokens"]),
                         int(r["documents"]), r["sha256"]) for r in rows]
    return Manifest(root, tok_id, tok_path, tok[0]["sha256"], int(tok[0]["vocab_size"]), snap, shards)
