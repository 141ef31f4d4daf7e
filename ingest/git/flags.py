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
    return data.find(b"\0", 0, cfg.binary_sniff_bytes) >= 0


def is_lfs_pointer(data: bytes) -> bool:
    return len(data) <= LFS_POINTER_MAX and LFS_POINTER.match(data) is not None


_GENERATED_PREFIX = b"// Code generated "


def is_generated(data: bytes) -> bool:
    """GENERATED on any line. bytes.find skips to candidate lines: the regex alone over every file costs
    as much as a fifth of reading HEAD (bench/ingest_git_bench.py)."""
    i = data.find(_GENERATED_PREFIX)
    while i >= 0:
        if i == 0 or data[i - 1] == 0x0A:  # ^ under re.M: the start of a line
            end = data.find(b"\n", i)
            if GENERATED.fullmatch(data, i, len(data) if end < 0 else end):
                return True
        i = data.find(_GENERATED_PREFIX, i + 1)
    return False


def is_utf8(data: bytes) -> bool:
    return data.isascii() or decode_utf8(data) is not None  # isascii: a C scan, no str made


def decode_utf8(data: bytes) -> str | None:
    """The text, or None when the bytes are not valid UTF-8 (never a lossy replacement)."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None
