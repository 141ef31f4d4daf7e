"""`repo-llm STAGE ...` is the same command as the stage's own `python -m` CLI."""
from __future__ import annotations

import importlib
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
STAGES = ["lake", "ingest", "transforms", "train", "eval", "export", "search"]


def _run(*argv: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(list(argv), cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


def test_help_lists_every_stage():
    result = _run(sys.executable, "-m", "repo_llm", "--help")
    assert result.returncode == 0, result.stderr
    listed = [m.group(1) for m in (re.match(r" {4}(\S+)", line) for line in result.stdout.splitlines()) if m]
    assert listed == STAGES


def test_a_stage_answers_as_its_own_cli(tmp_path):
    """A lake made by `repo-llm lake init` is described by `python -m lake` exactly as by `repo-llm lake`."""
    lake = str(tmp_path / "lake")
    made = _run(sys.executable, "-m", "repo_llm", "lake", "init", "--lake", lake)
    assert made.returncode == 0 and (tmp_path / "lake" / "catalog.sqlite").exists(), made.stderr
    ours = _run(sys.executable, "-m", "repo_llm", "lake", "tables", "--lake", lake, "--format", "csv")
    theirs = _run(sys.executable, "-m", "lake", "tables", "--lake", lake, "--format", "csv")
    assert ours.returncode == theirs.returncode == 0, ours.stderr + theirs.stderr
    assert ours.stdout == theirs.stdout and "runs" in ours.stdout


def test_a_stage_gets_its_own_help():
    result = _run(sys.executable, "-m", "repo_llm", "ingest", "git", "--help")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: python -m ingest git")


def test_unknown_stage_exits_2_naming_it():
    result = _run(sys.executable, "-m", "repo_llm", "fine-tune")
    assert result.returncode == 2
    assert "fine-tune" in result.stderr.splitlines()[-1] and "Traceback" not in result.stderr


def test_console_script_when_installed():
    script = Path(sys.executable).parent / "repo-llm"
    if not script.exists():
        pytest.skip("repo-llm console script not installed in this venv (pip install -e . installs it)")
    result = _run(str(script), "--help")
    assert result.returncode == 0 and all(stage in result.stdout for stage in STAGES), result.stderr


def test_console_script_declared_in_pyproject_is_the_cli(capsys):
    """What `pip install` will turn into the repo-llm command names a function that exists and lists the stages."""
    target = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]["repo-llm"]
    module, _, function = target.partition(":")
    main = getattr(importlib.import_module(module), function)
    with pytest.raises(SystemExit) as e:
        main(["--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    assert all(f"    {stage}" in out for stage in STAGES)
