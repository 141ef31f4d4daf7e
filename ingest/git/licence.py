"""Licence detection: match licence files against the SPDX licence texts shipped by `licensedcode-data`
(the ScanCode licence database, nexB/aboutcode: SPDX licence texts and their full-text variants), keeping the evidence file and the score.

The score is the Sørensen-Dice coefficient of word-bigram sets after dropping copyright lines, so an
Apache-2.0 without its appendix (~0.96), an MIT with one extra line (~0.95) and BSD-2 versus BSD-3 (the
third clause is ~15% of the words) all land on the right licence. Below MIN_SCORE: NOASSERTION.
"""
from __future__ import annotations

import os
import pickle
import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from importlib.metadata import version
from pathlib import Path

NOASSERTION = "NOASSERTION"
_INDEX_FORMAT = 1  # bump when _build or _shingles change
MIN_SCORE = 0.80
CONTAINED = 0.95  # share of a licence's bigrams a file must hold to be scored on its leading part
_COPYRIGHT = re.compile(r"^\W*(copyright\b|\(c\)|©|all rights reserved).*$", re.I | re.M)
_WORD = re.compile(r"[a-z0-9]+")
_SPELLING = {"licence": "license", "licences": "licenses", "licenced": "licensed", "organisation": "organization"}


@dataclass(frozen=True)
class Licence:
    spdx: str
    evidence: str | None
    score: float | None


def _words(text: str) -> list[str]:
    return [_SPELLING.get(w, w) for w in _WORD.findall(_COPYRIGHT.sub(" ", text).lower())]


def _words_to_shingles(words: list[str], vocab: dict[str, int], grow: bool = False) -> frozenset:
    """Word bigrams as ints (word ids from the index's vocabulary; a word it lacks matches nothing)."""
    ids = []
    unknown = -1
    for w in words:
        i = vocab.get(w)
        if i is None:
            if grow:
                i = vocab[w] = len(vocab)
            else:
                i, unknown = unknown, unknown - 1
        ids.append(i)
    return frozenset((a << 24) ^ (b & 0xFFFFFF) for a, b in zip(ids, ids[1:]))


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


def _licence_files():
    folder = resources.files("licensedcode") / "data"
    for f in sorted((folder / "licenses").iterdir(), key=lambda p: p.name):
        if f.name.endswith(".LICENSE"):
            yield f.name.removesuffix(".LICENSE"), _frontmatter(f.read_text(encoding="utf-8", errors="replace"))


@dataclass(frozen=True)
class Index:
    vocab: dict
    refs: tuple  # (SPDX id, frozenset of bigram ints)

    def shingles(self, text: str) -> frozenset:
        return _words_to_shingles(_words(text), self.vocab)


_loaded: list[Index] = []  # the index is the same wherever it is cached: load or build it once per process


def references(cache_dir: Path | None = None) -> Index:
    """(SPDX id, word bigrams) of every licence text with an SPDX-list id, and of ScanCode's full-text rules
    for those licences (the variants seen in the wild: "the name of the author may not be used", ...).
    Deprecated entries, exceptions and LicenseRef-scancode-* ids are not SPDX licences and are left out.

    cache_dir: where to keep the built index (reading ~20k rule files takes seconds), keyed by the data's version.
    """
    cache = cache_dir / f"licence-index-{version('licensedcode-data')}-{_INDEX_FORMAT}.pickle" if cache_dir else None
    if not _loaded:
        if cache is not None and cache.exists():
            with cache.open("rb") as f:
                _loaded.append(pickle.load(f))
        else:
            _loaded.append(_build())
    if cache is not None and not cache.exists():
        tmp = cache.with_suffix(f".{os.getpid()}.tmp")
        with tmp.open("wb") as f:
            pickle.dump(_loaded[0], f, protocol=pickle.HIGHEST_PROTOCOL)
        tmp.replace(cache)  # atomic: a killed run never leaves half an index
    return _loaded[0]


