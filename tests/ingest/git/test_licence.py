"""Licence detection on real licence files: GOROOT's vendored modules and the installed wheels' own files
(read at test time, never committed), with the wheels' declared License-Expression as the truth; and on
texts the tests build from the SPDX texts (CRLF, re-wrapped, title removed, a quarter of the words
replaced, notices, REUSE folders, README sections, several files, dual licences, exceptions, "or later")."""
import random
import re
import textwrap
from collections import Counter

import pytest

from ingest.git.goroot import find_goroot
from ingest.git.licence import NOASSERTION, _licence_files, _keys, match_text
from ingest.git.licence_scopes import detect_scopes
from tests.helpers.licence_texts import cut_or_pad, mutate, spdx_text, wheel_licences


@pytest.fixture(scope="module")
def goroot():
    return find_goroot()


def test_ingest_git_licence_accuracy_on_installed_wheels():
    """Real files nobody on the project wrote: right or NOASSERTION, never another licence."""
    cases = wheel_licences()
    assert len(cases) >= 20, "too few real licence files to measure"
    got = {c: match_text(c[2].read_text(errors="replace")).expression for c in cases}
    right = [c for c in cases if got[c] == c[1]]
    wrong = sorted((c[0], c[1], got[c]) for c in cases if got[c] not in (c[1], NOASSERTION))
    assert not wrong, f"claimed another licence: {wrong}"
    assert len(right) / len(cases) >= 0.8, f"recall {len(right)}/{len(cases)}"


def test_ingest_git_licence_goroot_vendored_modules(goroot):
    found = {}
    for f in sorted(goroot.glob("src/**/vendor/**/LICENSE")):
        module = str(f.parent).split("/vendor/", 1)[1]
        found[module] = match_text(f.read_text())
    assert found["github.com/google/pprof"].expression == "Apache-2.0"
    xs = {m: r for m, r in found.items() if m.startswith("golang.org/x/")}
    assert len(xs) >= 8 and all(r.expression == "BSD-3-Clause" and r.score >= 0.98 for r in xs.values())


def test_ingest_git_licence_apache_without_appendix(goroot):
    text = (goroot / "src/cmd/vendor/github.com/google/pprof/LICENSE").read_text()
    cut = text.split("APPENDIX")[0]
    assert len(cut) < len(text) * 0.95
    assert match_text(cut).expression == "Apache-2.0"


@pytest.mark.parametrize("spdx", ["MIT", "Apache-2.0", "BSD-3-Clause", "GPL-3.0-only", "MPL-2.0", "ISC"])
def test_ingest_git_licence_canonical_crlf_rewrapped_and_untitled(spdx):
    text = spdx_text(spdx)
    crlf = text.replace("\n", "\r\n")
    rewrapped = "\n\n".join(textwrap.fill(" ".join(p.split()), width=47) for p in re.split(r"\n\s*\n", text))
    untitled = "\n".join(text.strip().splitlines()[1:]) if spdx in ("GPL-3.0-only", "MPL-2.0") else \
        re.sub(r"^.*licen[cs]e.*\n", "", text.strip() + "\n", count=1, flags=re.I)
    for variant in (text, crlf, rewrapped, "Copyright (c) 2024 Jane Doe\n\n" + untitled):
        m = match_text(variant)
        assert (m.expression, m.matcher) == (spdx, "text"), variant[:80]


@pytest.mark.parametrize("spdx", ["MIT", "Apache-2.0", "BSD-3-Clause", "BSD-2-Clause", "GPL-2.0-only", "MPL-2.0"])
def test_ingest_git_licence_a_quarter_of_the_words_replaced_is_noassertion_with_the_nearest(spdx):
    text = spdx_text(spdx)
    foreign = re.findall(r"\w+", spdx_text("Zlib") + spdx_text("PostgreSQL"))
    for seed in range(3):
        for vocabulary in (None, foreign):
            m = match_text(mutate(text, random.Random(seed), vocabulary))
            assert m.expression == NOASSERTION
            assert m.nearest is not None and 0 < m.score < 0.98


