"""Commit history: a cheap walk of every reachable commit, then `commits` rows for the ones not yet in the lake.

Merges are diffed against their first parent (as `git log -p --first-parent`/`git show --first-parent`),
the root commit against the empty tree.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone

import pygit2
from pygit2.enums import SortMode

from ingest.git.config import IngestConfig
from ingest.git.diffs import tree_diff


@dataclass
class Walk:
    order: list[str] = field(default_factory=list)          # newest first, topological
    messages: dict[str, str] = field(default_factory=dict)   # first-parent (default branch) commit -> message
    root: str | None = None   # where the first-parent chain starts: what forks share, read whatever --max-commits
    errors: list[tuple[str, str]] = field(default_factory=list)


def _text(raw: bytes | None) -> str:
    return raw.decode("utf-8", "replace") if raw is not None else ""


def walk(repo: pygit2.Repository, head: pygit2.Oid) -> Walk:
    """Every commit reachable from head, and the first-parent chain's messages (to find PR merges)."""
    out = Walk()
    try:
        out.order = [str(c.id) for c in repo.walk(head, SortMode.TOPOLOGICAL | SortMode.TIME)]
    except pygit2.GitError:  # libgit2 gives up on the first unreadable commit: walk around it by hand
        out.order = _walk_around(repo, head, out.errors)
    oid = head
    while oid is not None:
        try:
            c = repo[oid]
        except (KeyError, pygit2.GitError) as e:
            out.errors.append((str(oid), f"first-parent chain stopped: {e}"))
            break
        out.messages[str(c.id)] = _text(c.raw_message)
        oid = c.parent_ids[0] if c.parent_ids else None
        if oid is None:
            out.root = str(c.id)
    return out


def _walk_around(repo: pygit2.Repository, head: pygit2.Oid, errors: list) -> list[str]:
    """Reachable readable commits, newest committer time first; each unreadable one is an error."""
    seen, stack, found = {head}, [head], []
    while stack:
        oid = stack.pop()
        try:
            c = repo[oid]
            parents = c.parent_ids
        except (KeyError, pygit2.GitError) as e:
            errors.append((str(oid), f"bad commit, skipped with its history: {e}"))
            continue
        found.append((-c.commit_time, str(oid)))
        for p in parents:
            if p not in seen:
                seen.add(p)
                stack.append(p)
    return [oid for _, oid in sorted(found)]


def _when(sig: pygit2.Signature) -> datetime:
    return datetime.fromtimestamp(sig.time, tz=timezone.utc)


def commit_row(repo: pygit2.Repository, repo_id: str, commit_id: str, cfg: IngestConfig) -> tuple[dict | None, list]:
    """One `commits` row and its (object, error) pairs; None when the commit itself cannot be read."""
    try:
        c = repo[commit_id]
    except (KeyError, pygit2.GitError) as e:
        return None, [(commit_id, f"bad commit: {e}")]
    errors = []
    parent_tree = None
    if c.parent_ids:
        try:
            parent_tree = repo[c.parent_ids[0]].tree
        except (KeyError, pygit2.GitError) as e:
            errors.append((commit_id, f"parent {c.parent_ids[0]} unreadable, diffed against nothing: {e}"))
    try:
        d = tree_diff(repo, parent_tree, c.tree, cfg)
        errors += [(commit_id, e) for e in d.errors]
    except (KeyError, pygit2.GitError) as e:
        errors.append((commit_id, f"diff failed: {e}"))
        d = None
    row = {
        "repo_id": repo_id, "commit_id": commit_id, "parents": [str(p) for p in c.parent_ids],
        "author_name": _text(c.author.raw_name), "author_email": _text(c.author.raw_email),
        "authored_at": _when(c.author), "committer_name": _text(c.committer.raw_name),
        "committed_at": _when(c.committer), "message": _text(c.raw_message),
        "changes": d.changes if d else None, "diff": d.diff if d else None,
        "diff_truncated": d.truncated if d else None, "snippets": d.snippets if d else None,
    }
    return row, errors
