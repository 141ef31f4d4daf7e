"""python -m ingest {git,goroot,github} ...: each source owns its own CLI module."""
import importlib
import sys

COMMANDS = {
    "git": "ingest.git.cli",
    "goroot": "ingest.git.cli",
    "github": "ingest.github.cli",
}


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in COMMANDS:
        print(f"usage: python -m ingest {{{','.join(COMMANDS)}}} ...", file=sys.stderr)
        return 2
    return importlib.import_module(COMMANDS[argv[0]]).main(argv)


if __name__ == "__main__":
    sys.exit(main())
