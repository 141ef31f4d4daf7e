"""Write a git tree from a flat {path: (oid, filemode)} mapping with pygit2's TreeBuilder.

Used to turn plain directories (the Go distribution) into repositories and by tests/helpers/gitrepos.py.
"""
from __future__ import annotations

import pygit2
from pygit2.enums import FileMode


def write_tree(repo: pygit2.Repository, entries: dict[str, tuple[pygit2.Oid, int]]) -> pygit2.Oid:
    """Build nested trees bottom-up; paths use '/' and must not start with it."""
    root: dict = {}
    for path, (oid, mode) in entries.items():
        parts = path.split("/")
        node = root
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ValueError(f"{path}: a parent is a file")
        node[parts[-1]] = (oid, mode)
    return _write(repo, root)


def _write(repo: pygit2.Repository, node: dict) -> pygit2.Oid:
    builder = repo.TreeBuilder()
    for name, child in node.items():
        if isinstance(child, dict):
            builder.insert(name, _write(repo, child), FileMode.TREE)
        else:
            builder.insert(name, child[0], child[1])
    return builder.write()


def flatten_tree(repo: pygit2.Repository, tree: pygit2.Tree, prefix: str = "") -> dict[str, tuple[pygit2.Oid, int]]:
    """The inverse of write_tree: every non-tree entry of a tree, by full path."""
    out: dict[str, tuple[pygit2.Oid, int]] = {}
    for entry in tree:
        path = prefix + entry.name
        if entry.filemode == FileMode.TREE:
            out.update(flatten_tree(repo, repo[entry.id], path + "/"))
        else:
            out[path] = (entry.id, entry.filemode)
    return out
