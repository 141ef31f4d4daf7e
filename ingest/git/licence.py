"""Licence detection: match licence files against the SPDX licence texts shipped by `licensedcode-data`
(the ScanCode licence database, nexB/aboutcode), keeping the evidence file and the score.

The score is the Sørensen-Dice coefficient of word-bigram sets after dropping copyright lines, so an
Apache-2.0 without its appendix (~0.96), an MIT with one extra line (~0.95) and BSD-2 versus BSD-3 (the
third clause is ~15% of the words) all land on the right licence. Below MIN_SCORE: NOASSERTION.
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

NOASSERTION = "NOASSERTION"
MIN_SCORE = 0.80
_COPYRIGHT = re.compile(r"^\W*(copyright\b|\(c\)|©|all rights reserved).*$", re.I | re.M)
_WORD = re.compile(r"[a-z0-9]+")
_SPELLING = {"licence": "license", "licences": "licenses", "licenced": "licensed", "organisation": "organization"}


@dataclass(frozen=True)
class Licence:
    spdx: str
    evidence: str | None
    score: float | None


def _shingles(text: str) -> frozenset:
    words = [_SPELLING.get(w, w) for w in _WORD.findall(_COPYRIGHT.sub(" ", text).lower())]
    return frozenset(zip(words, words[1:]))


def _frontmatter(text: str) -> tuple[dict, str]:
    if not text.startswith("---"):
        return {}, text
    head, _, body = text[3:].partition("\n---")
    meta = {}
    for line in head.splitlines():
        key, sep, value = line.partition(":")
        if sep and not line.startswith((" ", "-")):
            meta[key.strip()] = value.strip()
    return meta, body


@lru_cache(maxsize=1)
def spdx_texts() -> dict[str, frozenset]:
    """SPDX id -> word bigrams of its licence text, for every non-deprecated licence with an SPDX-list id
    (LicenseRef-scancode-* entries and exceptions are not SPDX licences and are left out)."""
    folder = resources.files("licensedcode") / "data" / "licenses"
    out: dict[str, frozenset] = {}
    for f in sorted(folder.iterdir(), key=lambda p: p.name):
        if not f.name.endswith(".LICENSE"):
            continue
        meta, body = _frontmatter(f.read_text(encoding="utf-8", errors="replace"))
        spdx = meta.get("spdx_license_key", "")
        if (not spdx or spdx.startswith("LicenseRef-") or meta.get("is_deprecated") == "yes"
                or meta.get("is_exception") == "yes" or not body.strip()):
            continue
        out.setdefault(spdx, _shingles(body))
    return out


@lru_cache(maxsize=1)
def spdx_ids() -> frozenset:
    return frozenset(spdx_texts())


def match_text(text: str) -> tuple[str, float]:
    """The best SPDX id for a licence text and its score; NOASSERTION below MIN_SCORE."""
    grams = _shingles(text)
    if not grams:
        return NOASSERTION, 0.0
    best, best_score = NOASSERTION, 0.0
    for spdx, ref in spdx_texts().items():
        if min(len(ref), len(grams)) * 2 < best_score * (len(ref) + len(grams)):
            continue  # cannot beat the best even if one contained the other
        score = 2 * len(grams & ref) / (len(grams) + len(ref))
        if score > best_score:
            best, best_score = spdx, score
    if best_score < MIN_SCORE:
        return NOASSERTION, round(best_score, 4)
    return best, round(best_score, 4)


def detect(licence_texts: dict[str, str], spdx_headers: Counter) -> Licence:
    """From root licence files (best score wins), else the most common SPDX-License-Identifier header."""
    best: Licence | None = None
    for path in sorted(licence_texts):
        spdx, score = match_text(licence_texts[path])
        if spdx != NOASSERTION and (best is None or score > best.score):
            best = Licence(spdx, path, score)
    if best is not None:
        return best
    valid = [(n, ident) for ident, n in spdx_headers.items() if _valid_expression(ident)]
    if valid:
        n, ident = max(valid, key=lambda x: (x[0], x[1]))
        return Licence(ident, f"SPDX-License-Identifier ({n} files)", 1.0)
    if licence_texts:
        path = sorted(licence_texts)[0]
        return Licence(NOASSERTION, path, match_text(licence_texts[path])[1])
    return Licence(NOASSERTION, None, None)


def _valid_expression(expr: str) -> bool:
    ids = [t for t in re.split(r"\s+|[()]", expr) if t and t not in ("AND", "OR", "WITH")]
    return bool(ids) and all(t.rstrip("+") in spdx_ids() or "exception" in t.lower() for t in ids)
