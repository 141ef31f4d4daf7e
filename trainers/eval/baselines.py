"""Baselines on the very bytes the lm suite scores: xz -9 and zstd -19 (each document alone, and all of a
category's documents concatenated), a unigram model of the train split's tokens, and the untrained model.

xz and zstd run through Python's lzma (preset 9 is `xz -9`) and zstandard (level 19 is `zstd -19`).
"""
from __future__ import annotations

import lzma
import math
from pathlib import Path

import numpy as np
import zstandard

from lake import Lake
from trainers.eval import data
from trainers.eval.lm import DocScore, LN2, score_documents, summarize
from trainers.eval.models import Subject
from trainers.eval.results import Metric

COMPRESSORS = {
    "xz -9": lambda b: len(lzma.compress(b, format=lzma.FORMAT_XZ, preset=9)),
    "zstd -19": lambda b: len(zstandard.ZstdCompressor(level=19).compress(b)),
}
UNIGRAM_TRAIN_BYTES = 8 << 20  # without train shards, the unigram counts tokenize this much train text


def compression(docs: dict[str, list[str]]) -> list[Metric]:
    rows = []
    groups = dict(docs)
    groups["all"] = [t for texts in docs.values() for t in texts]
    for category, texts in groups.items():
        if not texts:
            continue
        raw = [t.encode("utf-8") for t in texts]
        nbytes = sum(map(len, raw))
        for name, size in COMPRESSORS.items():
            per_doc = sum(size(b) for b in raw)
            rows.append(Metric("lm", "bits_per_byte", category, 8 * per_doc / nbytes, len(raw), f"{name} (per doc)"))
            rows.append(Metric("lm", "bits_per_byte", category, 8 * size(b"".join(raw)) / nbytes, len(raw),
                               f"{name} (concatenated)"))
    return rows


def unigram_counts(lake: Lake, subject: Subject, vocab_size: int) -> tuple[np.ndarray, str]:
    """Token counts of the train split: from the train shards of the subject's tokenizer, else by
    tokenizing up to UNIGRAM_TRAIN_BYTES of train text. Returns (counts, where they came from)."""
    counts = np.zeros(vocab_size, dtype=np.int64)
    tokenizer_id = getattr(subject, "tokenizer_id", None)
    shards = data.train_shards(lake, tokenizer_id) if tokenizer_id else []
    if shards:
        for s in shards:
            tokens = np.memmap(Path(lake.root) / f"{s['path']}.bin", dtype=np.dtype(s["dtype"]), mode="r")
            counts += np.bincount(tokens, minlength=vocab_size)[:vocab_size]
        return counts, f"{len(shards)} train shards"
    seen = 0
    for text in data.train_texts(lake):
        ids = subject.encode(text)
        counts += np.bincount(np.asarray(ids, dtype=np.int64), minlength=vocab_size)[:vocab_size]
        seen += len(text.encode("utf-8"))
        if seen >= UNIGRAM_TRAIN_BYTES:
            break
    return counts, f"{seen} bytes of train text"


def unigram(docs: dict[str, list[str]], subject: Subject, counts: np.ndarray) -> list[Metric]:
    """Bits per byte under add-one smoothed train token frequencies (the same token ids as the model scores)."""
    logp = np.log(counts + 1.0) - math.log(counts.sum() + len(counts))
    scores: dict[str, list[DocScore]] = {}
    for category, texts in docs.items():
        scores[category] = []
        for text in texts:
            ids = np.asarray(subject.encode(text), dtype=np.int64)
            scores[category].append(DocScore(float(-logp[ids].sum()), len(ids), len(text.encode("utf-8"))))
    return [m for m in summarize(scores, "unigram") if m.metric in ("bits_per_byte", "loss")]


def untrained(docs: dict[str, list[str]], subject: Subject, overlap: int) -> list[Metric]:
    scores = score_documents(subject.untrained(), docs, overlap, "lm: untrained model")
    return [m for m in summarize(scores, "untrained") if m.metric in ("bits_per_byte", "loss", "perplexity")]


__all__ = ["compression", "unigram", "unigram_counts", "untrained", "LN2"]
