"""Where a lake lives: a local folder (SQLite catalog + Parquet) or a PostgreSQL catalog with a data path."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from lake.errors import LakeError

DEFAULT_LAKE = "data"


@dataclass(frozen=True)
class LakeLocation:
    catalog: str  # the DuckLake ATTACH string, e.g. ducklake:sqlite:data/catalog.sqlite
    data_path: str  # where Parquet files go (a folder or s3://...)
    root: Path  # local folder for artifacts (tokenizers, shards, checkpoints, caches)
    backend: str  # sqlite | postgres

    def describe(self) -> str:
        """Safe to print: a PostgreSQL password is never shown."""
        if self.backend == "postgres":
            parts = [p for p in self.catalog.split() if not p.lower().startswith("password=")]
            return " ".join(parts)
        return self.catalog


def resolve(lake: str | os.PathLike | None = None, data_path: str | None = None) -> LakeLocation:
    """--lake / REPO_LLM_LAKE / ./data -> a LakeLocation. Read the environment only here, at the edge."""
    spec = str(lake) if lake is not None else os.environ.get("REPO_LLM_LAKE", DEFAULT_LAKE)
    data_path = data_path or os.environ.get("REPO_LLM_DATA_PATH")
    if spec.startswith("postgres:"):
        if not data_path:
            raise LakeError("a postgres: lake needs --data-path DIR|s3://... (or REPO_LLM_DATA_PATH)")
        root = Path(data_path) if "://" not in data_path else Path(os.environ.get("REPO_LLM_ARTIFACTS", "data"))
        return LakeLocation(f"ducklake:{spec}", data_path.rstrip("/") + "/", root, "postgres")
    if spec.startswith("ducklake:"):
        raise LakeError(f"--lake takes a folder or postgres:..., not {spec!r}")
    root = Path(spec).expanduser().absolute()
    files = data_path or str(root / "files")
    return LakeLocation(f"ducklake:sqlite:{root / 'catalog.sqlite'}", files.rstrip("/") + "/", root, "sqlite")
