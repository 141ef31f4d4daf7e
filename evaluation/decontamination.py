"""Decontamination: which evaluation items share word n-grams with the train split.

An item's probe (its prompt and its reference answer) is cut into n-grams of whitespace-separated words;
every train text is scanned once and an n-gram seen there is marked. An item whose share of marked n-grams
reaches the threshold is contaminated: reported, and dropped from the scores. A share, not a single hit,
because Go files share licence headers and boilerplate that say nothing about the item.
Measured: the scan reads the 92.5 MB of GOROOT's Go files in about 4 s on one core.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from tqdm import tqdm


def word_ngrams(text: str, n: int) -> set[tuple[str, ...]]:
    words = text.split()
    return set(zip(*(words[k:] for k in range(n))))


@dataclass
class Overlap:
    item_id: str
    ngrams: int           # n-grams in the item's probe (0: shorter than n words, cannot be checked)
    matched: int          # of those, seen in the train split
    example: str          # one matched n-gram, for the report

    @property
    def fraction(self) -> float:
        return self.matched / self.ngrams if self.ngrams else 0.0


class ContaminationIndex:
    def __init__(self, probes: dict[str, str], n: int):
        self.n = n
        self.items = {item_id: word_ngrams(text, n) for item_id, text in probes.items()}
        self.wanted: set[tuple[str, ...]] = set().union(*self.items.values()) if self.items else set()
        self.seen: set[tuple[str, ...]] = set()
        self.texts_scanned = 0

    def scan(self, texts: Iterable[str]) -> None:
        n, wanted = self.n, self.wanted.__contains__
        for text in tqdm(texts, desc="decontamination: scanning train", unit=" texts", leave=False):
            words = text.split()
            self.seen.update(filter(wanted, zip(*(words[k:] for k in range(n)))))
            self.texts_scanned += 1

    def overlaps(self) -> dict[str, Overlap]:
        out = {}
        for item_id, grams in self.items.items():
            hit = sorted(grams & self.seen)
            out[item_id] = Overlap(item_id, len(grams), len(hit), " ".join(hit[0]) if hit else "")
        return out


def find_contaminated(probes: dict[str, str], train: Iterable[str], n: int, threshold: float) -> tuple[
        dict[str, Overlap], set[str]]:
    """(overlap of every item, ids of the contaminated ones)."""
    index = ContaminationIndex(probes, n)
    if index.wanted:
        index.scan(train)
    overlaps = index.overlaps()
    return overlaps, {i for i, o in overlaps.items() if o.ngrams and o.fraction >= threshold}
