"""Bounded diffs between two trees: changed files with line counts, a unified diff cut at a size, snippets.

Blob sizes are read from object headers before any patch is made, so a blob past max_diff_blob_bytes is
never loaded: its change is listed with NULL line counts and left out of the diff text.
"""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field

import pygit2
from pygit2.enums import FileMode, ObjectType

from ingest.git.config import IngestConfig

CHANGE = {"A": "added", "D": "deleted", "M": "modified", "R": "renamed", "C": "copied", "T": "typechange"}
_ZERO = "0" * 40


@dataclass
class BoundedDiff:
    changes: list[dict] = field(default_factory=list)
    diff: str = ""
    truncated: bool = False
    snippets: list[dict] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


@contextmanager
def blob_cache(cfg: IngestConfig):
    """Let libgit2 cache the blobs a run of diffs reads (process-wide settings, put back after)."""
    pygit2.settings.cache_object_limit(ObjectType.BLOB, cfg.max_diff_blob_bytes)
    pygit2.settings.cache_max_size(cfg.diff_blob_cache_bytes)
    try:
        yield
    finally:
        pygit2.settings.cache_object_limit(ObjectType.BLOB, 0)  # libgit2's defaults
        pygit2.settings.cache_max_size(256 << 20)


def _cut(text: str, limit: int) -> tuple[str, bool]:
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text, False
    return data[:limit].decode("utf-8", "ignore"), True


def _first_hunk(patch_text: str, limit: int) -> tuple[str, str] | None:
    """Before/after text of a patch's first hunk, read from the patch text (building pygit2's per-line
    objects costs more than the whole diff)."""
    start = patch_text.find("\n@@ ")
    if start < 0:
        return None
    body = patch_text[patch_text.find("\n", start + 1) + 1:]
    end = body.find("\n@@ ")
    lines = (body if end < 0 else body[: end + 1]).splitlines(keepends=True)
    before = "".join(ln[1:] for ln in lines if ln[:1] in (" ", "-"))
    after = "".join(ln[1:] for ln in lines if ln[:1] in (" ", "+"))
    return _cut(before, limit)[0], _cut(after, limit)[0]


def _too_big(odb, f, limit: int) -> bool:
    if f.mode == FileMode.COMMIT or str(f.id) == _ZERO:
        return False
    _, size = odb.read_header(f.id)  # NotFoundError (a KeyError) propagates: the caller records it
    return size > limit


def tree_diff(repo: pygit2.Repository, old: pygit2.Tree | None, new: pygit2.Tree, cfg: IngestConfig,
              snippets: bool = True) -> BoundedDiff:
    out = BoundedDiff()
    diff = repo.diff(old, new) if old is not None else new.diff_to_tree(swap=True)
    odb = repo.odb
    big: set[str] = set()
    missing = False
    for delta in diff.deltas:
        for f in (delta.old_file, delta.new_file):
            try:
                if _too_big(odb, f, cfg.max_diff_blob_bytes):
                    big.add(f.path)
            except KeyError:
                out.errors.append(f"missing object {f.id} ({f.path})")
                big.add(f.path)
                missing = True
    if not big and not missing:
        diff.find_similar()  # rename detection reads added/deleted blobs: only when all are small
    parts: list[str] = []
    used = 0
    for i, delta in enumerate(diff.deltas):
        change = {"path": delta.new_file.path, "old_path": delta.old_file.path if delta.status_char() in "RC" else None,
                  "change": CHANGE.get(delta.status_char(), delta.status_char()), "additions": None, "deletions": None}
        out.changes.append(change)
        if delta.old_file.path in big or delta.new_file.path in big:
            continue
        try:
            patch = diff[i]
        except pygit2.GitError as e:
            out.errors.append(f"cannot diff {delta.new_file.path}: {e}")
            continue
        _, change["additions"], change["deletions"] = patch.line_stats
        want_snippet = snippets and len(out.snippets) < cfg.max_snippets
        if out.truncated and not want_snippet:
            continue
        text = patch.data.decode("utf-8", "replace")
        if not out.truncated:
            piece, cut = _cut(text, cfg.max_diff_bytes - used)
            parts.append(piece)
            used += len(piece.encode("utf-8"))
            out.truncated = cut
        if want_snippet:
            snippet = _first_hunk(text, cfg.max_snippet_bytes)
            if snippet is not None:
                out.snippets.append({"path": delta.new_file.path, "before": snippet[0], "after": snippet[1]})
    out.diff = "".join(parts)
    return out
