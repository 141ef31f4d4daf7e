"""Licence detection on real licence files: GOROOT's vendored modules and the installed wheels' own files
(read at test time, never committed), with the wheels' declared License-Expression as the truth."""
import re
import sys
from collections import Counter
from pathlib import Path

import pytest

from ingest.git.licence import NOASSERTION, detect, match_text
from ingest.git.goroot import find_goroot

SITE = Path(next(p for p in sys.path if p.endswith("site-packages")))


@pytest.fixture(scope="module")
def goroot():
    return find_goroot()


def _wheel_licences() -> list[tuple[str, str, Path]]:
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


def test_ingest_git_licence_accuracy_on_installed_wheels():
    cases = _wheel_licences()
    assert len(cases) >= 20, "too few real licence files to measure"
    right = [c for c in cases if match_text(c[2].read_text(errors="replace"))[0] == c[1]]
    wrong = sorted(set(cases) - set(right))
    assert len(right) / len(cases) >= 0.9, f"accuracy {len(right)}/{len(cases)}; wrong: {wrong}"


def test_ingest_git_licence_goroot_vendored_modules(goroot):
    found = {}
    for f in sorted(goroot.glob("src/**/vendor/**/LICENSE")):
        module = str(f.parent).split("/vendor/", 1)[1]
        found[module] = match_text(f.read_text())
    assert found["github.com/google/pprof"][0] == "Apache-2.0"
    xs = {m: r for m, r in found.items() if m.startswith("golang.org/x/")}
    assert len(xs) >= 8 and all(spdx == "BSD-3-Clause" and score > 0.95 for spdx, score in xs.values())


def test_ingest_git_licence_apache_without_appendix(goroot):
    text = (goroot / "src/cmd/vendor/github.com/google/pprof/LICENSE").read_text()
    cut = text.split("APPENDIX")[0]
    assert len(cut) < len(text) * 0.95
    spdx, score = match_text(cut)
    assert spdx == "Apache-2.0" and score > 0.9


def test_ingest_git_licence_mit_with_an_extra_line():
    mit = next(f for _, spdx, f in _wheel_licences() if spdx == "MIT").read_text()
    spdx, _ = match_text(mit + "\nThis project also thanks its many contributors for their work.\n")
    assert spdx == "MIT"


def test_ingest_git_licence_bsd_2_and_3_clause_are_told_apart(goroot):
    bsd3 = (goroot / "src/vendor/golang.org/x/net/LICENSE").read_text()
    bsd2 = re.sub(r"\s*\* Neither the name.*?permission\.\n", "\n", bsd3, flags=re.S)
    assert bsd2 != bsd3
    assert match_text(bsd3)[0] == "BSD-3-Clause"
    assert match_text(bsd2)[0] == "BSD-2-Clause"


def test_ingest_git_licence_noassertion_when_nothing_matches():
    assert match_text("You may do anything you like with this, except sell it to pirates.")[0] == NOASSERTION
    assert detect({}, Counter()).spdx == NOASSERTION


def test_ingest_git_licence_spdx_header_needs_a_known_id():
    assert detect({}, Counter({"Apache-2.0 OR MIT": 3})).spdx == "Apache-2.0 OR MIT"
    assert detect({}, Counter({"Not-A-Licence": 9})).spdx == NOASSERTION
