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
    # a local lake with its data in <root>/files/: the catalog stores the data path relative to the lake
    # ('files/') and every open points DuckLake at <root>/files/, so the folder can move, be copied or
    # be reached through a symlink. An explicit --data-path is kept as given (checked by DuckLake).
    relocatable: bool = False

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
    return LakeLocation(f"ducklake:sqlite:{root / 'catalog.sqlite'}", files.rstrip("/") + "/", root, "sqlite",
                        relocatable=not data_path)


def s3_settings_from_env() -> dict | None:
    """S3 credentials for an s3:// data path, from the standard AWS variables. Never stored or printed."""
    key, secret = os.environ.get("AWS_ACCESS_KEY_ID"), os.environ.get("AWS_SECRET_ACCESS_KEY")
    if not (key and secret):
        return None
    endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL") or ""
    return {
        "key_id": key, "secret": secret, "session_token": os.environ.get("AWS_SESSION_TOKEN", ""),
        "region": os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1",
        "endpoint": endpoint.split("://", 1)[-1].rstrip("/"),
        "use_ssl": not endpoint.startswith("http://"),
    }
