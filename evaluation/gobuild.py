"""Does a package still build (and vet, and pass its tests) with one file changed?

The package is found where it can be built offline:
- in the local GOROOT, when the held-out file is byte-identical to its copy there (the standard library and
  the modules GOROOT vendors); GOROOT's std and cmd modules are vendored, so they build with their own
  vendor directories (GOFLAGS empty: `-mod=mod` fails there with "directory ... has no package path");
- else materialised from the lake into a temporary module: the package's directory, the packages of the same
  module it imports (transitively), and its go.mod, built with `GOFLAGS=-mod=mod`.
Either way the changed file reaches the compiler through `-overlay`, so nothing is copied or written into
the tree itself. A task whose original file does not build at its site is uncheckable, not a failure.
"""
from __future__ import annotations

import json
import posixpath
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from lake import Lake
from evaluation import data
from evaluation.gotasks import CodeTask
from evaluation.gotoolchain import GoResult, goroot, run_go

MAX_MATERIALISED_FILES = 400
_IMPORT_BLOCK = re.compile(r"^import\s*\((.*?)\)", re.S | re.M)
_IMPORT_LINE = re.compile(r'^import\s+(?:[\w.]+\s+)?"([^"]+)"', re.M)
_QUOTED = re.compile(r'"([^"]+)"')
_MODULE = re.compile(r"^module\s+(\S+)", re.M)
_GO_VERSION = re.compile(r"^go\s+(\S+)", re.M)


def imports(source: str) -> set[str]:
    found = set(_IMPORT_LINE.findall(source))
    for block in _IMPORT_BLOCK.findall(source):
        found.update(_QUOTED.findall(re.sub(r"//[^\n]*", "", block)))
    return found


@dataclass
class PackageSite:
    directory: Path        # where `go build .` runs
    file: Path             # the task's file at the site (the overlay replaces it)
    mod_flag: str | None   # GOFLAGS for the build
    kind: str              # goroot | materialised
    tmp: tempfile.TemporaryDirectory | None = field(default=None, repr=False)

    def close(self) -> None:
        if self.tmp is not None:
            self.tmp.cleanup()


def _goroot_copy(task: CodeTask, repo_name: str) -> Path | None:
    root = goroot()
    candidates = [root / task.path, root / "src" / task.path,
                  root / "src" / "vendor" / repo_name / task.path, root / "src" / "cmd" / "vendor" / repo_name / task.path]
    for c in candidates:
        if c.is_file() and c.read_bytes() == task.raw:
            return c
    return None


def _nearest_go_mod(lake: Lake, repo_id: str, directory: str) -> tuple[str, str] | None:
    parts = directory.split("/") if directory else []
    candidates = ["/".join(parts[:i] + ["go.mod"]) for i in range(len(parts), -1, -1)]
    found = data.repository_files(lake, repo_id, candidates)
    for c in candidates:
        if c in found:
            return c, found[c]
    return None


def _materialise(lake: Lake, task: CodeTask, workdir: Path) -> PackageSite:
    directory = posixpath.dirname(task.path)
    gomod = _nearest_go_mod(lake, task.repo_id, directory)
    module_root = posixpath.dirname(gomod[0]) if gomod else directory
    module = (_MODULE.search(gomod[1]).group(1) if gomod and _MODULE.search(gomod[1]) else "eval.invalid/pkg")
    files = dict(data.directory_go_files(lake, task.repo_id, directory))
    todo, seen, external = [directory], {directory}, False
    while todo and len(files) < MAX_MATERIALISED_FILES:
        d = todo.pop()
        pkg_files = files if d == directory else data.directory_go_files(lake, task.repo_id, d)
        for path, text in pkg_files.items():
            if d != directory and path.endswith("_test.go"):
                continue
            files[path] = text
            for imp in imports(text):
                if imp == module or imp.startswith(module + "/"):
                    sub = posixpath.join(module_root, imp[len(module) + 1:]) if imp != module else module_root
                    sub = sub.strip("/") if sub != "." else ""
                    if sub not in seen:
                        seen.add(sub)
                        todo.append(sub)
                elif "." in imp.split("/")[0]:
                    external = True
    tmp = tempfile.TemporaryDirectory(prefix="eval-go-", dir=workdir)
    root = Path(tmp.name)
    for path, text in files.items():
        rel = posixpath.relpath(path, module_root) if module_root else path
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")
    version = _GO_VERSION.search(gomod[1]).group(1) if gomod and _GO_VERSION.search(gomod[1]) else "1.21"
    if gomod and external:  # outside requirements are kept; they build only if the module cache has them
        (root / "go.mod").write_text(gomod[1], encoding="utf-8")
        sums = data.repository_files(lake, task.repo_id, [posixpath.join(module_root, "go.sum")])
        for text in sums.values():
            (root / "go.sum").write_text(text, encoding="utf-8")
    else:  # std-only imports: no requirement needs resolving
        (root / "go.mod").write_text(f"module {module}\n\ngo {version}\n", encoding="utf-8")
    rel_dir = posixpath.relpath(directory, module_root) if module_root else directory
    pkg_dir = root / rel_dir if rel_dir not in ("", ".") else root
    return PackageSite(pkg_dir, pkg_dir / posixpath.basename(task.path), "-mod=mod", "materialised", tmp)


def locate(lake: Lake, task: CodeTask, workdir: Path) -> PackageSite:
    local = _goroot_copy(task, data.repository_name(lake, task.repo_id))
    if local is not None:
        return PackageSite(local.parent, local, None, "goroot")
    return _materialise(lake, task, workdir)


@dataclass
class CheckResult:
    compiles: bool
    vet: bool | None = None      # None: not run (it did not compile)
    tests: bool | None = None    # None: not run
    error: str = ""


def check(site: PackageSite, content: str, workdir: Path, timeout: float, run_vet: bool = True,
          tests_timeout: float | None = None) -> CheckResult:
    """Build the package at its site with its file replaced by `content`; then vet and, if asked, test it."""
    with tempfile.TemporaryDirectory(prefix="eval-overlay-", dir=workdir) as tmp:
        changed = Path(tmp) / site.file.name
        changed.write_text(content, encoding="utf-8")
        overlay = Path(tmp) / "overlay.json"
        overlay.write_text(json.dumps({"Replace": {str(site.file): str(changed)}}))
        flag = ["-overlay", str(overlay)]
        build: GoResult = run_go(["build", *flag, "-o", "/dev/null", "."], site.directory, timeout, site.mod_flag)
        if not build.ok:
            return CheckResult(False, error=build.first_error)
        result = CheckResult(True)
        if run_vet:
            vet = run_go(["vet", *flag, "."], site.directory, timeout, site.mod_flag)
            result.vet, result.error = vet.ok, ("" if vet.ok else vet.first_error)
        if tests_timeout:
            t = run_go(["test", *flag, "-count=1", f"-timeout={int(tests_timeout)}s", "."], site.directory,
                       tests_timeout + 30, site.mod_flag)
            result.tests = t.ok
        return result
