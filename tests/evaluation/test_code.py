"""The code suite's sandbox and the decontamination index, without a model: real Go files, the real Go
toolchain (offline), a real lake."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers.go_corpus import goroot
from tests.helpers.held_out import HELD
from evaluation import gobuild
from evaluation.decontamination import find_contaminated
from evaluation.gotasks import close_body, select_tasks
from evaluation.lm import windows

def tasks_of(lake, path: str, tmp_path: Path):
    content = lake.query("SELECT content FROM files WHERE path = ?", [path]).column(0)[0].as_py()
    return list(select_tasks([{"repo_id": HELD, "path": path, "content": content}], tmp_path / "bin", 1, 40))


@pytest.mark.parametrize("path, site_kind", [("list/list.go", "materialised"), ("container/ring/ring.go", "goroot")])
def test_code_check_a_broken_body_fails_and_the_original_passes(held_lake, tmp_path, path, site_kind):
    task = tasks_of(held_lake, path, tmp_path)[0]
    site = gobuild.locate(held_lake, task, tmp_path)
    try:
        assert site.kind == site_kind
        good = gobuild.check(site, task.with_body(task.reference), tmp_path, 120)
        assert good.compiles and good.vet, good.error
        broken = gobuild.check(site, task.with_body("\n\treturn undefinedThing +\n}"), tmp_path, 120)
        assert not broken.compiles and broken.error
        typed = gobuild.check(site, task.with_body('\n\tvar s string = 1\n\t_ = s\n\tpanic("x")\n}'), tmp_path, 120)
        assert not typed.compiles and "string" in typed.error
    finally:
        site.close()
    assert not any(goroot().joinpath("src/container/ring").glob("*.json"))  # the overlay never writes into GOROOT


def test_code_vet_fails_a_body_that_compiles_but_misuses_printf(held_lake, tmp_path):
    task = tasks_of(held_lake, "list/list.go", tmp_path)[0]
    site = gobuild.locate(held_lake, task, tmp_path)
    try:  # panic ends any function, whatever it returns; %d of a string is what vet's printf check catches
        content = task.with_body('\n\tpanic(fmt.Sprintf("%d", "x"))\n}')
        content = content.replace("package list\n", 'package list\n\nimport "fmt"\n', 1)
        result = gobuild.check(site, content, tmp_path, 120)
        assert result.compiles and result.vet is False
    finally:
        site.close()


def test_code_tasks_show_doc_and_signature_and_hide_the_body(held_lake, tmp_path):
    tasks = tasks_of(held_lake, "list/list.go", tmp_path)
    assert len(tasks) == 1  # one task per file
    t = tasks[0]
    assert t.prompt.startswith("<FILE path=list/list.go>\n") and t.prompt.rstrip().endswith("{")
    assert t.reference.rstrip().endswith("}") and t.reference not in t.prompt[-len(t.reference):]
    assert t.probe.startswith("//") and t.with_body(t.reference) == t.content


def test_code_close_body_ignores_braces_in_strings_runes_and_comments():
    assert close_body('\n\ts := "}"\n\tr := \'}\'\n\t// }\n\t/* } */\n\treturn `}`\n}\nfunc next() {') == \
        '\n\ts := "}"\n\tr := \'}\'\n\t// }\n\t/* } */\n\treturn `}`\n}'
    assert close_body("\n\tif x {\n\t\treturn\n\t}\n}") == "\n\tif x {\n\t\treturn\n\t}\n}"
    assert close_body("\n\tif x {\n\t\treturn\n") is None


def test_decontamination_flags_a_copied_item_and_not_shared_boilerplate():
    header = "// Copyright 2009 The Go Authors. All rights reserved.\n// Use of this source code is governed by a BSD-style\n"
    train = [header + "package a\n\nfunc Reverse(s string) string {\n\tr := []rune(s)\n\tfor i, j := 0, len(r)-1; i < j; i, j = i+1, j-1 {\n\t\tr[i], r[j] = r[j], r[i]\n\t}\n\treturn string(r)\n}\n"]
    probes = {"copied": train[0],
              "fresh": header + "package b\n\n// Sum adds the numbers of a slice, an empty one giving zero.\n"
                                "func Sum(xs []int) (total int) {\n\tfor _, x := range xs {\n\t\ttotal += x\n\t}\n\treturn total\n}\n",
              "short": "fix typo"}
    overlaps, dirty = find_contaminated(probes, iter(train), n=8, threshold=0.5)
    assert dirty == {"copied"}
    assert overlaps["copied"].fraction == 1.0
    assert 0 < overlaps["fresh"].fraction < 0.5  # the licence header is shared, and that is not contamination
    assert overlaps["short"].ngrams == 0


@pytest.mark.parametrize("n, ctx, overlap", [(2, 8, 2), (50, 8, 2), (1000, 128, 64), (129, 128, 32)])
def test_lm_windows_score_every_token_once_with_context(n, ctx, overlap):
    scored = []
    for start, end, first in windows(n, ctx, overlap):
        assert end - start <= ctx and start < first < end
        assert first == 1 or first - start - 1 >= min(overlap, ctx // 4)
        scored += range(first, end)
    assert scored == list(range(1, n))
