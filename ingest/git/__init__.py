"""ingest.git: code at HEAD, history and pull-request diffs straight from git into the raw lake tables.

    from lake import Lake
    from ingest.git import ingest_repo, ingest_goroot, GitIngestError

    result = ingest_repo(lake, "path/or/url", name=None, license=None, fetch_prs=False, max_commits=None)
    # -> IngestResult(repo_id, status "ingested" | "unchanged", head_commit, counts, license)
    results = ingest_goroot(lake)   # the installed Go distribution as golang/go + one repo per vendored module

One repository = one lake commit over repos, files, trees, commits, git_pulls, readmes, ingest_errors.
Bad input raises GitIngestError (one line); per-object failures become ingest_errors rows.
CLI: python -m ingest git SRC... [--name N] [--from-list FILE] [--from-top] [--license SPDX] [--fetch-prs] [--max-commits N] [--lake DIR]
     python -m ingest goroot [--lake DIR]
"""
from ingest.git.config import IngestConfig
from ingest.git.errors import GitIngestError
from ingest.git.goroot import ingest_goroot
from ingest.git.repository import IngestResult, ingest_repo

__all__ = ["GitIngestError", "IngestConfig", "IngestResult", "ingest_goroot", "ingest_repo"]

