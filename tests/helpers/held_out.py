"""Held-out repositories in a lake, as the evaluation tests (and the trainer and serve tests that evaluate)
need them: real GOROOT Go files under a module path of their own."""
from __future__ import annotations

import hashlib

from tests.helpers.go_corpus import category_of, goroot
from tests.helpers.lakefill import row

HELD, TRAINED = "example.com/held", "example.com/trained"


def sample(split: str, repo: str, path: str, content: str, sample_id: str | None = None) -> dict:
    text = f"<FILE path={path}>\n{content}"
    return row("samples", sample_id=sample_id or hashlib.sha256(f"{repo}\0{path}".encode()).hexdigest(),
               split=split, category=category_of(path, content), category_rule="test", text=text,
               bytes=len(text.encode()), repo_id=repo, license="BSD-3-Clause", commit="c0", path=path,
               source_table="files")


def fill_held_module(lake) -> None:
    """A held-out module in `files`: container/list under its own module path (built from the lake) and
    container/ring at its GOROOT path (built in GOROOT)."""
    src = goroot() / "src"
    files = {"go.mod": f"module {HELD}\n\ngo 1.22\n",
             "list/list.go": (src / "container/list/list.go").read_text(),
             "list/list_test.go": (src / "container/list/list_test.go").read_text(),
             "container/ring/ring.go": (src / "container/ring/ring.go").read_text()}
    lake.write("files", [row("files", repo_id=HELD, commit="c0", path=p, content=c, size=len(c)) for p, c in files.items()])
    lake.write("repos", [row("repos", repo_id=HELD, name=HELD)])


def held_out_lake(lake) -> str:
    """A held-out repository (its samples in the test split) and a trained one, each with Go files in `files`;
    returns the held-out file whose head the prompt must be."""
    src = goroot() / "src"
    held = (src / "container/ring/ring.go").read_text()
    trained = (src / "container/list/list.go").read_text()
    lake.write("files", [row("files", repo_id=HELD, commit="c0", path="ring/ring.go", content=held, size=len(held)),
                         row("files", repo_id=TRAINED, commit="c0", path="list/list.go", content=trained,
                             size=len(trained))])
    lake.write("samples", [row("samples", sample_id="s-held", repo_id=HELD, split="test", category="CODE",
                               text=held), row("samples", sample_id="s-trained", repo_id=TRAINED, split="train",
                                               category="CODE", text=trained)])
    return held
