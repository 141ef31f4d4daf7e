"""Licence texts -> SPDX expressions, with licensee's semantics: a licence is claimed only when a whole
stretch of the file is that licence, never on fragments.

The references are the texts shipped by `licensedcode-data` (the ScanCode licence database): every SPDX
licence and exception text, ScanCode's full-text variants of them (the forms seen in the wild) and its
notices ("Licensed under the Apache License, Version 2.0 ...", GPL's "or (at your option) any later
version"). A file and each reference are normalised the same way (case, punctuation, bullets, copyright
lines, a leading title, URLs, spelling, CRLF and wrapping), then the file's paragraphs are covered by
references: a reference claims a run of paragraphs when the run's word set scores at least WORD_DICE
against it (licensee's 98% Sørensen-Dice over word sets) and, because word sets ignore order, its word
bigrams at least BIGRAM_DICE (a text whose words were shuffled or swapped for its own words is not the
licence either). Several pieces in one file (dual licences, a licence and its exception, a licence and
its "or later" notice, appended third-party licences) make one SPDX expression; a file with any text no
reference claims is a modified licence: NOASSERTION, keeping the nearest licence and its score.
"""
from __future__ import annotations

import os
import pickle
import re
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from importlib.metadata import version
from pathlib import Path

import numpy as np

from lake.licences import licensing

NOASSERTION = "NOASSERTION"
_INDEX_FORMAT = 3  # bump when _build or the normalisation change
WORD_DICE = 0.98    # licensee's CONFIDENCE_THRESHOLD for full texts
BIGRAM_DICE = 0.95  # order check on top (measured: canonical texts and ScanCode variants score >= 0.99)
MIN_WORDS = 6       # shorter references ("MIT", "GPL v2") say nothing on their own
MAX_WORDS = 12_000  # longer files (bundles of third-party licences) are not searched piece by piece: NOASSERTION
MAX_CANDIDATES = 64  # references searched per pass (measured: a licence's own texts hold >= 0.99 of their words)
MAX_NOTICE_WORDS = 1_500  # notices are searched in what full texts left, when that is short enough to be notices
CONNECTIVE_WORDS = 60  # text between two claimed pieces ("dual licensed under either ...") may be this long
_DUAL = re.compile(r"\b(either|dual|dually|at your (option|choice)|your choice|choose|alternatively)\b")
# a copyright statement (Copyright (c) 2024 Jane, Copyright The Go Authors), not a re-wrapped line of licence
# text that happens to start with the word ("copyright license to reproduce ...")
_COPYRIGHT = re.compile(r"^\W*(copyright\s*(\(c\)|©|\d|by\b|the\b|(?!(license|notice|owner|holder|and|patent|"
                        r"statement|law|or|of|to|in)\b)[a-z])|\(c\)\s*\d|©|all rights reserved|portions copyright).*$",
                        re.I | re.M)
_URL = re.compile(r"<?\bhttps?://\S+|\bwww\.\S+", re.I)
_BULLET = re.compile(r"^[ \t>*#/-]*(?:[-*•·]|\(?(?:[0-9]{1,2}|[a-z]|[ivx]{1,4})[.)])[ \t]+", re.I | re.M)
_INLINE_BULLET = re.compile(r"(?<![\w(])\((?:[0-9]{1,2}|[a-z]|[ivx]{1,4})\)(?!\w)", re.I)  # "(a)" after re-wrapping
_LATER_GRANT = re.compile(r"\(\s*at\s+your\s+option\s*\)\s+any\s+later\s+version", re.I)
_APPENDIX = re.compile(r"\bend of terms and conditions\b.*", re.I | re.S)
_WORD = re.compile(r"[a-z0-9]+")
_GNU = re.compile(r"^(A?GPL|LGPL)-")  # exceptions that do not name their licence extend a GNU one (GCC, Classpath)
_SPELLING = {"licence": "license", "licences": "licenses", "licenced": "licensed", "licencing": "licensing",
             "organisation": "organization", "sublicence": "sublicense", "authorised": "authorized"}
_NOT_TITLE = {"licensed", "under", "this", "is", "you", "may", "see", "are", "of", "permission"}


@dataclass(frozen=True)
class Piece:
    """One stretch of a file claimed by one reference."""
    spdx: str    # an SPDX expression (a notice can name two licences)
    kind: str    # text | notice | exception
    score: float  # word-set Dice of the stretch against the reference
    first: int   # paragraphs [first, last) of the normalised file
    last: int


