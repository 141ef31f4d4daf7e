"""Build real git repositories with pygit2 for tests (no git CLI, no network, no work-tree checkout).

    from tests.helpers.gitrepos import build_repo, commit, merge, add_pull, Symlink, Submodule, lfs_pointer

    repo = build_repo(tmp_path / "r", {"go.mod": "module example.com/r\n", "a.go": "package a\n"})
    c2 = commit(repo, {"b.go": "package a\n", "a.go": None}, "add b, drop a")     # None deletes a path
    add_pull(repo, 7, {"c.go": "package a\n"}, "add c", title="Add c", merged=True)  # refs/pull/7/head (+ merge)
    ingest_repo(lake, repo.path)                                                  # then check the lake

File values: str (UTF-8 text), bytes (raw, e.g. binary or invalid UTF-8), Symlink(target),
Submodule(commit_hex, url) (a gitlink; .gitmodules is written for it), Executable(text_or_bytes).
Every commit has a fixed author and a clock that ticks one minute per commit, so builds are
deterministic: the same calls give the same commit ids.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass

import pygit2
from pygit2.enums import FileMode

from ingest.git.treewrite import flatten_tree, write_tree

AUTHOR = ("Ada Tester", "ada@example.com")
EPOCH = 1_700_000_000
_clock = itertools.count()


@dataclass(frozen=True)
class Symlink:
    target: str


@dataclass(frozen=True)
class Submodule:
    commit: str  # 40 hex digits; the object need not exist in this repository (it never does for a gitlink)
    url: str = "https://example.com/sub.git"


@dataclass(frozen=True)
class Executable:
    content: str | bytes


def lfs_pointer(content: bytes = b"large payload") -> str:
    """A Git LFS pointer file as git-lfs writes it (the object itself is never stored)."""
    import hashlib
    return ("version https://git-lfs.github.com/spec/v1\n"
            f"oid sha256:{hashlib.sha256(content).hexdigest()}\nsize {len(content)}\n")


def signature(tick: int | None = None) -> pygit2.Signature:
    t = EPOCH + 60 * (next(_clock) if tick is None else tick)
    return pygit2.Signature(AUTHOR[0], AUTHOR[1], t, 0)


def _entry(repo: pygit2.Repository, value) -> tuple[pygit2.Oid, int]:
    if isinstance(value, Symlink):
        return repo.create_blob(value.target.encode()), FileMode.LINK
    if isinstance(value, Submodule):
        return pygit2.Oid(hex=value.commit), FileMode.COMMIT
    if isinstance(value, Executable):
        data = value.content.encode() if isinstance(value.content, str) else value.content
        return repo.create_blob(data), FileMode.BLOB_EXECUTABLE
    if isinstance(value, str):
        value = value.encode()
    if not isinstance(value, bytes):
        raise TypeError(f"file content must be str, bytes, Symlink, Submodule or Executable, not {type(value).__name__}")
    return repo.create_blob(value), FileMode.BLOB


def _tree_with(repo: pygit2.Repository, base: pygit2.Commit | None, files: dict) -> pygit2.Oid:
    entries = flatten_tree(repo, base.tree) if base is not None else {}
    subs = {p: v for p, v in files.items() if isinstance(v, Submodule)}
    for path, value in files.items():
        if value is None:
            entries.pop(path, None)
        else:
            entries[path] = _entry(repo, value)
    if subs:
        text = "".join(f'[submodule "{p}"]\n\tpath = {p}\n\turl = {s.url}\n' for p, s in sorted(subs.items()))
        entries[".gitmodules"] = (repo.create_blob(text.encode()), FileMode.BLOB)
    return write_tree(repo, entries)


def build_repo(path, files: dict, *, message: str = "initial commit", bare: bool = False,
               branch: str = "main") -> pygit2.Repository:
    """A new repository at `path` with one commit holding `files` on `branch` (HEAD points at it).

    Non-bare repositories get only a .git folder: files are written as objects, never checked out.
    """
    repo = pygit2.init_repository(str(path), bare=bare, initial_head=branch)
    commit(repo, files, message, parents=[])
    return repo


def commit(repo: pygit2.Repository, files: dict, message: str, *, parents: list | None = None,
           ref: str | None = "HEAD", tick: int | None = None) -> pygit2.Oid:
    """Commit `files` on top of the first parent's tree (None values delete paths) and move `ref`.

    parents: commit ids; default the commit `ref` points at (none for an unborn branch).
    ref: the reference to update ("HEAD" moves the current branch), or None to leave every ref alone.
    """
    if parents is None:
        parents = [] if ref is None or _unborn(repo, ref) else [repo.revparse_single(ref).id]
    parents = [pygit2.Oid(hex=p) if isinstance(p, str) else p for p in parents]
    base = repo[parents[0]] if parents else None
    tree = _tree_with(repo, base, files)
    sig = signature(tick)
    return repo.create_commit(ref, sig, sig, message, tree, parents)


def _unborn(repo: pygit2.Repository, ref: str) -> bool:
    if ref == "HEAD":
        return repo.head_is_unborn
    return ref not in repo.references


def merge(repo: pygit2.Repository, other, message: str, *, files: dict | None = None,
          ref: str = "HEAD") -> pygit2.Oid:
    """A merge commit on `ref` with parents (ref's commit, other). Its tree is the union of both trees,
    `other` winning on conflicts, plus `files`."""
    head = repo.revparse_single(ref)
    other = repo[pygit2.Oid(hex=other) if isinstance(other, str) else other]
    entries = flatten_tree(repo, head.tree)
    entries.update(flatten_tree(repo, other.tree))
    for path, value in (files or {}).items():
        if value is None:
            entries.pop(path, None)
        else:
            entries[path] = _entry(repo, value)
    sig = signature()
    return repo.create_commit(ref, sig, sig, message, write_tree(repo, entries), [head.id, other.id])


def add_pull(repo: pygit2.Repository, number: int, files: dict, message: str, *, base=None,
             commits: int = 1, merged: bool = False, title: str = "", body: str = "",
             branch: str = "feature") -> pygit2.Oid:
    """A pull request: `commits` commits off `base` (default HEAD) adding `files`, at refs/pull/N/head.

    merged=True also merges it into HEAD with GitHub's message "Merge pull request #N from OWNER/BRANCH"
    followed by the title and body. Returns the PR head commit id.
    """
    parent = base or repo.head.target
    parent = pygit2.Oid(hex=parent) if isinstance(parent, str) else parent
    for i in range(commits):
        step = files if i == commits - 1 else {f".pr{number}-step{i}": f"step {i}\n"}
        parent = commit(repo, step, message if i == commits - 1 else f"{message} (step {i + 1})",
                        parents=[parent], ref=None)
    repo.references.create(f"refs/pull/{number}/head", parent, force=True)
    if merged:
        text = f"Merge pull request #{number} from tester/{branch}\n\n{title}\n"
        if body:
            text += f"\n{body}\n"
        merge(repo, parent, text)
    return parent
