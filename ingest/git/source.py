"""Open what the user named as a pygit2 repository: a local path (bare or not) or a URL cloned bare into the
lake's cache. Validates once: missing path, not a repository, empty, shallow, HEAD pointing nowhere.

Nothing is checked out and no hook runs: pygit2 reads objects and refs only.

Names: a URL is named by its path (`https://github.com/acme/widget.git` -> `acme/widget`, the id
ingest.github uses, so git and GitHub rows of one repository join); a local repository by its `origin`
remote when that is a URL, else by its folder (the parent's for `.git` or a generic folder name such as
`repo`). The source is recorded in a normal form (`source_key`) so that a second source under the
same name is refused, not silently replacing the first (ingest/git/repository.py).
"""
from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

import pygit2
from pygit2.enums import RepositoryOpenFlag

from ingest.git.errors import GitIngestError

PULL_REFSPEC = "+refs/pull/*/head:refs/pull/*/head"
_SCP = re.compile(r"^[\w.-]+@([\w.-]+):(.+)$")  # git@github.com:owner/name.git
# folder names that say nothing about the repository (checkouts laid out as OWNER+NAME/repo): the parent names it
GENERIC_FOLDERS = {"repo", "repos", "repository", "src", "source", "checkout", "clone", "git"}
LAKE_PREFIX = "lake:"  # a source inside the lake (goroot's bare repositories) is kept relative to it


@dataclass
class OpenedRepo:
    repo: pygit2.Repository
    name: str          # owner/name for URLs and clones with an origin URL, else the folder name
    source: str        # what was read (no credentials): a URL as given, a local path in source_key's form
    shown: str         # what was read, as the user wrote it (no credentials): for messages
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


def folder_name(path: Path) -> str:
    """A local repository's name from its folder: the parent's for `.git` or a generic folder name."""
    resolved = path.resolve()
    name = resolved.name.removesuffix(".git")
    if (not name or name.lower() in GENERIC_FOLDERS) and resolved.parent.name:
        return folder_name(resolved.parent) if resolved.parent != resolved else name
    return name


def url_repo_name(url: str) -> str:
    """owner/name for a hosted URL (host dropped); the folder rule for a file:// URL."""
    if urlsplit(url).scheme == "file":
        return folder_name(Path(unquote(urlsplit(url).path)))
    return _url_name(url)[1]


def origin_name(repo: pygit2.Repository) -> str | None:
    """The name the `origin` remote gives, when it is a hosted URL (a local or file:// origin says nothing)."""
    try:
        url = repo.remotes["origin"].url
    except (KeyError, pygit2.GitError):
        return None
    if not url or not is_url(url) or urlsplit(url).scheme == "file":
        return None
    try:
        return _url_name(url)[1]
    except GitIngestError:
        return None


def source_name(src: str) -> str:
    """The name open_source gives `src`, without cloning or validating (workers split by it before any work)."""
    if is_url(src):
        try:
            return url_repo_name(src)
        except GitIngestError:
            return redact(src)
    try:
        repo = pygit2.Repository(src, RepositoryOpenFlag.NO_SEARCH)
    except pygit2.GitError:
        return src  # open_source will say what is wrong with it
    return origin_name(repo) or folder_name(Path(src))


def source_key(source: str, lake_root: Path | None = None) -> str:
    """The normal form two sources are compared in (`repos.source` holds it for local paths): a URL without credentials,
    `.git` or a trailing slash (host and path lower-cased: GitHub names are case-insensitive); a local path
    resolved and absolute, the work tree for its `.git`, relative to the lake (`lake:...`) inside it."""
    if source.startswith(LAKE_PREFIX):
        return source
    if is_url(source) and urlsplit(source).scheme != "file":
        host, path = _url_name(source)
        return f"{host.lower()}/{path.lower()}"
    path = Path(unquote(urlsplit(source).path) if "://" in source else source).expanduser().resolve()
    if path.name == ".git":
        path = path.parent
    if lake_root is not None:
        root = lake_root.resolve()
        if path.is_relative_to(root):
            return LAKE_PREFIX + path.relative_to(root).as_posix()
    return str(path)


def clone_or_fetch(url: str, cache: Path, fetch_prs: bool) -> pygit2.Repository:
    host, path = _url_name(url)
    dest = cache / "clones" / host / (path + ".git")
    try:
        if (dest / "HEAD").exists():
            repo = pygit2.Repository(str(dest), RepositoryOpenFlag.NO_SEARCH)
        else:
            # cloned beside and renamed when complete: a run killed mid-clone leaves no half repository
            # that the next run would take for a clone (it starts that one again)
            partial = dest.with_name(dest.name + ".partial")
            shutil.rmtree(partial, ignore_errors=True)
            partial.parent.mkdir(parents=True, exist_ok=True)
            pygit2.clone_repository(url, str(partial), bare=True)
            partial.rename(dest)
            repo = pygit2.Repository(str(dest), RepositoryOpenFlag.NO_SEARCH)
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


def open_source(src: str, cache: Path, fetch_prs: bool = False, lake_root: Path | None = None) -> OpenedRepo:
    if is_url(src):
        repo = clone_or_fetch(src, cache, fetch_prs)
        name = url_repo_name(src)
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
        name = origin_name(repo) or folder_name(path)
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
    source = shown if is_url(src) else source_key(shown, lake_root)
    return OpenedRepo(repo, name, source, shown, head, branch)


def _head_target(repo: pygit2.Repository) -> str:
    try:
        return str(repo.references["HEAD"].target).removeprefix("refs/heads/")
    except (KeyError, pygit2.GitError):
        return "?"
