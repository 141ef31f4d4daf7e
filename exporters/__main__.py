"""python -m exporters {hf,gguf,serve,card,merge-lora} ..."""
import importlib
import sys

COMMANDS = {
    "hf": "exporters.cli",
    "gguf": "exporters.cli",
    "serve": "exporters.cli",
    "card": "exporters.cli",
    "merge-lora": "exporters.cli",
}


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in COMMANDS:
        print(f"usage: python -m exporters {{{','.join(COMMANDS)}}} ...", file=sys.stderr)
        return 2
    return importlib.import_module(COMMANDS[argv[0]]).main(argv)


if __name__ == "__main__":
    sys.exit(main())
