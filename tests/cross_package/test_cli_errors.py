"""Every package's CLI turns bad input into exit code 2 and one line on stderr, never a traceback.

Each case is a real bad input (a missing lake, an unknown table, a worker spec out of range, a
checkpoint that is not there) run through the real `python -m` entry point in a subprocess.
"""
from __future__ import annotations

import ast
import builtins
import importlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from lake import Lake
from lake.catalog import table
from lake.edge import run_cli
from lake.errors import RepoLLMError

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("lake", "artifacts", "ingest", "transforms", "trainers", "evaluation", "exporters", "search", "repo_llm")


def _cli(*args: str, lake_dir: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "REPO_LLM_LAKE": str(lake_dir), "GITHUB_TOKEN": "",
           "GITHUB_TOKENS": ""}
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300)


# (entry point and arguments, the words the one line must name); {missing} is a folder that does not exist.
BAD_INPUTS = [
    (["lake", "describe", "no_such_table"], "no_such_table"),
    (["lake", "sql", "SELECT 1", "--snapshot", "3", "--lake", "{missing}"], "no lake at"),
    (["ingest", "git", "--worker", "3/2", "{missing}"], "3/2"),
    (["ingest", "github", "fetch", "acme/widget"], "GITHUB_TOKEN"),
    (["search", "query", "a nil map", "--lake", "{missing}"], "no lake at"),
    (["lake", "search", "a nil map", "--lake", "{missing}"], "no lake at"),
    (["repo_llm", "transforms", "run", "--lake", "{missing}"], "no lake at"),
    (["transforms", "run", "--lake", "{missing}"], "no lake at"),
    (["transforms", "pack", "--seq-len", "0", "--lake", "{missing}"], "seq_len"),
    (["transforms", "pack", "--tokenizer", "spm-x", "--print-id"], "--print-id needs --tokenizer hf:DIR"),
    (["transforms", "pack", "--tokenizer", "hf:{missing}", "--print-id"], "no tokenizer.json"),
    (["exporters", "onnx", "--ckpt", "x.ckpt"], "'onnx'"),
    (["repo_llm", "ingest"], "usage: python -m ingest {git,goroot,github}"),
    # these two import torch and transformers first: seconds each, so marked slow
    pytest.param(["exporters", "hf", "--ckpt", "{missing}/last.ckpt", "--out", "{missing}/hf"], "last.ckpt",
                 marks=pytest.mark.slow),
    pytest.param(["evaluation", "export-review", "{missing}/review.csv", "--run", "no-such-run"],
                 "no-such-run", marks=pytest.mark.slow),
]


@pytest.mark.parametrize("argv,named", BAD_INPUTS, ids=[" ".join((c.values[0] if hasattr(c, "values") else c[0])[:3]) for c in BAD_INPUTS])
def test_bad_input_exits_2_with_one_line(tmp_path, argv, named):
    missing = tmp_path / "not-there"
    result = _cli(*[a.replace("{missing}", str(missing)) for a in argv], lake_dir=tmp_path / "lake")
    lines = result.stderr.splitlines()
    assert result.returncode == 2, result.stderr
    assert len(lines) == 1, result.stderr
    assert named in lines[0] and "Traceback" not in result.stderr


@pytest.mark.slow
def test_train_bad_lake_exits_2_naming_it(tmp_path):
    missing = tmp_path / "not-there"
    result = _cli("trainers.fit", "--config", "trainers/configs/tiny-cpu.yaml", "--data.lake", str(missing),
                  lake_dir=missing)
    ours = [line for line in result.stderr.splitlines() if not line.startswith("Seed set to")]  # Lightning's info
    assert result.returncode == 2, result.stderr
    assert ours == [ours[0]] and ours[0].startswith("trainers.fit: ") and str(missing) in ours[0], result.stderr


def _exception_classes() -> list[tuple[str, str]]:
    """(module, class) of every exception class defined in our packages, found in the source: a class whose
    base is a builtin exception or, transitively, one of ours (so a new error type anywhere is found)."""
    defined = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            module = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.ClassDef):
                    bases = {b.attr if isinstance(b, ast.Attribute) else getattr(b, "id", "") for b in node.bases}
                    defined.append((module, node.name, bases))
    errors = {n for n in dir(builtins) if isinstance(getattr(builtins, n), type)
              and issubclass(getattr(builtins, n), BaseException)}
    found: set[tuple[str, str]] = set()
    while True:
        more = {(m, name) for m, name, bases in defined if bases & errors} - found
        if not more:
            return sorted(found)
        found |= more
        errors |= {name for _, name in more}


def test_every_package_error_is_a_repo_llm_error():
    classes = [getattr(importlib.import_module(m), name) for m, name in _exception_classes()]
    assert len(classes) >= 16  # RepoLLMError and the 15 error types there were when it arrived
    assert [f"{c.__module__}.{c.__name__}" for c in classes if not issubclass(c, RepoLLMError)] == []


def test_edge_prints_an_escaped_error_once_with_its_program(tmp_path, capsys):
    def main(argv):
        with Lake(tmp_path / "nowhere", create=False):
            return 0

    assert run_cli("lake", main, []) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith("lake: no lake at ") and "nowhere" in err[0]


def test_edge_finds_an_error_wrapped_by_a_library_and_lets_others_through(tmp_path, capsys):
    def wrapped(argv):
        try:
            table("no_such_table")
        except KeyError as e:
            raise RuntimeError("instantiation failed") from e  # as jsonargparse wraps a class's error

    assert run_cli("trainers.fit", wrapped, []) == 2
    assert capsys.readouterr().err.startswith("trainers.fit: unknown table 'no_such_table'")
    with pytest.raises(ZeroDivisionError):
        run_cli("lake", lambda argv: 1 // 0, [])
