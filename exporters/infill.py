"""Fill-in-the-middle requests for the served GGUF: llama.cpp's `/infill` and a completion's `suffix`.

llama-cpp-python's server (0.3.x) has no `/infill`, and for a `/v1/completions` `suffix` it uses sentinel id 0
("TODO: Fix" in llama_cpp/llama.py), never the model's FIM tokens. This ASGI layer in front of it turns both
into a plain completion whose prompt is artifacts.grammar.fim_prompt(prefix, suffix): llama.cpp tokenises our
sentinels (user-defined pieces in the GGUF) as single tokens, and the answer, the middle, ends at EOS.

- POST /v1/completions with a non-empty "suffix" (OpenAI's field): prompt becomes fim_prompt(prompt, suffix);
  everything else, streaming included, is the server's own.
- POST /infill (llama.cpp server's fields): input_prefix, input_suffix, prompt (the start of the middle, put
  after the middle sentinel as llama.cpp does), n_predict, temperature, top_k, top_p, min_p, repeat_penalty,
  seed, stop; answered like llama.cpp: {"content", "stop", "model", "tokens_predicted", "tokens_evaluated"}.
  input_extra (other files for context, sent by llama.vim / llama.vscode) is accepted and not used: the
  model was trained on single files. Not streamed.
"""
from __future__ import annotations

import json

from exporters.errors import ExportError
from artifacts.grammar import fim_prompt

COMPLETIONS, INFILL = "/v1/completions", "/infill"
# llama.cpp /infill fields with the same meaning (and name) in llama-cpp-python's completion request
_SAMPLING = ("temperature", "top_k", "top_p", "min_p", "repeat_penalty", "seed", "stop")


class InfillError(ExportError):
    """A FIM request the server cannot answer; sent back as 400 with this message."""


def completion_with_suffix(req: dict) -> dict:
    """An OpenAI completion request with `suffix` as the plain completion of its infill prompt."""
    prompt, suffix = req.get("prompt", ""), req.get("suffix")
    if not isinstance(prompt, str) or not isinstance(suffix, str):
        raise InfillError("a completion with `suffix` needs `prompt` and `suffix` as single strings")
    return {**{k: v for k, v in req.items() if k != "suffix"}, "prompt": fim_prompt(prompt, suffix)}


def completion_for_infill(req: dict) -> dict:
    """A llama.cpp /infill request as the equivalent plain completion request."""
    if not isinstance(req, dict):
        raise InfillError("/infill takes a JSON object")
    if req.get("stream"):
        raise InfillError("/infill is not streamed here: use /v1/completions with `suffix` and `stream`")
    parts = {k: req.get(k, "") for k in ("input_prefix", "input_suffix", "prompt")}
    bad = [k for k, v in parts.items() if not isinstance(v, str)]
    if bad:
        raise InfillError(f"/infill: `{bad[0]}` must be a string")
    n_predict = req.get("n_predict", -1)
    if not isinstance(n_predict, int):
        raise InfillError("/infill: `n_predict` must be an integer")
    out = {"prompt": fim_prompt(parts["input_prefix"], parts["input_suffix"]) + parts["prompt"],
           "max_tokens": n_predict if n_predict > 0 else None}
    out.update({k: req[k] for k in _SAMPLING if k in req})
    return out


def infill_answer(completion: dict) -> dict:
    """llama.cpp's /infill answer from an OpenAI completion answer."""
    choice = completion["choices"][0]
    usage = completion.get("usage") or {}
    return {"content": choice["text"], "stop": True, "model": completion.get("model"),
            "stop_type": "limit" if choice.get("finish_reason") == "length" else "eos",
            "tokens_predicted": usage.get("completion_tokens"), "tokens_evaluated": usage.get("prompt_tokens")}


class InfillRoutes:
    """ASGI middleware: FIM requests rewritten for the wrapped OpenAI-compatible app, the rest passed through."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        path = scope.get("path")
        if scope["type"] != "http" or scope.get("method") != "POST" or path not in (COMPLETIONS, INFILL):
            return await self.app(scope, receive, send)
        body = await _read_body(receive)
        try:
            req = json.loads(body or b"null")
        except ValueError:
            req = None
        if path == COMPLETIONS and not (isinstance(req, dict) and req.get("suffix")):
            return await self._forward(scope, receive, send, body)  # no FIM: the server's own answer, errors too
        try:
            rewritten = completion_with_suffix(req) if path == COMPLETIONS else completion_for_infill(req)
        except InfillError as e:
            return await _json(send, 400, {"error": {"message": str(e), "type": "invalid_request_error"}})
        new_body = json.dumps(rewritten).encode()
        if path == COMPLETIONS:
            return await self._forward(scope, receive, send, new_body)
        status, headers, answer = await self._capture(scope, receive, new_body)
        if status != 200:
            return await _send(send, status, headers, answer)
        return await _json(send, 200, infill_answer(json.loads(answer)))

    async def _forward(self, scope, receive, send, body: bytes):
        await self.app(_scope_for(scope, body), _replay(body, receive), send)

    async def _capture(self, scope, receive, body: bytes) -> tuple[int, list, bytes]:
        got: dict = {"status": 500, "headers": [], "body": b""}

        async def send(message):
            if message["type"] == "http.response.start":
                got["status"], got["headers"] = message["status"], message.get("headers", [])
            elif message["type"] == "http.response.body":
                got["body"] += message.get("body", b"")
        await self.app(_scope_for(scope, body, COMPLETIONS), _replay(body, receive), send)
        return got["status"], got["headers"], got["body"]


def _scope_for(scope: dict, body: bytes, path: str | None = None) -> dict:
    headers = [(k, v) for k, v in scope.get("headers", []) if k.lower() != b"content-length"]
    headers.append((b"content-length", str(len(body)).encode()))
    out = dict(scope, headers=headers)
    if path:
        out.update(path=path, raw_path=path.encode())
    return out


def _replay(body: bytes, receive):
    """A receive() that gives the (rewritten) body once, then waits on the client as the original would."""
    sent = False

    async def replay():
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()
    return replay


async def _read_body(receive) -> bytes:
    body, more = b"", True
    while more:
        message = await receive()
        body += message.get("body", b"")
        more = message.get("more_body", False)
    return body


async def _json(send, status: int, payload: dict):
    body = json.dumps(payload).encode()
    await _send(send, status, [(b"content-type", b"application/json")], body)


async def _send(send, status: int, headers: list, body: bytes):
    headers = [(k, v) for k, v in headers if k.lower() != b"content-length"]
    headers.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
