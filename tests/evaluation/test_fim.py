"""The fill-in-the-middle suite's items and sandbox, without a model: real Go files, the real Go toolchain."""
from __future__ import annotations

import pytest

from tests.helpers.held_out import HELD
from evaluation import fim, gobuild
from evaluation.gotasks import CodeTask, mine
from artifacts.grammar import render_file


def all_tasks(lake, path: str, tmp_path) -> list[CodeTask]:
    """Every function with a body in the file (the code suite keeps one per file; here all of them)."""
    content = lake.query("SELECT content FROM files WHERE path = ?", [path]).column(0)[0].as_py()
    return [CodeTask(f"t{i}", HELD, path, content, rec["name"], rec["lbrace"], rec["rbrace"], rec["doc_start"])
            for i, (_, rec) in enumerate(mine([{"repo_id": HELD, "path": path, "content": content}], tmp_path / "bin"))]


def body_lines(task: CodeTask) -> list[str]:
    """The lines strictly between the line of `{` and the line of `}`, by line number."""
    lines = task.content.split("\n")
    first = task.raw[: task.lbrace].count(b"\n")
    last = task.raw[: task.rbrace].count(b"\n")
    return lines[first + 1:last]


@pytest.mark.parametrize("path", ["list/list.go", "container/ring/ring.go"])
def test_fim_middles_are_whole_lines_of_the_body_and_put_back_give_the_file(held_lake, tmp_path, path):
    tasks = all_tasks(held_lake, path, tmp_path)
    assert len(tasks) > 5
    kinds = {fim.SINGLE: 0, fim.MULTI: 0}
    for task in tasks:
        lines = body_lines(task)
        items = fim.fim_tasks(task)
        if not any(line.strip() for line in lines):
            assert items == []  # `func f() { return x }`: no whole line to take out
            continue
        for f in items:
            kinds[f.kind] += 1
            assert f.prefix == render_file(HELD, path, f.prefix.split(">\n", 1)[1])
            assert f.prefix.split(">\n", 1)[1] + f.reference + f.suffix == task.content
            assert f.with_middle(f.reference) == task.content
            if f.kind == fim.SINGLE:
                assert "\n" not in f.reference and f.reference.strip() and f.reference in lines
                assert f.suffix.startswith("\n")
            else:
                assert f.reference == "\n".join(lines) + "\n"
                assert f.suffix.lstrip(" \t").startswith("}")
        assert [f.kind for f in items] == ([fim.SINGLE, fim.MULTI] if sum(bool(x.strip()) for x in lines) >= 2
                                           else [fim.SINGLE])
    assert kinds[fim.SINGLE] and kinds[fim.MULTI]
    assert len({f.item_id for t in tasks for f in fim.fim_tasks(t)}) == sum(kinds.values())  # no two items collide


def test_fim_build_check_passes_the_original_middle_and_fails_a_broken_one(held_lake, tmp_path):
    task = next(t for t in all_tasks(held_lake, "list/list.go", tmp_path) if len(fim.fim_tasks(t)) == 2)
    single, multi = fim.fim_tasks(task)
    site = gobuild.locate(held_lake, task, tmp_path)
    try:
        for f in (single, multi):
            assert gobuild.check(site, f.with_middle(f.reference), tmp_path, 120, run_vet=False).compiles
        broken = gobuild.check(site, single.with_middle("\treturn undefinedThing +"), tmp_path, 120, run_vet=False)
        assert not broken.compiles and broken.error
        # the model's multi-line middle that forgot a closing brace breaks the file as a whole
        unbalanced = gobuild.check(site, multi.with_middle("\tif true {\n"), tmp_path, 120, run_vet=False)
        assert not unbalanced.compiles
    finally:
        site.close()


def test_fim_summary_rates_each_kind_over_its_own_items():
    from evaluation.results import ItemOutcome
    items = []
    for kind, exact, sim, builds in [(fim.SINGLE, True, 1.0, True), (fim.SINGLE, False, 0.5, True),
                                     (fim.MULTI, False, 0.25, False)]:
        items.append(ItemOutcome("i", "fim", kind, HELD, "x", "p", "r",
                                 scores={"exact_match": exact, "edit_similarity": sim, "compiles": builds}))
    got = {(m.metric, m.category): (m.value, m.n) for m in fim.summarize(items)}
    assert got[("exact_match", fim.SINGLE)] == (0.5, 2) and got[("edit_similarity", fim.SINGLE)] == (0.75, 2)
    assert got[("compile_rate", fim.MULTI)] == (0.0, 1) and got[("compile_rate", fim.SINGLE)] == (1.0, 2)
