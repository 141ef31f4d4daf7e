"""python -m transforms {run,funnel,audit,tokenizer,pack} ...: each step family owns its CLI module."""
import importlib
import sys

COMMANDS = {
    "run": "transforms.cli",
    "funnel": "transforms.cli",
    "audit": "transforms.cli",
    "tokenizer": "transforms.tokenizer_cli",
    "pack": "transforms.pack_cli",
}


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in COMMANDS:
        print(f"usage: python -m transforms {{{','.join(COMMANDS)}}} ...", file=sys.stderr)
        return 2
    return importlib.import_module(COMMANDS[argv[0]]).main(argv)


if __name__ == "__main__":
    sys.exit(main())
