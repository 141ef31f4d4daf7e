"""python -m evaluation {run,compare,review-export,review-import} ...: the evaluation stage (checkpoints -> evals)."""
import sys

from evaluation.cli import main
from lake.edge import run_cli

if __name__ == "__main__":
    sys.exit(run_cli("evaluation", main))
