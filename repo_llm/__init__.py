"""repo-llm: the one command in front of the stages (`repo-llm STAGE ...`); see repo_llm.cli."""
