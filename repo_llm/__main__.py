import sys

from repo_llm.cli import main

sys.exit(main())
