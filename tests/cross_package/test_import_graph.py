"""Our own imports form no cycle and no arrow against the data flow.

The graph is read from the source with `ast` (never by importing it), so an import inside a function counts
as much as one at the top of a module: it still ties the two modules together.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# Which packages each package may import (besides itself): data flows ingest -> lake; transforms -> lake and
# artifacts (shards, tokenizers, the grammar); trainers, exporters, evaluation -> lake and artifacts; search ->
# lake and artifacts; artifacts (what passes between the stages) -> lake only; the lake imports nothing of ours.
# repo_llm is the command in front of all of them. A package missing here fails test_every_package_is_placed.
MAY_IMPORT = {
    "lake": set(),
    "artifacts": {"lake"},
    "ingest": {"lake"},
    "transforms": {"lake", "artifacts"},
    "trainers": {"lake", "artifacts"},
    "exporters": {"lake", "artifacts"},
    "evaluation": {"lake", "artifacts"},
    "search": {"lake", "artifacts"},
    "sql": set(),
    "repo_llm": {"lake", "artifacts", "ingest", "transforms", "trainers", "exporters", "evaluation", "search"},
}
NOT_CODE = {"tests", "bench"}  # they may import anything; nothing imports them


def packages(root: Path) -> list[str]:
    """Every top-level package of the repository (a folder with an __init__.py), tests and benches aside."""
    return sorted(p.parent.name for p in root.glob("*/__init__.py") if p.parent.name not in NOT_CODE)


def modules(root: Path, packages) -> dict[str, Path]:
    """Dotted module name -> file, for every .py file of `packages` under `root` (a package is its __init__)."""
    found = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def _edges(name: str, path: Path, found: dict[str, Path]):
    """(imported module of `found`, the import node, whether it sits inside a function) for each import of ours."""
    def ours(dotted: str) -> str | None:
        while dotted and dotted not in found:
            dotted = dotted.rpartition(".")[0]
        return dotted or None

    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    in_function = {id(n) for f in ast.walk(tree) if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
                   for n in ast.walk(f)}
    for node in ast.walk(tree):
        targets = []
        if isinstance(node, ast.Import):
            targets = [ours(a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from . import x, from ..y import z
                anchor = package
                for _ in range(node.level - 1):
                    anchor = anchor.rpartition(".")[0]
                base = f"{anchor}.{base}" if base else anchor
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in found else ours(base) for a in node.names]
        for t in targets:
            if t and t != name:
                yield t, node, id(node) in in_function


def import_graph(found: dict[str, Path]) -> dict[str, set[str]]:
    """Module -> the modules of `found` it imports, anywhere in its body; `from a import b` means a.b when
    a.b is a module, else a. An import of something not ours is not an edge."""
    return {name: {t for t, _, _ in _edges(name, path, found)} for name, path in found.items()}


def imports_in_functions(found: dict[str, Path]) -> list[str]:
    """`module:line imported` for every import of our own modules inside a function (they belong at the top)."""
    return sorted({f"{name}:{node.lineno} {t}"
                   for name, path in found.items() for t, node, inside in _edges(name, path, found) if inside})


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every set of modules that import each other in a circle (strongly connected components > 1), sorted."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(v: str) -> None:  # Tarjan; the graph is a few hundred modules, recursion is fine
        index[v] = low[v] = len(index)
        stack.append(v), on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return sorted(found)


def back_arrows(graph: dict[str, set[str]], may_import: dict[str, set[str]]) -> list[str]:
    return sorted(f"{m} -> {t}" for m, ts in graph.items() for t in ts
                  if t.split(".")[0] != m.split(".")[0] and t.split(".")[0] not in may_import[m.split(".")[0]])


@pytest.fixture(scope="module")
def found():
    return modules(ROOT, packages(ROOT))


@pytest.fixture(scope="module")
def graph(found):
    return import_graph(found)


def test_every_package_is_placed_in_the_flow():
    assert [p for p in packages(ROOT) if p not in MAY_IMPORT] == []
    assert {"lake", "artifacts", "ingest", "transforms", "trainers", "exporters"} <= set(packages(ROOT))


def test_no_arrow_against_the_data_flow(graph):
    assert back_arrows(graph, MAY_IMPORT) == []


def test_no_import_cycles(graph):
    assert cycles(graph) == []


def test_our_imports_are_at_the_top_of_each_module(found):
    assert imports_in_functions(found) == []


def test_the_checker_sees_cycles_and_back_arrows_it_was_not_told_about(tmp_path):
    """A small tree written here: a cycle through an in-function and a relative import, a back arrow
    hidden in a function, and imports that are not edges (a library, a name that is not a module)."""
    files = {
        "lake/__init__.py": "",
        "lake/store.py": "import json\n\ndef f():\n    from ingest.reader import read\n",
        "ingest/__init__.py": "from lake import store\n",
        "ingest/reader.py": "from . import parse\nfrom lake.store import f\n",
        "ingest/parse.py": "def g():\n    import ingest.reader\n",
        "transforms/__init__.py": "from ingest import reader\n",
        "tests/__init__.py": "",
    }
    for rel, text in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    assert packages(tmp_path) == ["ingest", "lake", "transforms"]
    found = modules(tmp_path, packages(tmp_path))
    g = import_graph(found)
    assert g["lake.store"] == {"ingest.reader"} and g["ingest"] == {"lake.store"}
    # reader -> parse -> reader (relative, then in-function), and reader -> lake.store -> reader (in-function)
    assert cycles(g) == [["ingest.parse", "ingest.reader", "lake.store"]]
    assert back_arrows(g, {"lake": set(), "ingest": {"lake"}, "transforms": {"lake"}}) == [
        "lake.store -> ingest.reader", "transforms -> ingest.reader"]
    assert imports_in_functions(found) == ["ingest.parse:2 ingest.reader", "lake.store:4 ingest.reader"]
