"""`repo-llm STAGE ...` is the same command as the stage's own `python -m` CLI."""
from __future__ import annotations

import argparse
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


# Commands that turn one file into another and open no lake: they take --quiet alone.
NO_LAKE = {"python -m exporters gguf", "python -m exporters merge-lora"}
SHARED = ("--lake", "--data-path", "--quiet")


def _commands(parser: argparse.ArgumentParser, skip=()) -> dict[str, argparse.ArgumentParser]:
    """prog -> parser of every command a parser leads to (its subcommands' subcommands, ...; an alias once)."""
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subs:
        return {parser.prog: parser}
    found = {}
    for name, sub in subs[0].choices.items():
        if name not in skip:
            found.update(_commands(sub))
    return found


def stage_commands() -> dict[str, argparse.ArgumentParser]:
    """Every argparse command behind `repo-llm`, read from the table of stages (train is a LightningCLI)."""
    from repo_llm.cli import STAGES as TABLE
    found = {}
    for stage, (module_name, _) in TABLE.items():
        if stage == "train":
            continue
        module = importlib.import_module(module_name)
        if hasattr(module, "COMMANDS"):  # a dispatcher: each subcommand's module builds its own parser
            for command, sub in module.COMMANDS.items():
                found.update(_commands(importlib.import_module(sub).parser(command)))
        else:  # lake's `index` and `search` are the search stage's, handed over unparsed
            found.update(_commands(module.parser(), skip=getattr(module, "DELEGATED", ())))
    return found


def _options(parser: argparse.ArgumentParser) -> set[str]:
    return {s for a in parser._actions for s in a.option_strings}


def test_every_command_takes_the_shared_lake_options():
    commands = stage_commands()
    assert len(commands) >= 20 and "python -m evaluation run" in commands and "python -m ingest github fetch" in commands
    missing = {prog: [o for o in SHARED if o not in _options(p)] for prog, p in commands.items()}
    assert {prog: m for prog, m in missing.items() if m and prog not in NO_LAKE} == {}
    assert {prog for prog, m in missing.items() if m} == NO_LAKE  # and nothing else goes without a lake
    assert all("--quiet" in _options(commands[prog]) for prog in NO_LAKE)


def test_the_shared_options_are_one_definition():
    """Each option's help text is the same everywhere it is added by lake/options.py (never redefined by hand)."""
    from lake.options import DATA_PATH_HELP, QUIET_HELP
    helps = {(o, a.help) for p in stage_commands().values() for a in p._actions for o in a.option_strings
             if o in ("--data-path", "--quiet")}
    assert helps == {("--data-path", DATA_PATH_HELP), ("--quiet", QUIET_HELP)}


@pytest.mark.slow
def test_train_takes_the_shared_lake_options():
    result = _run(sys.executable, "-m", "trainers.fit", "--help")
    assert result.returncode == 0, result.stderr
    assert all(re.search(rf"^\s+{o}\b", result.stdout, re.M) for o in SHARED), result.stdout[-2000:]
