"""The edge of every `python -m PACKAGE` CLI: a RepoLLMError becomes one line on stderr and exit code 2.

Each package's CLI modules may still catch their own errors; this is the one place that catches what
escapes them, so no entry point ends in a traceback for a problem the user can fix.
"""
from __future__ import annotations

import sys
from typing import Callable

from lake.errors import RepoLLMError


def user_error(e: BaseException | None) -> RepoLLMError | None:
    """The RepoLLMError behind `e`, also when a library (jsonargparse, Lightning) wrapped it in its own."""
    seen = set()
    while e is not None and id(e) not in seen:
        if isinstance(e, RepoLLMError):
            return e
        seen.add(id(e))
        e = e.__cause__ or e.__context__
    return None


def one_line(e: BaseException) -> str:
    # A KeyError's str() is the repr of its key (quoted); its first argument is the message we wrote.
    text = e.args[0] if isinstance(e, KeyError) and e.args and isinstance(e.args[0], str) else str(e)
    return " ".join(line.strip() for line in text.splitlines() if line.strip()) or type(e).__name__


def exit_code(prog: str, e: Exception) -> int:
    """2 after printing `prog: message` when `e` is (or wraps) a RepoLLMError; any other error is raised again."""
    cause = user_error(e)
    if cause is None:
        raise e
    print(f"{prog}: {one_line(cause)}", file=sys.stderr)
    return 2


def run_cli(prog: str, main: Callable[[list[str] | None], int], argv: list[str] | None = None) -> int:
    """main(argv)'s exit code; a RepoLLMError (or one wrapped by a library) prints `prog: message`, exit 2."""
    try:
        return main(argv)
    except Exception as e:
        return exit_code(prog, e)
