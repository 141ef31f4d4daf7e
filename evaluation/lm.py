"""The lm suite: loss, perplexity and bits per byte of held-out documents, per category.

A document longer than the model's context is scored in windows; each next window carries
`window_overlap` tokens of context so that its first tokens are not predicted from nothing.
Bits per byte divide the summed negative log-likelihood by the document's UTF-8 bytes, so models with
different tokenizers (and the compressors) are compared on the same bytes.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from tqdm import tqdm

from evaluation.errors import EvalError
from evaluation.models import Subject
from evaluation.results import MODEL, Metric

LN2 = math.log(2.0)


@dataclass
class DocScore:
    nll: float      # nats, summed over the document's tokens
    tokens: int
    bytes: int


def cut_bytes(text: str, max_bytes: int) -> str:
    """The longest prefix of text within max_bytes UTF-8 bytes, cut at a character boundary."""
    raw = text.encode("utf-8")
    return text if len(raw) <= max_bytes else raw[:max_bytes].decode("utf-8", errors="ignore")


def windows(n: int, ctx: int, overlap: int) -> list[tuple[int, int, int]]:
    """(start, end, first) per window over a sequence of n tokens: the window scores tokens first..end-1,
    seeing `overlap` tokens (or all there are) before `first`."""
    overlap = min(overlap, ctx // 4)  # never spend more than a quarter of a window on context again
    out, pos = [], 1
    while pos < n:
        start = max(0, pos - 1 - overlap) if pos > 1 else 0
        end = min(n, start + ctx)
        out.append((start, end, pos))
        pos = end
    return out


def sequence_nll(subject: Subject, seq: list[int], overlap: int) -> np.ndarray:
    """Negative log-likelihood of seq[1:] (one value per token), scored in batched context windows."""
    if subject.ctx_len < 2:
        raise EvalError(f"a context of {subject.ctx_len} tokens leaves nothing to score")
    spans = windows(len(seq), subject.ctx_len, overlap)
    lps = subject.token_logprobs([seq[s:e] for s, e, _ in spans])
    parts = [-lp[first - s - 1:] for (s, _, first), lp in zip(spans, lps)]
    return np.concatenate(parts) if parts else np.zeros(0)


def score_document(subject: Subject, text: str, overlap: int) -> DocScore:
    """The document's tokens and its closing EOS, predicted from an EOS (the end of the one before it)."""
    seq = [subject.eos_id] + subject.encode(text) + [subject.eos_id]
    nll = sequence_nll(subject, seq, overlap)
    return DocScore(float(nll.sum()), len(nll), len(text.encode("utf-8")))


def summarize(scores: dict[str, list[DocScore]], system: str = MODEL) -> list[Metric]:
    """loss, perplexity, bits_per_byte (and the counts behind them) per category and over all."""
    rows: list[Metric] = []
    groups = dict(scores)
    groups["all"] = [s for cat in scores.values() for s in cat]
    for category, docs in groups.items():
        if not docs:
            continue
        nll, tokens, nbytes = sum(d.nll for d in docs), sum(d.tokens for d in docs), sum(d.bytes for d in docs)
        n = len(docs)
        loss = nll / max(tokens, 1)
        rows += [Metric("lm", "loss", category, loss, n, system),
                 Metric("lm", "perplexity", category, math.exp(min(loss, 700.0)), n, system),
                 Metric("lm", "bits_per_byte", category, nll / LN2 / max(nbytes, 1), n, system),
                 Metric("lm", "bytes_per_token", category, nbytes / max(tokens, 1), n, system),
                 Metric("lm", "tokens", category, tokens, n, system),
                 Metric("lm", "bytes", category, nbytes, n, system)]
    return rows


def score_documents(subject: Subject, docs: dict[str, list[str]], overlap: int, desc: str) -> dict[str, list[DocScore]]:
    total = sum(len(v) for v in docs.values())
    with tqdm(total=total, desc=desc, unit=" docs", leave=False) as bar:
        out = {}
        for category, texts in docs.items():
            out[category] = []
            for text in texts:
                out[category].append(score_document(subject, text, overlap))
                bar.update(1)
    return out
