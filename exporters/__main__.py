"""python -m exporters {hf,gguf,serve,card,merge-lora} ..."""
import sys

from lake.edge import run_cli
from lake.subcommands import dispatch

COMMANDS = {
    "hf": "exporters.cli",
    "gguf": "exporters.cli",
    "serve": "exporters.cli",
    "card": "exporters.cli",
    "merge-lora": "exporters.cli",
}


def main(argv=None) -> int:
    return dispatch("python -m exporters", COMMANDS, argv)


if __name__ == "__main__":
    sys.exit(run_cli("exporters", main))
