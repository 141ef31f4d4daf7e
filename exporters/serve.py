"""An OpenAI-compatible endpoint for a GGUF on loopback: llama-cpp-python's server (FastAPI + uvicorn), plus
llama.cpp's `/infill` and a completion's `suffix` for fill-in-the-middle (exporters/infill.py).

`serve_forever` runs it in this process until interrupted; a request that leaves a sampling setting out gets
trainers/sampling.py's (llama-cpp-python's own defaults, temperature 0.8, suit chat, not code). `smoke` starts
it as a child process on a free port, asks completions over HTTP, and always stops the child: what the demo
runs, so that no server is left behind.
"""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

from exporters.errors import ExportError
from exporters.infill import InfillRoutes
from evaluation.repetition import repetition
from trainers.llama_runtime import plain_cpu_buffers
from trainers.sampling import DEFAULT, Sampling

HOST = "127.0.0.1"  # loopback only: this is a local endpoint, never exposed
DEFAULT_PORT = 8000
GENERATING = ("/v1/completions", "/v1/chat/completions")


class SamplingDefaults:
    """ASGI middleware: fills the sampling fields a generating request leaves out; what a client sends wins
    (temperature 0 stays greedy)."""

    def __init__(self, app, defaults: dict):
        self.app, self.defaults = app, defaults

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] not in GENERATING:
            return await self.app(scope, receive, send)
        body, more = b"", True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        try:
            request = json.loads(body)
        except ValueError:
            request = None  # not JSON: the server itself answers it with its own error
        if isinstance(request, dict):
            body = json.dumps({**self.defaults, **request}).encode()
        headers = [(k, v) for k, v in scope["headers"] if k.lower() != b"content-length"]
        scope = {**scope, "headers": headers + [(b"content-length", str(len(body)).encode())]}
        replayed = False

        async def replay():
            nonlocal replayed
            if replayed:
                return await receive()  # after the body: the disconnect, when it comes
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await self.app(scope, replay, send)


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def _check_gguf(gguf: Path) -> Path:
    gguf = Path(gguf)
    if not gguf.is_file():
        raise ExportError(f"--gguf {gguf}: no such file")
    with open(gguf, "rb") as f:
        if f.read(4) != b"GGUF":
            raise ExportError(f"--gguf {gguf}: not a GGUF file")
    return gguf


def serve_forever(gguf: Path, port: int, n_ctx: int = 0, threads: int | None = None,
                  sampling: Sampling = DEFAULT) -> None:
    import uvicorn
    from llama_cpp.server.app import create_app
    from llama_cpp.server.settings import ModelSettings, ServerSettings

    gguf = _check_gguf(gguf)
    model = ModelSettings(model=str(gguf), model_alias=gguf.stem, n_ctx=n_ctx, verbose=False,
                          n_threads=threads or max(1, (os.cpu_count() or 2) // 2))
    with plain_cpu_buffers():  # the server loads its model here (see trainers/llama_runtime.py)
        app = create_app(server_settings=ServerSettings(host=HOST, port=port), model_settings=[model])
    app = InfillRoutes(app)  # /infill and `suffix`: fill-in-the-middle (exporters/infill.py)
    uvicorn.run(SamplingDefaults(app, sampling.llama_cpp()), host=HOST, port=port, log_level="warning")


def start_server(gguf: Path, port: int | None = None, n_ctx: int = 0) -> tuple[subprocess.Popen, str]:
    """`python -m exporters serve` as a child process; returns it and its base URL once it answers."""
    gguf = _check_gguf(gguf)
    port = port or free_port()
    cmd = [sys.executable, "-m", "exporters", "serve", "--gguf", str(gguf), "--port", str(port)]
    if n_ctx:
        cmd += ["--n-ctx", str(n_ctx)]
    # stderr to a file, not a pipe: a pipe nobody reads would block a chatty server once it fills
    log = tempfile.TemporaryFile(mode="w+")
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=log, text=True,
                            cwd=Path(__file__).resolve().parent.parent)
    proc.log = log
    base = f"http://{HOST}:{port}/v1"
    try:
        wait_ready(proc, base)
    except BaseException:
        stop_server(proc)
        raise
    return proc, base


def wait_ready(proc: subprocess.Popen, base: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            proc.log.seek(0)
            err = proc.log.read().strip().splitlines()
            raise ExportError(f"server exited with {proc.returncode}: {err[-1] if err else 'no message'}")
        try:
            if requests.get(f"{base}/models", timeout=2).ok:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise ExportError(f"server at {base} did not answer within {timeout:.0f} s")


def stop_server(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    proc.log.close()


def smoke(gguf: Path, prompts: list[str], max_tokens: int = 32, port: int | None = None,
          sampling: Sampling | None = None, seed: int = 0) -> list[dict]:
    """Start the server, ask one seeded /v1/completions per prompt (with the server's own sampling defaults
    unless `sampling` is given), stop it. Returns each reply's prompt, text, tokens and repetition shares."""
    proc, base = start_server(gguf, port)
    replies = []
    try:
        for prompt in prompts:
            request = {"prompt": prompt, "max_tokens": max_tokens, "seed": seed,
                       **(sampling.llama_cpp() if sampling else {})}
            r = requests.post(f"{base}/completions", timeout=120, json=request)
            if not r.ok:
                raise ExportError(f"POST {base}/completions answered {r.status_code}: {r.text[:200]}")
            body = r.json()
            text = body["choices"][0]["text"]
            replies.append({"url": base, "model": body.get("model"), "prompt": prompt, "text": text,
                            "completion_tokens": body.get("usage", {}).get("completion_tokens"),
                            **{k: round(v, 3) for k, v in repetition(text).items()}})
    finally:
        stop_server(proc)
    return replies
