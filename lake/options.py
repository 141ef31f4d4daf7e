"""The options every stage's command takes, defined once: --lake, --data-path and --quiet.

Each stage's parser calls `add_lake_options`; a command opens its lake with `open_lake(args)`, so --data-path
reaches every Lake a command opens. --quiet acts when it is parsed (see `quiet`), so no command has to
remember to apply it.
"""
from __future__ import annotations

import argparse
import logging
import os
from functools import wraps

from lake.connection import Lake

LAKE_HELP = "lake folder or postgres:... (default: $REPO_LLM_LAKE or ./data)"
DATA_PATH_HELP = "where the lake keeps its Parquet files (default: <lake>/files; a postgres: lake needs it, or " \
                 "$REPO_LLM_DATA_PATH)"
QUIET_HELP = "no progress bars; only warnings and errors on the log"


def quiet() -> None:
    """No progress bars and no log records below WARNING, for the rest of this process and the processes it starts."""
    import tqdm.std

    logging.disable(logging.INFO)
    # tqdm reads TQDM_DISABLE when it is imported: that reaches worker processes started from here. This
    # process imported tqdm already, so its bars are switched off where they are made, over any disable=False.
    os.environ["TQDM_DISABLE"] = "1"
    init = tqdm.std.tqdm.__init__
    if not getattr(init, "quiet", False):
        @wraps(init)
        def silent(self, *args, **kwargs):
            kwargs["disable"] = True
            init(self, *args, **kwargs)
        silent.quiet = True
        tqdm.std.tqdm.__init__ = silent


class _Quiet(argparse.Action):
    def __init__(self, option_strings, dest, **kwargs):
        super().__init__(option_strings, dest, nargs=0, default=False, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None):
        setattr(namespace, self.dest, True)
        quiet()


def add_quiet_option(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add --quiet alone, for a command that opens no lake (it turns a file into another file)."""
    p.add_argument("--quiet", action=_Quiet, help=QUIET_HELP)
    return p


def add_lake_options(p: argparse.ArgumentParser, lake_help: str = LAKE_HELP) -> argparse.ArgumentParser:
    """Add --lake, --data-path and --quiet to `p` (a command's parser or a parent of its subcommands)."""
    p.add_argument("--lake", default=None, help=lake_help)
    p.add_argument("--data-path", default=None, help=DATA_PATH_HELP)
    return add_quiet_option(p)


def lake_options() -> argparse.ArgumentParser:
    """A parent parser holding the three options, for `add_parser(..., parents=[lake_options()])`."""
    return add_lake_options(argparse.ArgumentParser(add_help=False))


def open_lake(args: argparse.Namespace, **kwargs) -> Lake:
    """The lake named by a command's --lake and --data-path (kwargs: snapshot, create)."""
    return Lake(args.lake, data_path=args.data_path, **kwargs)
