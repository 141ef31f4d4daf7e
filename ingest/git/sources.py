"""Which repositories an `ingest git` run reads: SRC arguments, `--from-list FILE` and `--from-top`.

A list file holds `SRC [NAME]` per line (shell quoting for paths with spaces, `#` starts a comment).
`--from-top` takes every non-excluded repository of `github_repos` (written by `ingest github top`),
most stars first, under its GitHub `owner/name`, cloned from the API's `clone_url` and with GitHub's
licence kept beside the one detected from the files.
"""
from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path

from ingest.git.errors import GitIngestError


@dataclass(frozen=True)
class Source:
    src: str                            # a local path or URL
    name: str | None = None             # None: the name open_source gives it
    github_license: str | None = None   # SPDX id from github_repos (--from-top only)


def read_list(path: str | Path) -> list[Source]:
    """`SRC [NAME]` per line; a line with more fields is an error naming the file and line."""
    out = []
    try:
        f = open(path)
    except OSError as e:
        raise GitIngestError(f"--from-list {path}: {e.strerror}") from None
    with f:
        for number, line in enumerate(f, 1):
            try:
                fields = shlex.split(line, comments=True)
            except ValueError as e:
                raise GitIngestError(f"{path}:{number}: {e}") from None
            if len(fields) > 2:
                raise GitIngestError(f"{path}:{number}: expected 'SRC [NAME]', got {len(fields)} fields "
                                     "(quote a path with spaces)")
            if fields:
                out.append(Source(*fields))
    return out


def top_sources(lake) -> list[Source]:
    """Every non-excluded repository of github_repos, most stars first (the order `github fetch` uses)."""
    rows = lake.query("SELECT repo_id, clone_url, license FROM github_repos WHERE NOT coalesce(excluded, false) "
                      "ORDER BY stars DESC, repo_id").to_pylist()
    if not rows:
        raise GitIngestError("--from-top: github_repos has no repository to clone "
                             "(run `python -m ingest github top` first)")
    # rows collected before clone_url was recorded: GitHub's own URL for the name
    return [Source(r["clone_url"] or f"https://github.com/{r['repo_id']}.git", r["repo_id"], r["license"])
            for r in rows]
