"""A real Go corpus for the trainer tests: GOROOT files as `samples`, the real tokenizer, and shards with their
`shards` rows packed by the project's own packer (transforms/packer.py), so the trainers read what they will
read in production."""
from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

from tests.lakefill import row
from artifacts.shard_format import ShardReader, verify_row


def goroot() -> Path:
    out = subprocess.run([str(Path(__file__).parents[1] / ".venv/bin/go"), "env", "GOROOT"], capture_output=True,
                         text=True, check=True)
    return Path(out.stdout.strip())


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


def test_trainers_corpus_shards_hold_every_sample_in_order(lake):
    built = build_go_lake(lake, max_files=60, vocab_size=400)
    tok = built["tokenizer"]
    n_samples = lake.count("samples")
    seen = 0
    for s in built["shards"]:
        stem = lake.root / s["path"]
        verify_row(stem, s)
        reader = ShardReader(stem, s["dtype"])
        ids = reader.sample_ids()
        assert reader.documents == len(ids) == s["documents"]
        first = lake.query("SELECT text FROM samples WHERE sample_id = ?", [ids[0]]).column(0)[0].as_py()
        doc = reader.tokens[int(reader.offsets[0]):int(reader.offsets[1])]
        assert int(doc[-1]) == tok.eos_id and tok.decode([int(t) for t in doc[:-1]]) == first
        seen += reader.documents
    assert seen == n_samples
