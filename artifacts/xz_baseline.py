"""Compression baselines for bits per byte: `xz -9` (LZMA2 preset 9, .xz container) via the standard library."""
from __future__ import annotations

import lzma


def xz_bits_per_byte(texts: list[str]) -> dict[str, float]:
    """{"per_document": xz -9 on each document alone, "concatenated": xz -9 on all of them in one stream}."""
    raw = [t.encode("utf-8") for t in texts]
    total = sum(len(r) for r in raw)
    if total == 0:
        return {"per_document": float("nan"), "concatenated": float("nan"), "bytes": 0}
    each = sum(len(lzma.compress(r, preset=9)) for r in raw)
    whole = len(lzma.compress(b"".join(raw), preset=9))
    return {"per_document": 8.0 * each / total, "concatenated": 8.0 * whole / total, "bytes": total}
