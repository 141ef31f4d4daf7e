"""Function-body completion tasks mined from held-out Go files.

gofuncs/main.go (go/parser + go/ast) gives every function's doc comment, signature and body offsets. A task
shows the model the file up to and including the body's opening brace (so the signature, the doc comment and
what the file declared before it) and asks for the body; the reference is the original body.
"""
from __future__ import annotations

import hashlib
import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

from artifacts.grammar import file_start
from evaluation.errors import EvalError
from evaluation.gotoolchain import build_tool

MINER_SOURCE = Path(__file__).with_name("gofuncs")


@dataclass
class CodeTask:
    item_id: str
    repo_id: str
    path: str
    content: str          # the original file
    name: str             # function name (Recv.Name for methods is not needed: offsets are exact)
    lbrace: int           # byte offsets of the body's braces in content (UTF-8)
    rbrace: int
    doc_start: int

    @property
    def raw(self) -> bytes:
        return self.content.encode("utf-8")

    @property
    def prompt(self) -> str:
        return file_start(self.path, self.raw[: self.lbrace + 1].decode("utf-8"))

    @property
    def reference(self) -> str:
        """The body after its opening brace, closing brace included."""
        return self.raw[self.lbrace + 1: self.rbrace + 1].decode("utf-8")

    @property
    def probe(self) -> str:
        """What decontamination looks for in train: doc comment, signature and body."""
        return self.raw[self.doc_start: self.rbrace + 1].decode("utf-8")

    def with_body(self, body: str) -> str:
        """The file with the body replaced (body: what follows the opening brace, closing brace included)."""
        raw = self.raw
        return (raw[: self.lbrace + 1] + body.encode("utf-8") + raw[self.rbrace + 1:]).decode("utf-8")


def mine(files: Iterable[dict], cache: Path) -> Iterator[tuple[dict, dict]]:
    """(file row, function record) for every function with a body, files fed through the Go miner."""
    binary = build_tool(MINER_SOURCE, cache)
    rows = list(files)
    if not rows:
        return
    payload = "".join(json.dumps({"id": str(i), "content": r["content"]}) + "\n" for i, r in enumerate(rows))
    p = subprocess.run([str(binary)], input=payload, capture_output=True, text=True, timeout=300)
    if p.returncode != 0:
        raise EvalError(f"the Go function miner failed: {p.stderr.strip().splitlines()[:1]}")
    for line in p.stdout.splitlines():
        rec = json.loads(line)
        if rec.get("error") or not rec.get("id"):
            continue  # a file that does not parse has no tasks
        yield rows[int(rec["id"])], rec


def select_tasks(files: Iterable[dict], cache: Path, min_lines: int, max_lines: int, batch: int = 64) -> Iterator[CodeTask]:
    """Documented functions with a body of min_lines..max_lines lines, at most one per file, in file order."""
    buf: list[dict] = []

    def flush():
        chosen: dict[int, tuple[dict, dict]] = {}  # the miner answers in input order, so this keeps file order
        for row, rec in mine(buf, cache):
            if rec["doc_start"] < 0 or not (min_lines <= rec["body_lines"] <= max_lines) or rec["name"] == "_":
                continue
            chosen.setdefault(id(row), (row, rec))
        for row, rec in chosen.values():
            key = f"{row['repo_id']}\0{row['path']}\0{rec['name']}\0{rec['lbrace']}"
            yield CodeTask("code:" + hashlib.sha256(key.encode()).hexdigest()[:16], row["repo_id"], row["path"],
                           row["content"], rec["name"], rec["lbrace"], rec["rbrace"], rec["doc_start"])
        buf.clear()

    for row in files:
        buf.append(row)
        if len(buf) >= batch:
            yield from flush()
    if buf:
        yield from flush()


def close_body(generated: str) -> str | None:
    """The generated text up to the brace that closes the body (the prompt ended inside `{`), or None.

    A small Go lexer: braces inside strings, raw strings, runes and comments do not count.
    """
    depth, i, n = 1, 0, len(generated)
    while i < n:
        c = generated[i]
        if c == "/" and generated.startswith("//", i):
            j = generated.find("\n", i)
            i = n if j < 0 else j
        elif c == "/" and generated.startswith("/*", i):
            j = generated.find("*/", i + 2)
            if j < 0:
                return None
            i = j + 1
        elif c in "\"'":
            i += 1
            while i < n and generated[i] != c and generated[i] != "\n":
                i += 2 if generated[i] == "\\" else 1
        elif c == "`":
            j = generated.find("`", i + 1)
            if j < 0:
                return None
            i = j
        elif c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return generated[: i + 1]
        i += 1
    return None
