"""python -m transforms {run,funnel,audit,tokenizer,pack,near-dedup} ...: each step family owns its CLI module."""
import sys

from lake.edge import run_cli
from lake.subcommands import dispatch

COMMANDS = {
    "run": "transforms.cli",
    "funnel": "transforms.cli",
    "audit": "transforms.cli",
    "tokenizer": "transforms.tokenizer_cli",
    "pack": "transforms.pack_cli",
    "near-dedup": "transforms.near_dedup_cli",
}


def main(argv=None) -> int:
    return dispatch("python -m transforms", COMMANDS, argv)


if __name__ == "__main__":
    sys.exit(run_cli("transforms", main))
