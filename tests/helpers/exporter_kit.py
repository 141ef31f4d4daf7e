"""What the exporter tests export: a real tokenizer, a briefly trained tiny checkpoint and the lake it names.

Built once per test session (`exporter_kit()`), from real Go text (GOROOT's src): a SentencePiece model with
transforms.tokenizer's options and markers, a trainers.model.LlamaLM trained for a few dozen AdamW steps (so
its next-token distributions are peaked like a real model's, not flat like a random one), saved as a
Lightning-layout checkpoint with the provenance artifacts.checkpoint.load_model reads, and a lake with
`repos`, `samples`, real packed `shards` (artifacts/shard_format.py) and `evals`. No tests in this module.
"""
from __future__ import annotations

import functools
import hashlib
import io
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import sentencepiece as spm
import torch

from lake import Lake
from tests.helpers.lakefill import row
from artifacts import grammar
from artifacts.shard_format import sha256_file, write_docs
from artifacts.tokenizer import Tokenizer, marker_piece
from transforms.tokenizer import SPM_OPTIONS

ROOT = Path(__file__).resolve().parents[2]
VOCAB = 1024
SEQ = 128
STEPS = 16
BATCH = 4
# Repositories of the kit lake: (repo_id, licence, GOROOT packages as its files). The last has no samples.
REPOS = (("golang/go", "BSD-3-Clause", ("strings", "bufio", "sort")),
         ("example/textproto", "MIT", ("net/textproto", "unicode/utf8")),
         ("example/unused", "Apache-2.0", ()))
VAL_PACKAGES = ("bytes",)  # held out: the "validation-like samples" of the logit comparisons


@functools.cache
def goroot() -> Path:
    out = subprocess.run([str(ROOT / ".venv/bin/go"), "env", "GOROOT"], capture_output=True, text=True, check=True)
    return Path(out.stdout.strip())


def go_files(*packages: str) -> list[Path]:
    src = goroot() / "src"
    return [p for pkg in packages for p in sorted((src / pkg).glob("*.go"))]


def document(repo: str, path: Path) -> str:
    """A training document as the transforms serialise one: region markers, tabs and newlines included."""
    rel = path.relative_to(goroot() / "src")
    return f"{grammar.MARKERS[0]}{repo}\n{grammar.MARKERS[2]}{rel}>\n{path.read_text()}"


@dataclass
class Kit:
    root: Path
    tokenizer_path: Path
    ckpt: Path
    lake: Path
    val_texts: list[str]
    train_tokens: int          # tokens of the train split in the kit's shards


_KIT: dict[str, Kit] = {}


def exporter_kit(base: Path) -> Kit:
    if "kit" not in _KIT:
        _KIT["kit"] = _build(base)
    return _KIT["kit"]


def _train_tokenizer(out: Path, texts: list[str]) -> Path:
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(sentence_iterator=iter(texts), model_writer=model, minloglevel=2, num_threads=2,
                                   **{**SPM_OPTIONS, "vocab_size": VOCAB,
                                      "user_defined_symbols": [marker_piece(m) for m in grammar.SINGLE_TOKENS]})
    out.write_bytes(model.getvalue())
    return out


def _train_checkpoint(path: Path, tok: Tokenizer, texts: list[str], meta: dict) -> None:
    from trainers.model import LlamaLM

    torch.manual_seed(0)
    # d_model 256: k-quant blocks are 256 wide, so q4_k really quantises the attention matrices
    lm = LlamaLM(vocab_size=tok.vocab_size, d_model=256, n_layers=2, n_heads=4, n_kv_heads=2, ffn_hidden=512,
                 max_seq_len=SEQ * 2, tie_embeddings=True, seed=0)
    ids = torch.tensor([t for text in texts for t in tok.encode(text) + [tok.eos_id]])
    opt = torch.optim.AdamW(lm.model.parameters(), lr=5e-3)
    gen = torch.Generator().manual_seed(0)
    lm.model.train()
    for _ in range(STEPS):
        start = torch.randint(0, len(ids) - SEQ - 1, (BATCH,), generator=gen)
        x = torch.stack([ids[s:s + SEQ + 1] for s in start.tolist()])
        loss = lm.model(input_ids=x[:, :-1], labels=x[:, 1:].clone()).loss  # HF shifts labels itself
        opt.zero_grad()
        loss.backward()
        opt.step()
    lm.model.eval()
    torch.save({"state_dict": lm.state_dict(), "hyper_parameters": dict(lm.hparams), "global_step": STEPS,
                "repo_llm": {**meta, "step": STEPS, "tokens_seen": STEPS * BATCH * SEQ, "seq_len": SEQ}}, path)


