import sys

from lake.cli import main
from lake.edge import run_cli

sys.exit(run_cli("lake", main))
