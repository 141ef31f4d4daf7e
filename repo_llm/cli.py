"""`repo-llm STAGE ...`: one table of stages, each handed to its own `python -m` CLI unchanged.

Every stage keeps its own CLI (`python -m ingest`, `python -m trainers.fit`, ...); this command only
chooses one and passes the rest of the arguments through, so the two spellings behave the same. A
stage's module is imported only when it runs: `repo-llm --help` never pays for torch.
"""
from __future__ import annotations

import argparse
import importlib
import sys

from lake.edge import run_cli

# stage -> (module with main(argv), what it does, the `python -m` spelling it stands for)
STAGES: dict[str, tuple[str, str]] = {
    "lake": ("lake.cli", "query and inspect the lake (python -m lake)"),
    "ingest": ("ingest.__main__", "sources -> raw tables: git, goroot, github (python -m ingest)"),
    "transforms": ("transforms.__main__", "raw -> clean -> gold, tokenizer, pack (python -m transforms)"),
    "train": ("trainers.fit", "shards -> checkpoints, a LightningCLI (python -m trainers.fit)"),
    "eval": ("evaluation.cli", "score checkpoints and GGUF files (python -m evaluation)"),
    "export": ("exporters.__main__", "checkpoints -> HF, GGUF, serve, card (python -m exporters)"),
    "search": ("search.cli", "index and search the samples (python -m search)"),
}


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="repo-llm", description="The repo-llm lakehouse, one stage at a time. "
                                 "`repo-llm STAGE --help` shows a stage's own options.")
    sub = ap.add_subparsers(dest="stage", required=True, metavar="STAGE")
    for name, (_, text) in STAGES.items():
        sub.add_parser(name, help=text, add_help=False)
    return ap


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    # Only the stage is ours to parse: everything after it, --help included, belongs to the stage's CLI.
    stage = parser().parse_args(argv[:1]).stage
    module = importlib.import_module(STAGES[stage][0])
    return run_cli(f"repo-llm {stage}", module.main, argv[1:])