def _fill_lake(lake_path: Path, tok: Tokenizer, ckpt: Path) -> tuple[int, list[str], int]:
    """repos + samples, then one shard per (split, category) packed from them, then an evals row."""
    with Lake(lake_path) as lk:
        repos, samples = [], []
        for repo_id, licence, packages in REPOS:
            repos.append(row("repos", repo_id=repo_id, name=repo_id, license=licence,
                             license_evidence="LICENSE", head_commit=hashlib.sha1(repo_id.encode()).hexdigest()))
            for i, path in enumerate(go_files(*packages)):
                text = document(repo_id, path)
                samples.append(row("samples", sample_id=hashlib.sha256(f"{repo_id}/{path}".encode()).hexdigest(),
                                   split="val" if i % 5 == 4 else "train",
                                   category="NAT" if path.name.startswith("example") else "CODE",
                                   text=text, bytes=len(text.encode()), repo_id=repo_id, license=licence,
                                   path=str(path.relative_to(goroot() / "src")), source_table="files"))
        lk.write("repos", repos, mode="upsert")
        lk.write("samples", samples, mode="upsert")
        snapshot = lk.snapshot()
        shard_rows, train_tokens = [], 0
        groups = sorted({(s["split"], s["category"]) for s in samples})
        for split, category in groups:
            docs = sorted((s for s in samples if (s["split"], s["category"]) == (split, category)),
                          key=lambda s: s["sample_id"])
            encoded = [tok.encode(s["text"]) + [tok.eos_id] for s in docs]
            rel = Path("artifacts/shards/kit") / str(snapshot) / split / category / "00000"
            stem = lake_path / rel
            stem.parent.mkdir(parents=True, exist_ok=True)
            flat = np.array([t for e in encoded for t in e], dtype=np.uint16)
            flat.tofile(stem.with_suffix(".bin"))
            np.save(stem.with_suffix(".idx.npy"), np.cumsum([0] + [len(e) for e in encoded]).astype(np.int64))
            write_docs(stem, [s["sample_id"] for s in docs])
            shard_rows.append(row("shards", shard_id=f"kit-{split}-{category}", path=str(rel), split=split,
                                  category=category, dtype="uint16", tokens=len(flat), documents=len(docs),
                                  sha256=sha256_file(stem.with_suffix(".bin")), tokenizer_id=tok.tokenizer_id,
                                  lake_snapshot=snapshot))
            train_tokens += len(flat) if split == "train" else 0
        lk.write("shards", shard_rows, mode="upsert")
        lk.write("evals", [row("evals", eval_run="other-eval", checkpoint="elsewhere/kit.ckpt", suite="heldout",
                               metric="bpb", category="CODE", value=9.99, n=1, system="model"),
                           row("evals", eval_run="kit-eval", checkpoint=str(ckpt), suite="heldout", metric="bpb",
                               category="CODE", value=1.234, n=42, system="model"),
                           row("evals", eval_run="kit-eval", checkpoint=str(ckpt), suite="heldout", metric="bpb",
                               category="CODE", value=7.777, n=42, system="xz -9 (per doc)")], mode="upsert")
        return snapshot, [r["shard_id"] for r in shard_rows], train_tokens


def _build(base: Path) -> Kit:
    base.mkdir(parents=True, exist_ok=True)
    texts = [document(repo, p) for repo, _, pkgs in REPOS for p in go_files(*pkgs)]
    tok_path = _train_tokenizer(base / "tokenizer.model", texts)
    tok = Tokenizer.from_file(tok_path)
    lake_path = base / "lake"
    ckpt = base / "kit.ckpt"
    snapshot, shard_ids, train_tokens = _fill_lake(lake_path, tok, ckpt)
    blob = tok_path.read_bytes()
    meta = {"tokenizer_id": tok.tokenizer_id, "tokenizer_path": str(tok_path), "tokenizer_model": blob,
            "tokenizer_sha256": hashlib.sha256(blob).hexdigest(), "lake": str(lake_path), "lake_snapshot": snapshot,
            "shards": shard_ids, "categories": ["CODE", "NAT"]}
    _train_checkpoint(ckpt, tok, texts, meta)
    val = [document("golang/go", p) for p in go_files(*VAL_PACKAGES)]
    return Kit(base, tok_path, ckpt, lake_path, val, train_tokens)
