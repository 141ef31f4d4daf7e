"""Test files import shared code from tests/helpers or get it as a conftest fixture, never from another test file:
importing a test module runs its module-level setup and re-registers its tests' fixtures elsewhere."""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{a.name}" for a in node.names)
    return names


def test_no_test_file_or_bench_imports_a_test_file():
    offenders = []
    for path in sorted([*(ROOT / "tests").rglob("*.py"), *(ROOT / "bench").rglob("*.py")]):
        for name in imported_modules(path):
            if name.startswith("tests.") and name.rpartition(".")[2].startswith("test_"):
                offenders.append(f"{path.relative_to(ROOT)} imports {name}")
    assert not offenders, "\n".join(offenders)


def test_the_layout_check_sees_an_import_of_a_test_file(tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text("from tests.transforms.test_pipeline import go_source\nimport tests.helpers.gitrepos\n")
    assert "tests.transforms.test_pipeline" in imported_modules(probe)
    assert "tests.transforms.test_pipeline.go_source" in imported_modules(probe)


# tests/<package>/ mirrors the packages; evaluation/ is the evaluation stage's (trainers/eval until it moves).
TEST_FOLDERS = {"lake", "ingest", "transforms", "trainers", "evaluation", "exporters", "search", "cross_package"}


def test_test_files_live_in_the_folder_of_their_package_and_helpers_hold_none():
    tests = ROOT / "tests"
    assert {p.name for p in tests.glob("*.py")} <= {"__init__.py", "conftest.py"}
    for path in tests.rglob("test_*.py"):
        top = path.relative_to(tests).parts[0]
        assert top in TEST_FOLDERS, path.relative_to(ROOT)
    assert not list((tests / "helpers").rglob("test_*.py"))
