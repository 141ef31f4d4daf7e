"""Licence detection over every SPDX licence text that ships with licensedcode-data, next to the previous
detector (ingest.git.licence at commit 45fac3d, read from git: whole-file word-bigram Dice >= 0.80 against
SPDX texts and ScanCode variants, plus its leading-part rule) on the same texts.

    .venv/bin/python bench/licence_sweep.py [--step 1] [--seed 0]

For each licence on the SPDX list (exceptions and deprecated ids left out): its canonical text must come
back as itself, and a copy with a quarter of its words replaced must come back NOASSERTION. Two mutations,
both seeded: words replaced by other words of the same text (the word set barely moves) and by words of
another licence text; and a quarter removed (one stretch) or added (one paragraph of other words). Then the installed wheels' own licence files against their declared License-Expression.
Prints counts, the failures, and the time per text of both detectors, measured in
the same process.
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
from tests.helpers.licence_texts import cut_or_pad, mutate, wheel_licences  # noqa: E402


def previous_detector(base: str = "45fac3d"):
    """ingest.git.licence as it was at `base` (read from git, loaded as its own module): its match_text."""
    import importlib.util
    import subprocess
    import tempfile
    source = subprocess.run(["git", "show", f"{base}:ingest/git/licence.py"], capture_output=True, text=True,
                            cwd=Path(__file__).resolve().parents[1], check=True).stdout
    path = Path(tempfile.mkdtemp()) / "previous_licence.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("previous_licence", path)
    module = sys.modules["previous_licence"] = importlib.util.module_from_spec(spec)  # dataclasses look it up
    spec.loader.exec_module(module)
    return lambda text: module.match_text(text)[0]


def _cases(spdx: str, body: str, rng: random.Random, foreign: list[str]) -> dict:
    removed, added = cut_or_pad(body, rng, foreign)
    return {"canonical": (body, spdx), "mutated_own_words": (mutate(body, rng), NOASSERTION),
            "mutated_foreign_words": (mutate(body, rng, foreign), NOASSERTION),
            "quarter_removed": (removed, NOASSERTION), "quarter_added": (added, NOASSERTION)}


def _same_text(a: str, b: str, texts: list[tuple[str, str]]) -> bool:
    from ingest.git.licence import paragraphs
    by_id = dict(texts)
    return a in by_id and b in by_id and paragraphs(by_id[a]) == paragraphs(by_id[b])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--step", type=int, default=1, help="every Nth licence (1: all)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    t0 = time.perf_counter()
    references()
    print(f"reference index: {len(references().refs)} texts, built in {time.perf_counter() - t0:.1f} s")
    keys = _keys()
    # one text per SPDX id (a few ids have two ScanCode entries: the first is kept)
    texts = list({m["spdx_license_key"]: b for k, (m, b) in reversed(list(_licence_files()))
                  if k in keys and not keys[k][1] and b.strip()}.items())
    texts = sorted(texts)[::args.step]
    foreign = re.findall(r"\w+", dict(texts).get("Zlib", "") + dict(texts).get("PostgreSQL", "")) or None
    old = previous_detector()
    results = {"canonical": [], "mutated_own_words": [], "mutated_foreign_words": [], "quarter_removed": [],
               "quarter_added": []}
    old_results = {k: [] for k in results}
    t0 = time.perf_counter()
    for spdx, body in texts:
        rng = random.Random(f"{args.seed}:{spdx}")
        cases = _cases(spdx, body, rng, foreign)
        for name, (text, want) in cases.items():
            got = match_text(text).expression
            results[name].append((spdx, got, got == want))
    elapsed = time.perf_counter() - t0
    old("warm up: the previous detector builds its index on first use")
    t0 = time.perf_counter()
    for spdx, body in texts:
        rng = random.Random(f"{args.seed}:{spdx}")
        cases = _cases(spdx, body, rng, foreign)
        for name, (text, want) in cases.items():
            got = old(text)
            old_results[name].append((spdx, got, got == want))
    old_elapsed = time.perf_counter() - t0
    print(f"previous detector: {1000 * old_elapsed / (len(results) * len(texts)):.0f} ms per text")
    print(f"{len(texts)} SPDX licence texts, {len(results) * len(texts)} matches in {elapsed:.1f} s "
          f"({1000 * elapsed / (len(results) * len(texts)):.0f} ms per text)")
    # real files nobody on the project wrote: the installed wheels' licence files, their declared licence the truth
    wheels = wheel_licences()
    for label, detector in (("this detector", lambda t: match_text(t).expression), ("previous detector", old)):
        got = [(spdx, detector(f.read_text(errors="replace"))) for _, spdx, f in wheels]
        right = sum(g == s for s, g in got)
        unsure = sum(g == NOASSERTION for s, g in got)
        print(f"installed wheels' licence files, {label}: right {right}/{len(got)}, NOASSERTION {unsure}, "
              f"another licence {len(got) - right - unsure}: {sorted({(s, g) for s, g in got if g not in (s, NOASSERTION)})}")
    for name in results:
        ok = sum(r[2] for r in results[name])
        old_ok = sum(r[2] for r in old_results[name])
        print(f"  {name:22s} right {ok}/{len(texts)}   previous detector {old_ok}/{len(texts)}")
        for spdx, got, right in results[name]:
            if not right:
                same = name == "canonical" and got != NOASSERTION and _same_text(spdx, got, texts)
                print(f"    {spdx}: {got}" + ("  (the two SPDX texts are word for word the same)" if same else ""))


if __name__ == "__main__":
    main()
