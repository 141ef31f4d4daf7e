"""Licence texts for the licence tests and bench/licence_sweep.py: the SPDX texts licensedcode-data ships,
the installed wheels' own licence files (with their declared License-Expression), and edits of a text."""
from __future__ import annotations

import random
import re
import sys
from pathlib import Path

from ingest.git.licence import _licence_files

SITE = Path(next(p for p in sys.path if p.endswith("site-packages")))


def spdx_text(spdx: str) -> str:
    """The SPDX text of a licence as licensedcode-data ships it."""
    return next(body for key, (meta, body) in _licence_files() if meta.get("spdx_license_key") == spdx
                and meta.get("is_deprecated") != "yes")


def mutate(text: str, rng: random.Random, vocabulary: list[str] | None = None) -> str:
    """A quarter of the words replaced: by words of the text itself (its word set barely moves, only the
    order check can notice) or by words of another vocabulary."""
    tokens = re.findall(r"\S+|\s+", text)
    words = [i for i, t in enumerate(tokens) if re.search(r"\w", t)]
    pool = vocabulary or [tokens[i] for i in words]
    for i in rng.sample(words, len(words) // 4):
        tokens[i] = rng.choice(pool)
    return "".join(tokens)


def cut_or_pad(text: str, rng: random.Random, pool: list[str]) -> tuple[str, str]:
    """A quarter of the words removed (one contiguous stretch), and a quarter added (one new paragraph of
    other words in the middle): (removed, added)."""
    tokens = re.findall(r"\S+|\s+", text)
    words = [i for i, t in enumerate(tokens) if re.search(r"\w", t)]
    n = len(words) // 4
    start = rng.randrange(len(words) - n)
    removed = "".join(tokens[:words[start]] + tokens[words[start + n - 1] + 1:])
    middle = words[len(words) // 2]
    added = "".join(tokens[:middle]) + "\n\n" + " ".join(rng.choice(pool) for _ in range(n)) + "\n\n" + \
        "".join(tokens[middle:])
    return removed, added


def wheel_licences() -> list[tuple[str, str, Path]]:
    """(wheel, SPDX id, licence file) for wheels declaring one SPDX id and shipping one licence file."""
    out = []
    for meta in sorted(SITE.glob("*.dist-info/METADATA")):
        head = meta.read_text(errors="replace").split("\n\n", 1)[0]
        m = re.search(r"^License-Expression: (\S+)\s*$", head, re.M)
        files = [f for f in (meta.parent / "licenses").rglob("*")
                 if f.is_file() and re.match(r"(licen[cs]e|copying)", f.name, re.I)]
        if m and len(files) == 1:
            out.append((meta.parent.name, m.group(1), files[0]))
    return out
