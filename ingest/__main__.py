"""python -m ingest {git,goroot,github} ...: each source owns its own CLI module."""
import sys

from lake.edge import run_cli
from lake.subcommands import dispatch

COMMANDS = {
    "git": "ingest.git.cli",
    "goroot": "ingest.git.cli",
    "github": "ingest.github.cli",
}


def main(argv=None) -> int:
    return dispatch("python -m ingest", COMMANDS, argv)


if __name__ == "__main__":
    sys.exit(run_cli("ingest", main))