@pytest.mark.parametrize("spdx", ["MIT", "Apache-2.0", "BSD-3-Clause", "MPL-2.0"])
def test_ingest_git_licence_a_quarter_removed_or_added_is_noassertion(spdx):
    foreign = re.findall(r"\w+", spdx_text("Zlib") + spdx_text("PostgreSQL"))
    for seed in range(3):
        for text in cut_or_pad(spdx_text(spdx), random.Random(seed), foreign):
            m = match_text(text)
            assert m.expression == NOASSERTION and m.nearest is not None


def test_ingest_git_licence_mit_with_an_extra_line_is_a_modified_licence():
    """Licensee's rule: an added sentence (it could as well be a restriction) is not the licence."""
    mit = next(f for _, spdx, f in wheel_licences() if spdx == "MIT").read_text()
    m = match_text(mit + "\nThis software may not be used by the military or sold to pirates, ever.\n")
    assert (m.expression, m.nearest) == (NOASSERTION, "MIT")


def test_ingest_git_licence_bsd_2_and_3_clause_are_told_apart(goroot):
    bsd3 = (goroot / "src/vendor/golang.org/x/net/LICENSE").read_text()
    bsd2 = re.sub(r"\s*\* Neither the name.*?permission\.\n", "\n", bsd3, flags=re.S)
    assert bsd2 != bsd3
    assert match_text(bsd3).expression == "BSD-3-Clause"
    assert match_text(bsd2).expression == "BSD-2-Clause"


def test_ingest_git_licence_noassertion_when_nothing_matches():
    assert match_text("You may do anything you like with this, except sell it to pirates.").expression == NOASSERTION
    assert detect_scopes({}, Counter())[0].license == NOASSERTION


APACHE_NOTICE = """Copyright 2019 The Acme Authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
"""

GPL3_LATER = """This program is free software: you can redistribute it and/or modify
it under the terms of the GNU General Public License as published by
the Free Software Foundation, either version 3 of the License, or
(at your option) any later version.
"""


def test_ingest_git_licence_notice_only_licence_file():
    m = match_text(APACHE_NOTICE)
    assert (m.expression, m.matcher) == ("Apache-2.0", "notice")
    assert detect_scopes({"LICENSE": APACHE_NOTICE}, Counter())[0].license == "Apache-2.0"


def test_ingest_git_licence_reuse_licenses_folder():
    scopes = detect_scopes({"LICENSES/MIT.txt": spdx_text("MIT"), "LICENSES/Apache-2.0.txt": spdx_text("Apache-2.0")},
                           Counter())
    assert (scopes[0].license, scopes[0].matcher) == ("Apache-2.0 AND MIT", "reuse")
    # the file name is the claim, but its text must not say otherwise
    liar = detect_scopes({"LICENSES/MIT.txt": spdx_text("GPL-3.0-only")}, Counter())[0]
    assert liar.license == NOASSERTION


def test_ingest_git_licence_readme_section_and_manifest():
    readme = ("# tool\n\nDoes things.\n\n## Installation\n\ngo get it. Apache is a web server.\n\n"
              "## License\n\nThis project is licensed under the MIT License - see the LICENSE.md file for details.\n\n"
              "## Authors\n\nJane, who likes the GPL.\n")
    root = detect_scopes({}, Counter(), readmes={"README.md": readme})[0]
    assert (root.license, root.matcher) == ("MIT", "readme")
    manifest = detect_scopes({}, Counter(), manifests={"package.json": '{"name": "x", "license": "(ISC OR MIT)"}'})[0]
    assert (manifest.license, manifest.matcher) == ("ISC OR MIT", "manifest")
    assert detect_scopes({}, Counter(), manifests={"package.json": '{"license": "SEE LICENSE IN x"}'})[0].license \
        == NOASSERTION


