"""Open what the user named as a pygit2 repository: a local path (bare or not) or a URL cloned bare into the
lake's cache. Validates once: missing path, not a repository, empty, shallow, HEAD pointing nowhere.

Nothing is checked out and no hook runs: pygit2 reads objects and refs only.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pygit2
from pygit2.enums import RepositoryOpenFlag

from ingest.git.errors import GitIngestError

PULL_REFSPEC = "+refs/pull/*/head:refs/pull/*/head"
_SCP = re.compile(r"^[\w.-]+@([\w.-]+):(.+)$")  # git@github.com:owner/name.git


@dataclass
class OpenedRepo:
    repo: pygit2.Repository
    name: str          # owner/name for URLs, the folder name for local paths
    source: str        # what was read, with any credentials removed
    head: pygit2.Commit
    default_branch: str | None


def is_url(src: str) -> bool:
    return "://" in src or bool(_SCP.match(src))


def redact(url: str) -> str:
    """The URL without user:password@ (a token must never reach a log, an error or the lake)."""
    if "://" not in url:
        return url
    parts = urlsplit(url)
    netloc = parts.hostname or ""
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def _url_name(url: str) -> tuple[str, str]:
    m = _SCP.match(url)
    host, path = (m.group(1), m.group(2)) if m else (urlsplit(url).hostname or "local", urlsplit(url).path)
    path = path.strip("/").removesuffix(".git")
    if not path:
        raise GitIngestError(f"{redact(url)}: URL names no repository")
    return host, path


def clone_or_fetch(url: str, cache: Path, fetch_prs: bool) -> pygit2.Repository:
    host, path = _url_name(url)
    dest = cache / "clones" / host / (path + ".git")
    try:
        if (dest / "HEAD").exists():
            repo = pygit2.Repository(str(dest), RepositoryOpenFlag.NO_SEARCH)
        else:
            dest.parent.mkdir(parents=True, exist_ok=True)
            repo = pygit2.clone_repository(url, str(dest), bare=True)
        remote = repo.remotes["origin"]
        if fetch_prs and PULL_REFSPEC not in remote.fetch_refspecs:
            repo.remotes.add_fetch("origin", PULL_REFSPEC)
            remote = repo.remotes["origin"]
        remote.fetch()
        return repo
    except (pygit2.GitError, KeyError, OSError) as e:
        raise GitIngestError(f"{redact(url)}: cannot clone or fetch: {_one_line(e, url)}") from None


def _one_line(e: BaseException, url: str) -> str:
    text = (str(e).strip().splitlines() or [type(e).__name__])[0]
    return text.replace(url, redact(url))


def open_source(src: str, cache: Path, fetch_prs: bool = False) -> OpenedRepo:
    if is_url(src):
        repo = clone_or_fetch(src, cache, fetch_prs)
        name = _url_name(src)[1]
        shown = redact(src)
    else:
        path = Path(src)
        shown = str(path)
        if not path.exists():
            raise GitIngestError(f"{shown}: no such path")
        try:
            repo = pygit2.Repository(str(path), RepositoryOpenFlag.NO_SEARCH)
        except pygit2.GitError:
            raise GitIngestError(f"{shown}: not a git repository") from None
        resolved = path.resolve()
        name = (resolved.parent.name if resolved.name == ".git" else resolved.name).removesuffix(".git")
    if repo.is_shallow:
        raise GitIngestError(f"{shown}: shallow clone, history is incomplete (fetch it with --unshallow)")
    if repo.is_empty:
        raise GitIngestError(f"{shown}: empty repository (no commits)")
    try:
        if repo.head_is_unborn:
            raise GitIngestError(f"{shown}: HEAD points nowhere (branch {_head_target(repo)} has no commit)")
        head = repo.head.peel(pygit2.Commit)
    except (pygit2.GitError, KeyError, ValueError) as e:
        raise GitIngestError(f"{shown}: HEAD points nowhere ({_one_line(e, src)})") from None
    branch = None if repo.head_is_detached else repo.head.shorthand
    return OpenedRepo(repo, name, shown, head, branch)


def _head_target(repo: pygit2.Repository) -> str:
    try:
        return str(repo.references["HEAD"].target).removeprefix("refs/heads/")
    except (KeyError, pygit2.GitError):
        return "?"
