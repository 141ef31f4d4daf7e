"""What a blob is: language, vendored, generated, LFS pointer, binary, UTF-8. Pure functions of path and bytes."""
from __future__ import annotations

import posixpath

from ingest.git.config import GENERATED, LANGUAGE_NAMES, LFS_POINTER, LFS_POINTER_MAX, IngestConfig


def language(path: str, cfg: IngestConfig) -> str | None:
    base = posixpath.basename(path)
    if base in LANGUAGE_NAMES:
        return LANGUAGE_NAMES[base]
    ext = posixpath.splitext(base)[1]
    return cfg.languages.get(ext) or cfg.languages.get(ext.lower())


def is_vendored(path: str, cfg: IngestConfig) -> bool:
    return any(part in cfg.vendored_dirs for part in path.split("/")[:-1])


def is_binary(data: bytes, cfg: IngestConfig) -> bool:
    return b"\0" in data[: cfg.binary_sniff_bytes]


def is_lfs_pointer(data: bytes) -> bool:
    return len(data) <= LFS_POINTER_MAX and LFS_POINTER.match(data) is not None


def is_generated(data: bytes) -> bool:
    return GENERATED.search(data) is not None


def decode_utf8(data: bytes) -> str | None:
    """The text, or None when the bytes are not valid UTF-8 (never a lossy replacement)."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None
