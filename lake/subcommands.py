"""`python -m PACKAGE SUBCOMMAND ...`: route a subcommand to the module that implements it.

Each stage keeps one CLI module per family of subcommands; the module's `main(argv)` receives argv with
the subcommand as argv[0]. Modules are imported only when their subcommand runs, so `--help` of one
does not pay for the imports of another (torch, transformers).
"""
from __future__ import annotations

import importlib
import sys

from lake.errors import RepoLLMError


def dispatch(prog: str, commands: dict[str, str], argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in commands:
        wrong = f"unknown subcommand {argv[0]!r}; " if argv else ""
        raise RepoLLMError(f"{wrong}usage: {prog} {{{','.join(commands)}}} ...")
    return importlib.import_module(commands[argv[0]]).main(argv)
