"""What the lake holds for an evaluation: held-out documents, pairs and Go files, and the train split to check
them against. Everything is read in a stable, seeded order, in Arrow batches."""
from __future__ import annotations

from typing import Iterator

from lake import Lake, LakeError
from artifacts.held_out import held_out_go_files, held_out_prompt, test_repositories  # noqa: F401 (callers)
from artifacts.grammar import CATEGORIES, PAIR_KINDS  # noqa: F401  (read as data.CATEGORIES by the runner)
from evaluation.errors import EvalError


def _query(lake: Lake, sql: str, params: list) -> list[dict]:
    try:
        return lake.query(sql, params).to_pylist()
    except LakeError as e:
        raise EvalError(f"reading the lake failed: {e}") from None


def test_documents(lake: Lake, category: str, limit: int, seed: int) -> list[dict]:
    """Up to `limit` test-split samples of one category (held-out repositories), in a seeded stable order."""
    return _query(lake, """
        SELECT sample_id, category, text, repo_id, path FROM samples
        WHERE split = 'test' AND category = ? ORDER BY md5(sample_id || ?::VARCHAR), sample_id LIMIT ?""",
                  [category, seed, limit])


def test_pairs(lake: Lake, kind: str, limit: int, seed: int) -> list[dict]:
    return _query(lake, """
        SELECT pair_id, kind, prompt, response, repo_id FROM sft_pairs
        WHERE split = 'test' AND kind = ? ORDER BY md5(pair_id || ?::VARCHAR), pair_id LIMIT ?""",
                  [kind, seed, limit])


def repository_files(lake: Lake, repo_id: str, paths: list[str]) -> dict[str, str]:
    """Contents of the given paths of one repository (those that exist and are text)."""
    if not paths:
        return {}
    marks = ", ".join("?" for _ in paths)
    rows = _query(lake, f"SELECT path, content FROM files WHERE repo_id = ? AND path IN ({marks}) "
                        f"AND content IS NOT NULL", [repo_id, *paths])
    return {r["path"]: r["content"] for r in rows}


def directory_go_files(lake: Lake, repo_id: str, directory: str) -> dict[str, str]:
    """All Go files directly in one directory of a repository ('' is the root), tests included."""
    prefix = f"{directory}/" if directory else ""
    rows = _query(lake, """
        SELECT path, content FROM files WHERE repo_id = ? AND content IS NOT NULL AND path LIKE '%.go'
          AND starts_with(path, ?) AND NOT contains(substr(path, length(?) + 1), '/') ORDER BY path""",
                  [repo_id, prefix, prefix])
    return {r["path"]: r["content"] for r in rows}


def train_texts(lake: Lake, batch_rows: int = 2_000) -> Iterator[str]:
    """Every text of the train split: samples, then SFT prompts and responses."""
    try:
        for batch in lake.stream("SELECT text FROM samples WHERE split = 'train' AND text IS NOT NULL", [],
                                 batch_rows):
            yield from batch.column(0).to_pylist()
        for batch in lake.stream("SELECT prompt || '\n' || response FROM sft_pairs WHERE split = 'train' "
                                 "AND prompt IS NOT NULL AND response IS NOT NULL", [], batch_rows):
            yield from batch.column(0).to_pylist()
    except LakeError as e:
        raise EvalError(f"reading the train split failed: {e}") from None


def train_shards(lake: Lake, tokenizer_id: str) -> list[dict]:
    return _query(lake, "SELECT path, dtype, tokens FROM shards WHERE split = 'train' AND tokenizer_id = ? "
                        "ORDER BY shard_id", [tokenizer_id])


def repository_name(lake: Lake, repo_id: str) -> str:
    rows = _query(lake, "SELECT name FROM repos WHERE repo_id = ?", [repo_id])
    return rows[0]["name"] if rows and rows[0]["name"] else repo_id.split("@")[0]