@dataclass(frozen=True)
class FileMatch:
    expression: str          # SPDX expression, or NOASSERTION
    score: float             # the weakest piece's score; for NOASSERTION the nearest licence's
    nearest: str | None      # the closest licence text (the evidence when NOASSERTION)
    pieces: tuple = ()       # Piece, in file order

    @property
    def matcher(self) -> str:
        return "+".join(sorted({p.kind for p in self.pieces})) or "nearest"


def _normalise_lines(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u00a0", " ")
    text = _COPYRIGHT.sub("", text)
    text = _URL.sub(" ", text)
    return _INLINE_BULLET.sub(" ", _BULLET.sub("", text))


def _words(s: str) -> list[str]:
    return [_SPELLING.get(w, w) for w in _WORD.findall(s.lower())]


def paragraphs(text: str) -> list[list[str]]:
    """The normalised words of each paragraph (blank-line separated), a leading title dropped."""
    paras = [_words(p) for p in re.split(r"\n[ \t>*#/-]*\n", _normalise_lines(text))]
    paras = [p for p in paras if p]
    for _ in range(2):  # a title ("The MIT License (MIT)") and a version line ("Version 2.0, January 2004")
        if paras and len(paras[0]) <= 10 and ({"license", "licenses"} & set(paras[0]) or paras[0][0] == "version") \
                and not _NOT_TITLE & set(paras[0]):
            paras = paras[1:]
    return paras


def _reference_words(text: str) -> list[str]:
    return [w for p in paragraphs(text) for w in p]


def _bigrams(words: list[str]) -> set:
    return set(zip(words, words[1:]))


def _dice(a: set, b: set) -> float:
    return 2 * len(a & b) / (len(a) + len(b)) if a or b else 0.0


@dataclass
class Index:
    """Every reference as (expression, kind, primary, word set, bigram set) plus an inverted index from
    word to references, so one file is compared in full only with the references it mostly contains."""
    refs: list = field(default_factory=list)
    vocab: dict = field(default_factory=dict)
    postings: list = field(default_factory=list)  # word id -> np.ndarray of reference ids
    sizes: np.ndarray | None = None

    def add(self, expression: str, kind: str, primary: bool, words: list[str]) -> None:
        ws = frozenset(words)
        if len(words) < MIN_WORDS:
            return
        rid = len(self.refs)
        self.refs.append((expression, kind, primary, ws, frozenset(_bigrams(words))))
        for w in ws:
            self.vocab.setdefault(w, []).append(rid)

    def freeze(self) -> None:
        self.postings = {w: np.asarray(ids, dtype=np.int32) for w, ids in self.vocab.items()}
        self.vocab = {}
        self.sizes = np.asarray([len(r[3]) for r in self.refs], dtype=np.int32)

    def overlap(self, words: set) -> np.ndarray:
        """For every reference, how many of its distinct words `words` holds."""
        lists = [self.postings[w] for w in words if w in self.postings]
        if not lists:
            return np.zeros(len(self.refs), dtype=np.int64)
        return np.bincount(np.concatenate(lists), minlength=len(self.refs))


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


_loaded: list[Index] = []  # the index is the same wherever it is cached: load or build it once per process


def references(cache_dir: Path | None = None) -> Index:
    """The reference index. cache_dir: where to keep it (reading ~35k rule files takes seconds), keyed by
    the data's version."""
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


@lru_cache(maxsize=1)
def _keys() -> dict[str, tuple[str, bool]]:
    """ScanCode key -> (SPDX id, is an exception), for licences on the SPDX list."""
    out = {}
    for key, (meta, _) in _licence_files():
        spdx = meta.get("spdx_license_key", "")
        if spdx and not spdx.startswith("LicenseRef-") and meta.get("is_deprecated") != "yes":
            out[key] = (spdx, meta.get("is_exception") == "yes")
    return out


def _spdx_expression(scancode: str) -> str | None:
    """A ScanCode expression in SPDX ids, or None when a key has no SPDX id."""
    keys = _keys()
    out = []
    for token in re.split(r"(\s+|[()])", scancode.strip()):
        if not token.strip() or token in "()":
            out.append(token)
        elif token.lower() in ("and", "or", "with"):
            out.append(token.upper())
        elif token in keys:
            out.append(keys[token][0])
        else:
            return None
    return "".join(out)


def _build() -> Index:
    index = Index()
    keys = _keys()
    for key, (meta, body) in _licence_files():
        if key not in keys or not body.strip():
            continue
        spdx, is_exception = keys[key]
        kind = "exception" if is_exception else "text"
        words = _reference_words(body)
        index.add(spdx, kind, True, words)
        cut = _reference_words(_APPENDIX.sub("", body))  # the same licence without its how-to-apply appendix
        if len(cut) < len(words) * 0.95:
            index.add(spdx, kind, True, cut)
    rules = resources.files("licensedcode") / "data" / "rules"
    for f in sorted(rules.iterdir(), key=lambda p: p.name):
        if not f.name.endswith(".RULE"):
            continue
        meta, body = _frontmatter(f.read_text(encoding="utf-8", errors="replace"))
        if meta.get("is_deprecated") == "yes" or "{{" in body:  # {{...}}: a template ScanCode fills at match time
            continue
        kind = "text" if meta.get("is_license_text") == "yes" else "notice" if meta.get("is_license_notice") == "yes" \
            else "reference" if meta.get("is_license_reference") == "yes" else None
        spdx = _spdx_expression(meta.get("license_expression", "")) if kind else None
        if spdx:
            index.add(spdx, kind, False, _reference_words(body))
    index.freeze()
    return index


class _Window:
    """Paragraphs [a, b) of a file against one reference, with word and bigram counts kept up to date as
    paragraphs leave at either end (trimming a long run costs its length, not its length squared)."""

    def __init__(self, paras, a: int, b: int, ref_words: frozenset, ref_bigrams: frozenset):
        self.paras, self.a, self.b, self.rw, self.rb = paras, a, b, ref_words, ref_bigrams
        words = [w for p in paras[a:b] for w in p]
        self.words, self.grams = Counter(words), Counter(zip(words, words[1:]))
        self.word_hits = sum(1 for w in self.words if w in ref_words)
        self.gram_hits = sum(1 for g in self.grams if g in ref_bigrams)

    def scores(self, drop: tuple = (), drop_grams: tuple = ()) -> tuple[float, float]:
        """(word Dice, bigram Dice), as they would be without the words and bigrams `drop`/`drop_grams`."""
        nw, hw = len(self.words), self.word_hits
        for w, n in Counter(drop).items():
            if self.words[w] == n:
                nw, hw = nw - 1, hw - (w in self.rw)
        ng, hg = len(self.grams), self.gram_hits
        for g, n in Counter(drop_grams).items():
            if self.grams[g] == n:
                ng, hg = ng - 1, hg - (g in self.rb)
        return 2 * hw / (nw + len(self.rw)), 2 * hg / (ng + len(self.rb))

    def _edge(self, left: bool) -> tuple[list, list]:
        i = self.a if left else self.b - 1
        words = self.paras[i]
        grams = list(zip(words, words[1:]))
        neighbour = self.paras[i + 1][0] if left else self.paras[i - 1][-1]
        grams.append((words[-1], neighbour) if left else (neighbour, words[0]))
        return words, grams

    def drop(self, left: bool) -> None:
        words, grams = self._edge(left)
        for w in words:
            self.words[w] -= 1
            if not self.words[w]:
                del self.words[w]
                self.word_hits -= w in self.rw
        for g in grams:
            self.grams[g] -= 1
            if not self.grams[g]:
                del self.grams[g]
                self.gram_hits -= g in self.rb
        if left:
            self.a += 1
        else:
            self.b -= 1

    def trim(self) -> tuple[float, float]:
        """Drop end paragraphs while that raises the word-set score; the final scores."""
        score = self.scores()
        while self.b - self.a > 1:
            left, right = self.scores(*self._edge(True)), self.scores(*self._edge(False))
            step, side = max((left, True), (right, False))
            if step[0] <= score[0]:
                break
            self.drop(side)
            score = step
        return score


def _best_window(paras, sets, free, ref_words, ref_bigrams) -> tuple[int, int, float, float] | None:
    """The run of free paragraphs that best matches one reference: runs of paragraphs mostly made of the
    reference's words, then trimmed at either end while the word-set score improves."""
    inside = [free[i] and len(sets[i] & ref_words) >= 0.7 * len(sets[i]) for i in range(len(paras))]
    best = None
    i = 0
    while i < len(paras):
        if not inside[i]:
            i += 1
            continue
        j = i
        while j < len(paras) and inside[j]:
            j += 1
        window = _Window(paras, i, j, ref_words, ref_bigrams)
        score = window.trim()
        if best is None or score > best[2:]:
            best = (window.a, window.b, *score)
        i = j
    return best


# (kinds, word-set floor, bigram floor, share of a reference's words the free paragraphs must hold: a
# window scoring the floor holds nearly all of them, so the rest are never searched). Notices get the same
# floors: ScanCode tags some near-full texts as notices, and a lower floor let a truncated MIT pass as one.
_PASSES = ((("text", "exception"), WORD_DICE, BIGRAM_DICE, 0.96), (("notice",), WORD_DICE, BIGRAM_DICE, 0.96))


def _pieces(paras, index: Index) -> list[Piece]:
    """Full texts (and exceptions) claim their stretches first, notices then search what is left."""
    sets = [set(p) for p in paras]
    free = [True] * len(paras)
    pieces: list[Piece] = []
    for kinds, word_floor, bigram_floor, contained in _PASSES:
        if kinds == ("notice",) and sum(len(p) for p, f in zip(paras, free) if f) > MAX_NOTICE_WORDS:
            break
        words = set().union(*(s for s, f in zip(sets, free) if f))
        overlap = index.overlap(words)
        seen, windows = set(), {}
        held = overlap / index.sizes
        ranked = np.nonzero(held >= contained)[0]
        # the references the file holds most completely first; a bundle of licences holds hundreds
        # (ties: the longest reference first, it can claim the most)
        for r in ranked[np.lexsort((-index.sizes[ranked], -held[ranked]))][:MAX_CANDIDATES]:
            spdx, kind, primary, ref_words, _ = index.refs[r]
            if kind in kinds and (spdx, ref_words) not in seen:
                seen.add((spdx, ref_words))
                windows[r] = None
        while windows:
            found = []
            for r in list(windows):
                spdx, kind, primary, ref_words, ref_bigrams = index.refs[r]
                w = windows[r]
                if w is None or not all(free[w[0]:w[1]]):
                    w = windows[r] = _best_window(paras, sets, free, ref_words, ref_bigrams)
                if w is None:
                    del windows[r]
                    continue
                a, b, wd, bd = w
                if wd >= word_floor and bd >= bigram_floor:
                    # the longest stretch first (a full text over a notice inside it), then the score, then
                    # the licence's own text over a variant, then the id: deterministic
                    found.append(((sum(len(p) for p in paras[a:b]), wd, bd, primary), spdx, kind, a, b, wd))
            if not found:
                break
            # equal texts under two ids (GPL-3.0-only and -or-later ship the same text): the text alone
            # grants no later version, so -or-later only comes from a notice, a header or a grant
            found.sort(key=lambda f: (tuple(-x for x in f[0]), f[1]))
            _, spdx, kind, a, b, wd = found[0]
            if kind == "text":  # a licence text grants no later version: only a grant does (match_text)
                spdx = re.sub(r"^((A|L)?GPL-\d\.\d)-or-later$", r"\1-only", spdx)
            pieces.append(Piece(spdx, kind, round(wd, 4), a, b))
            free[a:b] = [False] * (b - a)
    return sorted(pieces, key=lambda p: p.first)


def _nearest(paras, index: Index) -> tuple[str | None, float]:
    words = {w for p in paras for w in p}
    if not words:
        return None, 0.0
    dice = 2 * index.overlap(words) / (len(words) + index.sizes)
    is_text = np.asarray([r[1] == "text" for r in index.refs])
    dice = np.where(is_text, dice, -1.0)
    best = int(np.argmax(dice))
    return index.refs[best][0], round(float(dice[best]), 4)


def combine(pieces: list[Piece], connective: str = "") -> str:
    """One SPDX expression from the pieces of one file (or one scope): a licence's exception attaches to
    it with WITH, an "or later" notice replaces the -only text it accompanies, several licences are AND
    unless the text between them offers a choice (OR)."""
    exceptions = [p.spdx for p in pieces if p.kind == "exception"]
    terms = list(dict.fromkeys(p.spdx for p in pieces if p.kind != "exception"))
    later = {t.removesuffix("-or-later") for t in terms if t.endswith("-or-later")}
    terms = [t for t in terms if not (t.endswith("-only") and t.removesuffix("-only") in later)]
    if not terms:
        return NOASSERTION
    for exc in exceptions:
        # an exception names the licence it extends (LGPL-3.0-linking-exception); else the only licence
        owner = [t for t in terms if exc.startswith(re.sub(r"-(only|or-later)$", "", t))] or \
            [t for t in terms if len(terms) == 1 and _GNU.match(t)]
        if not owner:
            return NOASSERTION
        terms = [f"{t} WITH {exc}" if t == owner[0] else t for t in terms]
    terms.sort()  # one expression for one set of licences, whichever file came first
    op = " OR " if len(terms) > 1 and _DUAL.search(connective.lower()) else " AND "
    expression = op.join(f"({t})" if " " in t and " WITH " not in t else t for t in terms)
    return str(licensing().dedup(licensing().parse(expression))) if len(terms) > 1 else expression


def or_later(expression: str) -> str:
    """GPL-2.0-only -> GPL-2.0-or-later (and LGPL, AGPL), for an expression whose grant says "or any later version"."""
    return re.sub(r"\b((A|L)?GPL-\d\.\d)-only\b", r"\1-or-later", expression)


def match_text(text: str, cache_dir: Path | None = None) -> FileMatch:
    """The SPDX expression of a licence file (or NOASSERTION with the nearest licence as evidence)."""
    index = references(cache_dir)
    paras = paragraphs(text)
    if not paras:
        return FileMatch(NOASSERTION, 0.0, None)
    pieces = _pieces(paras, index) if sum(map(len, paras)) <= MAX_WORDS else []
    covered = {i for p in pieces for i in range(p.first, p.last)}
    leftover = [paras[i] for i in range(len(paras)) if i not in covered and len(paras[i]) >= 3]
    left_words = sum(len(p) for p in leftover)
    licences = [p for p in pieces if p.kind != "exception"]
    if not licences or (leftover and (len(pieces) < 2 or left_words > CONNECTIVE_WORDS)):
        nearest, score = _nearest(paras, index)
        return FileMatch(NOASSERTION, score, nearest, tuple(pieces))
    expression = combine(pieces, " ".join(w for p in leftover for w in p))
    if _LATER_GRANT.search(_APPENDIX.sub("", text)):  # the GNU texts' own "how to apply" example is no grant
        expression = or_later(expression)
    return FileMatch(expression, min(p.score for p in pieces), None if expression != NOASSERTION else licences[0].spdx,
                     tuple(pieces))


def match_section(text: str, cache_dir: Path | None = None) -> FileMatch:
    """The licences a README's licence section or a notice names: notices and references ("licensed under
    the MIT license") found anywhere in it. Unlike a licence file, the rest of the prose is allowed."""
    index = references(cache_dir)
    paras = paragraphs(text)
    words = [w for p in paras for w in p]
    if not words:
        return FileMatch(NOASSERTION, 0.0, None)
    grams = _bigrams(words)
    overlap = index.overlap(set(words))
    found: list[Piece] = []
    for r in np.nonzero(overlap >= index.sizes)[0]:  # every word of the reference present
        spdx, kind, _, ref_words, ref_bigrams = index.refs[r]
        if kind in ("notice", "reference") and len(ref_bigrams & grams) >= 0.95 * len(ref_bigrams):
            found.append((len(ref_words), spdx))
    if not found:
        return FileMatch(NOASSERTION, 0.0, None)
    # a reference inside a longer one that names the same licences says nothing more: keep the longest per id
    terms = {}
    for size, spdx in sorted(found, reverse=True):
        terms.setdefault(spdx, size)
    keys = {e: set(licensing().license_keys(e)) for e in terms}
    ids = set().union(*keys.values())
    kept = [e for e in terms if not any(e != o and keys[e] < keys[o] for o in terms)]
    pieces = [Piece(e, "notice", 1.0, 0, len(paras)) for e in sorted(kept)]
    expression = combine(pieces, " ".join(words)) if len(ids) > 1 or len(kept) == 1 else NOASSERTION
    return FileMatch(expression, 1.0, None, tuple(pieces))
