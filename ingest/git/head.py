"""The repository at HEAD: `files`, `trees` and `readmes` rows, licence and go.mod evidence.

Sizes come from the object header first (git_odb_read_header), so a blob past the content limit is
never read into memory; a missing object (public snapshots drop big blobs) becomes an error row.
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

import pyarrow as pa
import pygit2
from pygit2.enums import FileMode

from lake.arrow import schema
from ingest.git import flags
from ingest.git.config import GNU_NOTICE, LATER_NOTICE, MANIFESTS, README, SPDX_HEADER, IngestConfig, is_licence_file

_GO_MODULE = re.compile(r"^\s*module\s+\"?([^\s\"]+)\"?", re.M)


@dataclass
class HeadSnapshot:
    trees: list[dict] = field(default_factory=list)
    readmes: list[dict] = field(default_factory=list)
    licence_texts: dict[str, str] = field(default_factory=dict)  # licence file path (any depth, REUSE LICENSES/ too) -> text
    manifests: dict[str, str] = field(default_factory=dict)      # root package manifest path -> text
    spdx_headers: Counter = field(default_factory=Counter)       # SPDX-License-Identifier value -> files
    gnu_notices: int = 0                                          # files whose header names a GNU licence
    later_notices: int = 0                                        # ... and grants "any later version"
    go_module: str | None = None
    errors: list[tuple[str, str]] = field(default_factory=list)  # (object, error)
    bytes_read: int = 0
    files_count: int = 0


def _name(entry: pygit2.Object, snap: HeadSnapshot, prefix: str) -> str:
    """Entry names are bytes in git; a name that is not UTF-8 is kept readable and reported."""
    raw = entry.raw_name
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        name = raw.decode("utf-8", "backslashreplace")
        snap.errors.append((prefix + name, "file name is not valid UTF-8; stored with \\x escapes"))
        return name


class HeadReader:
    """Streams `files` rows as Arrow batches while it walks HEAD; everything else it learns on the way
    (trees, readmes, licence texts, go.mod, errors) is complete once the stream is exhausted."""

    def __init__(self, repo: pygit2.Repository, repo_id: str, commit: pygit2.Commit, cfg: IngestConfig,
                 progress=None, batch_rows: int = 512):
        self.repo, self.repo_id, self.commit, self.cfg = repo, repo_id, commit, cfg
        self.progress, self.batch_rows = progress, batch_rows
        self.snap = HeadSnapshot()
        self.done = False

    def file_rows(self):
        """Each file row in tree order (depth first, git's entry order): deterministic for one HEAD."""
        snap, repo, head = self.snap, self.repo, str(self.commit.id)
        stack: list[tuple[str, pygit2.Oid]] = [("", self.commit.tree_id)]
        while stack:
            prefix, tree_id = stack.pop()
            try:
                tree = repo[tree_id]
            except (KeyError, pygit2.GitError) as e:
                snap.errors.append((f"{prefix or '/'}@{tree_id}", f"tree unreadable: {e}"))
                continue
            subtrees = []
            for entry in tree:
                path = prefix + _name(entry, snap, prefix)
                mode = entry.filemode
                if mode == FileMode.TREE:
                    snap.trees.append(_tree_row(self.repo_id, head, path, "tree", mode, None))
                    subtrees.append((path + "/", entry.id))
                    continue
                row = _file(repo.odb, self.repo_id, head, path, entry.id, mode, self.cfg, snap)
                kind = "submodule" if row["is_submodule"] else "symlink" if row["is_symlink"] else "blob"
                snap.trees.append(_tree_row(self.repo_id, head, path, kind, mode, row["size"]))
                if self.progress is not None:
                    self.progress.update(1)
                yield row
            stack.extend(reversed(subtrees))
        snap.trees.sort(key=lambda r: r["path"])
        self.done = True

    def files_stream(self) -> pa.RecordBatchReader:
        """The `files` rows as a stream for a lake write (DuckDB pulls it: reading HEAD runs as it writes)."""
        return pa.RecordBatchReader.from_batches(schema("files"), self.file_batches())

    def file_batches(self):
        files = schema("files")
        rows: list[dict] = []
        for row in self.file_rows():
            rows.append(row)
            self.snap.files_count += 1
            if len(rows) >= self.batch_rows:
                yield pa.RecordBatch.from_pylist(rows, schema=files)
                rows = []
        if rows:
            yield pa.RecordBatch.from_pylist(rows, schema=files)


def _tree_row(repo_id, head, path, kind, mode, size) -> dict:
    return {"repo_id": repo_id, "commit": head, "path": path, "kind": kind, "mode": int(mode), "size": size}


def _file(odb, repo_id, head, path, oid, mode, cfg: IngestConfig, snap: HeadSnapshot) -> dict:
    row = {"repo_id": repo_id, "commit": head, "path": path, "blob_id": str(oid), "size": None,
           "language": flags.language(path, cfg), "is_binary": None, "is_vendored": flags.is_vendored(path, cfg),
           "is_generated": None, "is_lfs_pointer": None, "is_symlink": mode == FileMode.LINK,
           "is_submodule": mode == FileMode.COMMIT, "is_too_large": None, "is_invalid_utf8": None,
           "content": None}
    if row["is_submodule"]:  # a gitlink names a commit of another repository: nothing to read here
        row.update(is_binary=False, is_generated=False, is_lfs_pointer=False, is_too_large=False,
                   is_invalid_utf8=False)
        return row
    try:
        _, size = odb.read_header(oid)
    except (KeyError, pygit2.GitError) as e:
        snap.errors.append((f"{path}@{oid}", f"missing object: {type(e).__name__}: {e}"))
        return row
    row["size"] = size
    row["is_too_large"] = size > cfg.max_content_bytes
    if row["is_too_large"]:  # flags that need the bytes stay NULL: unknown, never guessed
        return row
    try:
        data = odb.read(oid)[1]
    except (KeyError, pygit2.GitError) as e:
        snap.errors.append((f"{path}@{oid}", f"unreadable object: {type(e).__name__}: {e}"))
        return row
    snap.bytes_read += len(data)
    binary = flags.is_binary(data, cfg)
    row.update(is_binary=binary, is_lfs_pointer=flags.is_lfs_pointer(data))
    if row["is_symlink"]:  # the target is data, never followed
        row.update(is_generated=False, is_invalid_utf8=flags.decode_utf8(data) is None)
        return row
    if binary:
        row.update(is_generated=False, is_invalid_utf8=False)
        return row
    valid = flags.is_utf8(data)
    row["is_invalid_utf8"] = not valid
    row["is_generated"] = flags.is_generated(data)
    if not valid:
        return row
    # the bytes, not a str: Arrow stores valid UTF-8 bytes as the string they are, and a Python str of
    # every file would cost a decode and, for non-ASCII text, a second UTF-8 copy when Arrow reads it
    row["content"] = data
    if row["is_vendored"]:  # vendored code never decides this repository's licence
        return row
    for m in SPDX_HEADER.finditer(data, 0, 4096):
        snap.spdx_headers[m.group(1).decode().strip()] += 1
    if is_licence_file(path, row["language"]):
        snap.licence_texts[path] = data.decode("utf-8")
    elif GNU_NOTICE.search(data, 0, 4096):
        snap.gnu_notices += 1
        snap.later_notices += LATER_NOTICE.search(data, 0, 4096) is not None
    if "/" not in path:
        text = data.decode("utf-8")
        if README.match(path):
            snap.readmes.append({"repo_id": repo_id, "source": "git", "path": path, "content": text})
        if path in MANIFESTS:
            snap.manifests[path] = text
        if path == "go.mod":
            m = _GO_MODULE.search(text)
            snap.go_module = m.group(1) if m else None
    return row
