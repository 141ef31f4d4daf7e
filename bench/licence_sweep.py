"""Licence detection over every SPDX licence text that ships with licensedcode-data, next to the previous
detector (whole-file word-bigram Dice >= 0.80 against the SPDX texts; ingest.git.licence before issue 19,
without its ScanCode variants) on the same texts.

    .venv/bin/python bench/licence_sweep.py [--step 1] [--seed 0]

For each licence on the SPDX list (exceptions and deprecated ids left out): its canonical text must come
back as itself, and a copy with a quarter of its words replaced must come back NOASSERTION. Two mutations,
both seeded: words replaced by other words of the same text (the word set barely moves) and by words of
another licence text. Prints counts, the failures, and the time per text. The old detector is rebuilt here
from its rule (not imported: it is gone) so the ratio is measured in the same process.
"""
from __future__ import annotations

import argparse
import random
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ingest.git.licence import NOASSERTION, _keys, _licence_files, match_text, references  # noqa: E402
from tests.test_ingest_git_licence import mutate  # noqa: E402


def _old_shingles(text: str) -> frozenset:
    words = re.findall(r"[a-z0-9]+", re.sub(r"(?im)^\W*(copyright\b|\(c\)|©|all rights reserved).*$", " ", text).lower())
    return frozenset(zip(words, words[1:]))


def old_detector(texts: list[tuple[str, str]]):
    refs = [(spdx, _old_shingles(body)) for spdx, body in texts]

    def match(text: str) -> str:
        grams = _old_shingles(text)
        best, score = NOASSERTION, 0.0
        for spdx, ref in refs:
            s = 2 * len(grams & ref) / (len(grams) + len(ref)) if grams or ref else 0.0
            if s > score:
                best, score = spdx, s
        return best if score >= 0.80 else NOASSERTION
    return match


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--step", type=int, default=1, help="every Nth licence (1: all)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    t0 = time.perf_counter()
    references()
    print(f"reference index: {len(references().refs)} texts, built in {time.perf_counter() - t0:.1f} s")
    keys = _keys()
    texts = [(m["spdx_license_key"], b) for k, (m, b) in _licence_files()
             if k in keys and not keys[k][1] and b.strip()][::args.step]
    foreign = re.findall(r"\w+", dict(texts).get("Zlib", "") + dict(texts).get("PostgreSQL", "")) or None
    old = old_detector(texts)
    results = {"canonical": [], "mutated_own_words": [], "mutated_foreign_words": []}
    old_results = {k: [] for k in results}
    t0 = time.perf_counter()
    for spdx, body in texts:
        rng = random.Random(f"{args.seed}:{spdx}")
        cases = {"canonical": (body, spdx), "mutated_own_words": (mutate(body, rng), NOASSERTION),
                 "mutated_foreign_words": (mutate(body, rng, foreign), NOASSERTION)}
        for name, (text, want) in cases.items():
            got = match_text(text).expression
            results[name].append((spdx, got, got == want))
    elapsed = time.perf_counter() - t0
    for spdx, body in texts:
        rng = random.Random(f"{args.seed}:{spdx}")
        cases = {"canonical": (body, spdx), "mutated_own_words": (mutate(body, rng), NOASSERTION),
                 "mutated_foreign_words": (mutate(body, rng, foreign), NOASSERTION)}
        for name, (text, want) in cases.items():
            got = old(text)
            old_results[name].append((spdx, got, got == want))
    print(f"{len(texts)} SPDX licence texts, {3 * len(texts)} matches in {elapsed:.1f} s "
          f"({1000 * elapsed / (3 * len(texts)):.0f} ms per text)")
    for name in results:
        ok = sum(r[2] for r in results[name])
        old_ok = sum(r[2] for r in old_results[name])
        print(f"  {name:22s} right {ok}/{len(texts)}   previous detector {old_ok}/{len(texts)}")
        for spdx, got, right in results[name]:
            if not right:
                print(f"    {spdx}: {got}")


if __name__ == "__main__":
    main()
