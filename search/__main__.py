"""python -m search {index,query} ...: the search stage (a LanceDB index of gold samples beside the lake)."""
import sys

from lake.edge import run_cli
from search.cli import main

if __name__ == "__main__":
    sys.exit(run_cli("search", main))