def test_ingest_git_licence_two_licence_files_are_both():
    root = detect_scopes({"LICENSE": spdx_text("Apache-2.0"), "COPYING": spdx_text("GPL-3.0-only")}, Counter())[0]
    assert root.license == "Apache-2.0 AND GPL-3.0-only" and root.evidence == "COPYING, LICENSE"


def test_ingest_git_licence_dual_licences():
    readme = "# x\n\n## License\n\nLicensed under either of Apache License, Version 2.0 or MIT license at your option.\n"
    files = {"LICENSE-APACHE": spdx_text("Apache-2.0"), "LICENSE-MIT": spdx_text("MIT")}
    assert detect_scopes(files, Counter(), readmes={"README.md": readme})[0].license == "Apache-2.0 OR MIT"
    assert detect_scopes(files, Counter())[0].license == "Apache-2.0 AND MIT"  # no choice offered: both apply
    one_file = ("This software is dual-licensed: you may use it under either of the two licences below, "
                "at your option.\n\n" + spdx_text("MIT") + "\n\n" + spdx_text("GPL-3.0-only"))
    assert match_text(one_file).expression == "GPL-3.0-only OR MIT"


def test_ingest_git_licence_exception_and_or_later():
    exception = spdx_text("LGPL-3.0-linking-exception")
    m = match_text(exception + "\n\n" + spdx_text("LGPL-3.0-only"))
    assert m.expression == "LGPL-3.0-only WITH LGPL-3.0-linking-exception"
    assert match_text(GPL3_LATER + "\n\n" + spdx_text("GPL-3.0-only")).expression == "GPL-3.0-or-later"
    # the grant in the files' headers, the full text in COPYING
    assert detect_scopes({"COPYING": spdx_text("GPL-3.0-only")}, Counter(), later_notices=12, gnu_notices=12)[0] \
        .license == "GPL-3.0-or-later"
    # one imported file's "or later" header among ten GNU headers does not widen the grant
    assert detect_scopes({"COPYING": spdx_text("GPL-3.0-only")}, Counter(), later_notices=1, gnu_notices=10)[0] \
        .license == "GPL-3.0-only"
    assert detect_scopes({"COPYING": spdx_text("GPL-3.0-only")}, Counter({"GPL-3.0-or-later": 3}))[0].license \
        == "GPL-3.0-or-later"
    assert detect_scopes({"COPYING": spdx_text("GPL-3.0-only")}, Counter())[0].license == "GPL-3.0-only"


def test_ingest_git_licence_subtree_under_another_licence_is_its_own_scope():
    scopes = detect_scopes({"LICENSE": spdx_text("MIT"), "ee/LICENSE": spdx_text("SSPL-1.0"),
                            "docs/LICENSE.md": mutate(spdx_text("MIT"), random.Random(1))}, Counter())
    got = {s.prefix: (s.license, s.nearest) for s in scopes}
    assert got == {"": ("MIT", None), "ee/": ("SSPL-1.0", None), "docs/": (NOASSERTION, "MIT")}


def test_ingest_git_licence_spdx_header_needs_a_known_id():
    assert detect_scopes({}, Counter({"Apache-2.0 OR MIT": 3}))[0].license == "Apache-2.0 OR MIT"
    assert detect_scopes({}, Counter({"Not-A-Licence": 9}))[0].license == NOASSERTION


def test_ingest_git_licence_sampled_spdx_texts_canonical_and_mutated():
    """Every 25th SPDX licence text (bench/licence_sweep.py runs them all): itself, and its quarter-mutated
    copy NOASSERTION."""
    keys = _keys()
    texts = [(m["spdx_license_key"], b) for k, (m, b) in _licence_files()
             if k in keys and not keys[k][1] and b.strip()][::25]
    assert len(texts) >= 20
    wrong = [(s, got) for s, b in texts if (got := match_text(b).expression) != s]
    claimed = [(s, got) for s, b in texts
               if (got := match_text(mutate(b, random.Random(s))).expression) != NOASSERTION]
    assert not wrong and not claimed, (wrong, claimed)
