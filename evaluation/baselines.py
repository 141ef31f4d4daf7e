"""Baselines on the very bytes the lm suite scores: xz -9 and zstd -19 (each document alone, and all of a
category's documents concatenated), a unigram model of the train split's tokens, and the untrained model.

xz runs through the trainer's own baseline (Python's lzma, preset 9 is `xz -9`), zstd through zstandard
(level 19 is `zstd -19`).
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import zstandard

from lake import Lake
from artifacts.xz_baseline import xz_bits_per_byte
from evaluation import data
from evaluation.lm import DocScore, score_documents, summarize
from evaluation.models import Subject
from evaluation.results import Metric

ZSTD_LEVEL = 19
UNIGRAM_TRAIN_BYTES = 8 << 20  # without train shards, the unigram counts tokenize this much train text


def zstd_bits_per_byte(texts: list[str]) -> dict[str, float]:
    """The zstd -19 twin of artifacts.xz_baseline.xz_bits_per_byte (same keys)."""
    raw = [t.encode("utf-8") for t in texts]
    total = sum(map(len, raw))
    z = zstandard.ZstdCompressor(level=ZSTD_LEVEL)
    return {"per_document": 8.0 * sum(len(z.compress(r)) for r in raw) / total,
            "concatenated": 8.0 * len(z.compress(b"".join(raw))) / total, "bytes": total}


def compression(docs: dict[str, list[str]]) -> list[Metric]:
    rows = []
    groups = dict(docs)
    groups["all"] = [t for texts in docs.values() for t in texts]
    for category, texts in groups.items():
        if not texts or not any(texts):
            continue
        for name, fn in (("xz -9", xz_bits_per_byte), (f"zstd -{ZSTD_LEVEL}", zstd_bits_per_byte)):
            result = fn(texts)
            rows.append(Metric("lm", "bits_per_byte", category, result["per_document"], len(texts), f"{name} (per doc)"))
            rows.append(Metric("lm", "bits_per_byte", category, result["concatenated"], len(texts),
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
            ids = np.asarray(subject.encode(text) + [subject.eos_id], dtype=np.int64)  # as the lm suite scores
            scores[category].append(DocScore(float(-logp[ids].sum()), len(ids), len(text.encode("utf-8"))))
    return [m for m in summarize(scores, "unigram") if m.metric in ("bits_per_byte", "loss")]


def untrained(docs: dict[str, list[str]], subject: Subject, overlap: int) -> list[Metric]:
    scores = score_documents(subject.untrained(), docs, overlap, "lm: untrained model")
    return [m for m in summarize(scores, "untrained") if m.metric in ("bits_per_byte", "loss", "perplexity")]

