"""Path-scoped licences end to end: ingest.git writes license_scopes, transforms gives every file its scope's
licence (a subtree under a licence that is not allowed never becomes a sample), and the audit decides
SPDX expressions (AND needs every licence allowed, OR one of them)."""
from __future__ import annotations

import pytest

from ingest.git import ingest_repo
from lake import Lake
from tests.helpers.gitrepos import build_repo, commit
from tests.helpers.licence_texts import spdx_text
from transforms.cli import main as cli
from transforms.pipeline import run

pytestmark = pytest.mark.slow  # a whole ingest + transforms run (about a minute on a loaded 2-core machine)

GO = "// Package {p} does {p} things for the tests of repo-llm, with enough words to be kept.\npackage {p}\n\n" \
     "// Answer returns the answer to the question the {p} package was asked.\nfunc Answer() int {{\n\treturn 42\n}}\n"
GPL_HEADER = "// SPDX-License-Identifier: GPL-2.0-only\n\n"


@pytest.fixture(scope="module")
def scoped(tmp_path_factory):
    root = tmp_path_factory.mktemp("scoped")
    repo = build_repo(root / "opencore", {
        "LICENSE": "Copyright (c) 2024 Acme\n\n" + spdx_text("MIT"),
        "core/core.go": GO.format(p="core"),
        "ee/LICENSE": spdx_text("SSPL-1.0"),
        "ee/paid.go": GO.format(p="paid"),
        # vendored code under another licence: never decides anything, never a scope
        "vendor/example.com/gpl/LICENSE": spdx_text("GPL-2.0-only"),
        **{f"vendor/example.com/gpl/v{i}.go": GPL_HEADER + GO.format(p=f"v{i}") for i in range(5)},
    })
    commit(repo, {"ee/paid.go": GO.format(p="paid") + "\n// Question asks the paid package a question.\nfunc Question() {}\n"},
           "ee: add the question helper to the paid package")
    commit(repo, {"core/core.go": GO.format(p="core") + "\n// Question asks the core package a question.\nfunc Question() {}\n"},
           "core: add the question helper to the core package")
    headers = build_repo(root / "headers", {
        "own.go": "// SPDX-License-Identifier: Apache-2.0\n\n" + GO.format(p="own"),
        **{f"third_party/gpl/g{i}.go": GPL_HEADER + GO.format(p=f"g{i}") for i in range(5)},
    })
    notice = ("// This program is free software; you can redistribute it and/or modify it under the terms of the\n"
              "// GNU General Public License as published by the Free Software Foundation; either version 2 of\n"
              "// the License, or (at your option) any later version.\n\n")
    gnu = build_repo(root / "gnu", {"COPYING": spdx_text("GPL-2.0-only"),
                                    **{f"g{i}.go": notice + GO.format(p=f"g{i}") for i in range(3)}})
    with Lake(root / "lake") as lake:
        ingest_repo(lake, gnu.path, name="acme/gnu", progress=False)
        ingest_repo(lake, repo.path, name="acme/opencore", progress=False)
        ingest_repo(lake, headers.path, name="acme/headers", progress=False)
        run(lake)
        yield lake


def test_licence_scopes_are_recorded_with_their_evidence(scoped):
    rows = scoped.query("SELECT repo_id, prefix, license, terms, evidence, matcher FROM license_scopes "
                        "ORDER BY repo_id, prefix").to_pylist()
    got = {(r["repo_id"], r["prefix"]): (r["license"], r["evidence"], r["matcher"]) for r in rows}
    assert got == {
        ("acme/gnu", ""): ("GPL-2.0-or-later", "COPYING", "text+or-later"),  # the files' headers grant it
        ("acme/headers", ""): ("Apache-2.0", "SPDX-License-Identifier (1 files)", "spdx-header"),
        ("acme/opencore", ""): ("MIT", "LICENSE", "text"),
        ("acme/opencore", "ee/"): ("SSPL-1.0", "ee/LICENSE", "text"),
    }
    assert scoped.query("SELECT license FROM repos WHERE repo_id = 'acme/opencore'").to_pylist() == [{"license": "MIT"}]


def test_files_carry_their_path_scope_licence_into_samples(scoped):
    drops = {r["path"]: r["drop_rule"] for r in scoped.query(
        "SELECT path, drop_rule FROM clean_files WHERE repo_id = 'acme/opencore'").to_pylist()}
    assert drops["ee/paid.go"] == "license" and drops["core/core.go"] is None
    samples = {r["path"]: r["license"] for r in scoped.query(
        "SELECT path, license FROM samples WHERE path IS NOT NULL").to_pylist()}
    assert samples["core/core.go"] == "MIT" and samples["own.go"] == "Apache-2.0"
    assert not [p for p in samples if p.startswith(("ee/", "vendor/", "third_party/"))]


def test_commits_touching_a_scope_that_is_not_allowed_are_dropped(scoped):
    rules = {r["subject"]: r["drop_rule"] for r in scoped.query(
        "SELECT subject, drop_rule FROM commit_filter WHERE repo_id = 'acme/opencore'").to_pylist()}
    assert rules["ee: add the question helper to the paid package"] == "license"
    assert rules["core: add the question helper to the core package"] is None


def test_audit_decides_and_or_expressions(scoped, capsys):
    assert cli(["audit", "--lake", str(scoped.root)]) == 0
    good = scoped.query("SELECT * FROM samples WHERE path = 'core/core.go'").to_pylist()[0]
    scoped.write("samples", [dict(good, sample_id="both", license="MIT AND SSPL-1.0"),
                             dict(good, sample_id="either", license="MIT OR SSPL-1.0"),
                             dict(good, sample_id="modified", license="NOASSERTION")], mode="append")
    try:
        assert cli(["audit", "--lake", str(scoped.root)]) == 1
        out = capsys.readouterr().out
        assert "disallowed licence: samples both (acme/opencore, MIT AND SSPL-1.0)" in out
        assert "disallowed licence: samples modified (acme/opencore, NOASSERTION)" in out
        assert "samples either" not in out
    finally:
        scoped.con.execute("DELETE FROM samples WHERE sample_id IN ('both', 'either', 'modified')")
