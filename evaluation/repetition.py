"""How much of a generated text repeats itself: a degenerate model (one line over and over) shows up as a number.

Two shares, both 0 for text that never repeats and close to 1 for a loop:
- `repeated_lines`: of the lines with a letter or digit (a lone `}` or `)` is Go's grammar, not a loop), the
  share that equal an earlier such line of the same text (leading and trailing whitespace ignored);
- `repeated_ngrams`: seq-rep-n of Welleck et al. 2019 ("Neural text generation with unlikelihood training"),
  1 - distinct n-grams / n-grams, over word and punctuation tokens (n = 4 by default).
"""
from __future__ import annotations

import re

TOKEN = re.compile(r"\w+|[^\w\s]")
CONTENT = re.compile(r"\w")


def repeated_lines(text: str) -> float:
    lines = [line.strip() for line in text.splitlines()]
    lines = [line for line in lines if CONTENT.search(line)]
    if not lines:
        return 0.0
    return (len(lines) - len(set(lines))) / len(lines)


def repeated_ngrams(text: str, n: int = 4) -> float:
    tokens = TOKEN.findall(text)
    grams = [tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1)]
    if not grams:
        return 0.0
    return 1.0 - len(set(grams)) / len(grams)


def repetition(text: str, n: int = 4) -> dict[str, float]:
    return {"repeated_lines": repeated_lines(text), "repeated_ngrams": repeated_ngrams(text, n)}