def _build() -> Index:
    vocab: dict[str, int] = {}
    keys: dict[str, str] = {}
    refs: list[tuple[str, frozenset]] = []
    for key, (meta, body) in _licence_files():
        spdx = meta.get("spdx_license_key", "")
        if (not spdx or spdx.startswith("LicenseRef-") or meta.get("is_deprecated") == "yes"
                or meta.get("is_exception") == "yes" or not body.strip()):
            continue
        keys[key] = spdx
        refs.append((spdx, _words_to_shingles(_words(body), vocab, grow=True)))
    rules = resources.files("licensedcode") / "data" / "rules"
    for f in sorted(rules.iterdir(), key=lambda p: p.name):
        stem = f.name.removesuffix(".RULE")
        if stem == f.name or stem.rsplit("_", 1)[0] not in keys:  # rule files are named <licence key>_<n>
            continue
        meta, body = _frontmatter(f.read_text(encoding="utf-8", errors="replace"))
        spdx = keys.get(meta.get("license_expression", ""))
        if spdx and meta.get("is_license_text") == "yes" and meta.get("is_deprecated") != "yes":
            grams = _words_to_shingles(_words(body.replace("{{", " ").replace("}}", " ")), vocab, grow=True)
            if len(grams) >= 20:
                refs.append((spdx, grams))
    return Index(vocab, tuple(refs))


@lru_cache(maxsize=1)
def spdx_ids() -> frozenset:
    """Every id of the SPDX licence list that the database knows (deprecated ones included: headers use them)."""
    return frozenset(m["spdx_license_key"] for _, (m, _) in _licence_files()
                     if m.get("spdx_license_key") and not m["spdx_license_key"].startswith("LicenseRef-"))


def _best(grams: frozenset, refs) -> tuple[str, float]:
    best, best_score = NOASSERTION, 0.0
    for spdx, ref in refs:
        if min(len(ref), len(grams)) * 2 < best_score * (len(ref) + len(grams)):
            continue  # cannot beat the best even if one contained the other
        score = 2 * len(grams & ref) / (len(grams) + len(ref))
        if score > best_score:
            best, best_score = spdx, score
    return best, best_score


def match_text(text: str, cache_dir: Path | None = None) -> tuple[str, float]:
    """The best SPDX id for a licence text and its score; NOASSERTION below MIN_SCORE.

    A file that starts with one licence and appends others (third-party notices) is scored on its
    leading part as long as each candidate licence, when the whole file scores too low.
    """
    index = references(cache_dir)
    refs = index.refs
    grams = index.shingles(text)
    if not grams:
        return NOASSERTION, 0.0
    best, score = _best(grams, refs)
    if score < MIN_SCORE:
        words = _words(text)
        for spdx, ref in refs:
            if len(ref) < 40 or len(grams & ref) < CONTAINED * len(ref):
                continue
            head = _words_to_shingles(words[: len(ref) + 1], index.vocab)
            s = 2 * len(head & ref) / (len(head) + len(ref))
            if s > score:
                best, score = spdx, s
    if score < MIN_SCORE:
        return NOASSERTION, round(score, 4)
    return best, round(score, 4)


def detect(licence_texts: dict[str, str], spdx_headers: Counter, cache_dir: Path | None = None) -> Licence:
    """From root licence files (best score wins), else the most common SPDX-License-Identifier header."""
    best: Licence | None = None
    for path in sorted(licence_texts):
        spdx, score = match_text(licence_texts[path], cache_dir)
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
        return Licence(NOASSERTION, path, match_text(licence_texts[path], cache_dir)[1])
    return Licence(NOASSERTION, None, None)


def _valid_expression(expr: str) -> bool:
    ids = [t for t in re.split(r"\s+|[()]", expr) if t and t not in ("AND", "OR", "WITH")]
    return bool(ids) and all(t.rstrip("+") in spdx_ids() or "exception" in t.lower() for t in ids)
