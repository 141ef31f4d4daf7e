"""Packer and tokenizer figures on real Go (the toolchain's GOROOT), next to baselines measured in the same run.

    .venv/bin/python bench/pack_bench.py [--mb 8] [--scale 10] [--vocab 8000] [--workers 2] [--shard-mb 4]

1. Throughput: `pack` end to end (DuckDB reads -> worker processes -> shards on disk + manifest) in MB of text
   per second over the `--scale`x corpus, next to plain `sentencepiece` encoding of the same texts, already in a
   Python list, one call per text in this process (and, for reference, its own multi-threaded batch call).
   Target: >= 0.8x the one-process figure with 2 workers.
2. Memory: peak RSS of the pack (the packer process and its workers, summed, polled) at 1x and `--scale`x the
   data. Target: within 20% (flat). The packer holds about two shards' text (`--shard-mb`) at a time; a
   bigger corpus also holds bigger single files (GOROOT's largest are several MB), which a shard must take whole.
3. Compression: bytes per token on held-out GOROOT Go files (files in neither corpus) for our SentencePiece BPE
   and a Hugging Face `tokenizers` byte-level BPE of the same vocabulary trained on the same sample.
The 1x corpus is the first `--mb` MB of GOROOT's files in a fixed shuffled order, the `--scale`x one the
first `--scale` * `--mb` MB (distinct real files, no copies); held-out files come after both. Only files the
pipeline keeps (<= TransformConfig.max_file_bytes) are used, and the 1x corpus also holds the `--scale`x
one's longest file: a worker's peak is SentencePiece encoding the longest document, which is a property of
the data, not of its amount (both longest files are printed).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
import pyarrow as pa
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from lake import Lake  # noqa: E402
from lake.arrow import to_arrow  # noqa: E402
from artifacts import grammar  # noqa: E402
from transforms.config import TransformConfig  # noqa: E402
from transforms.tokenizer import Tokenizer, train_tokenizer  # noqa: E402


def goroot() -> Path:
    out = subprocess.run([str(ROOT / ".venv/bin/go"), "env", "GOROOT"], capture_output=True, text=True, check=True)
    return Path(out.stdout.strip())


def corpus_files() -> list[Path]:
    src = goroot() / "src"
    files = sorted(p for p in src.rglob("*") if p.suffix in (".go", ".md") and p.is_file())
    random.Random(6).shuffle(files)
    return files


def take(files: list[Path], start: int, nbytes: int) -> tuple[list[Path], int]:
    """Files from index `start` until `nbytes` of them; returns them and the next index."""
    out, size, i = [], 0, start
    while i < len(files) and size < nbytes:
        out.append(files[i])
        size += files[i].stat().st_size
        i += 1
    return out, i


def samples_table(files: list[Path]) -> pa.Table:
    """`samples` rows for files (the bench is no test: no fixtures module)."""
    src = goroot() / "src"
    rows = []
    for p in files:
        rel = p.relative_to(src).as_posix()
        body = p.read_text(encoding="utf-8")
        nat = p.suffix == ".md"
        text = f"<README>\n{body}" if nat else f"<FILE path={rel}>\n{body}"
        bucket = int(hashlib.sha256(rel.encode()).hexdigest(), 16) % 10
        rows.append({"sample_id": hashlib.sha256(f"files|golang/go|{rel}".encode()).hexdigest(),
                     "split": "val" if bucket == 0 else "test" if bucket == 1 else "train",
                     "category": "NAT" if nat else "MIX" if p.name.endswith("_test.go") else "CODE",
                     "category_rule": "bench", "text": text, "bytes": len(text.encode()), "repo_id": "golang/go",
                     "license": "BSD-3-Clause", "commit": "go1.27.3", "path": rel, "source_table": "files",
                     "lake_snapshot": 0})
    return to_arrow("samples", rows)


def build(path: Path, files: list[Path], vocab: int, sample_bytes: int) -> tuple[Tokenizer, float]:
    with Lake(path) as lk:
        lk.write("samples", samples_table(files), mode="overwrite")
        t0 = time.monotonic()
        tok = train_tokenizer(lk, vocab, sample_bytes, progress=False)
        return tok, time.monotonic() - t0


def measured_pack(lake: Path, workers: int, shard_bytes: int) -> dict:
    """Run `python -m transforms pack` on the lake; poll the RSS of it and its workers.

    The real CLI, not a script of ours: spawned workers re-import a script's __main__ (and with it the lake and
    DuckDB), while `-m transforms` workers import only the packer's encoding side."""
    cmd = [sys.executable, "-m", "transforms", "pack", "--lake", str(lake), "--seq-len", "512",
           "--workers", str(workers), "--shard-bytes", str(shard_bytes)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=ROOT)
    ps, peak, main_peak, worker_peak = psutil.Process(proc.pid), 0, 0, 0
    while proc.poll() is None:
        try:
            main = ps.memory_info().rss
            kids = [p.memory_info().rss for p in ps.children(recursive=True)]
            peak = max(peak, main + sum(kids))
            main_peak = max(main_peak, main)
            worker_peak = max([worker_peak, *kids])
        except psutil.Error:
            pass
        time.sleep(0.02)
    out = proc.stdout.read()
    if proc.returncode != 0:
        raise SystemExit(f"pack failed in {lake}")
    with Lake(lake) as lk:
        run = lk.query("SELECT stats FROM runs WHERE command = 'transforms pack' ORDER BY started_at DESC LIMIT 1")
        stats = json.loads(run.column(0)[0].as_py())
        text = lk.query("SELECT sum(text_bytes)::BIGINT AS b, count(*) AS n FROM shards").to_pylist()[0]
    return {"seconds": stats["seconds"], "text_bytes": text["b"], "shards": text["n"], "output": out,
            "tree_peak_rss_mb": peak / 2**20, "main_peak_rss_mb": main_peak / 2**20,
            "workers_maxrss_mb": worker_peak / 2**20}


def plain_sentencepiece(tok: Tokenizer, lake: Path) -> tuple[float, float, int]:
    """MB/s of sp.encode over the lake's texts: one call per text, and one multi-threaded batch call."""
    with Lake(lake) as lk:
        texts = lk.query("SELECT text FROM samples ORDER BY sample_id").column(0).to_pylist()
    nbytes = sum(len(t.encode()) for t in texts)
    t0 = time.monotonic()
    for t in texts:
        tok.sp.encode(t)
    one = time.monotonic() - t0
    t0 = time.monotonic()
    tok.sp.encode(texts, num_threads=os.cpu_count())
    batch = time.monotonic() - t0
    return nbytes / 1e6 / one, nbytes / 1e6 / batch, nbytes


def hf_byte_level_bpe(tok: Tokenizer, lake: Path):
    """A Hugging Face byte-level BPE of the same vocabulary size, trained on our tokenizer's exact sample."""
    from tokenizers import Tokenizer as HFTokenizer, decoders, models, pre_tokenizers, trainers
    ids = pq.read_table(tok.model_path.with_name("sample.parquet")).column("sample_id").to_pylist()
    with Lake(lake) as lk:
        texts = lk.query("SELECT text FROM samples WHERE sample_id IN (SELECT unnest(?::VARCHAR[])) "
                         "ORDER BY category, sample_id", [ids]).column(0).to_pylist()
    hf = HFTokenizer(models.BPE())
    hf.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    hf.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=tok.vocab_size, show_progress=False,
                                  special_tokens=[grammar.PAD, grammar.UNK, grammar.BOS, grammar.EOS, *grammar.MARKERS],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    t0 = time.monotonic()
    hf.train_from_iterator(texts, trainer)
    return hf, time.monotonic() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mb", type=float, default=8.0, help="1x corpus size, MB of files")
    ap.add_argument("--scale", type=int, default=10)
    ap.add_argument("--vocab", type=int, default=8000)
    ap.add_argument("--sample-mb", type=float, default=4.0, help="tokenizer training sample, MB")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--shard-mb", type=float, default=4.0)
    ap.add_argument("--heldout-mb", type=float, default=2.0)
    args = ap.parse_args()
    shard_bytes = int(args.shard_mb * 2**20)

    # only files the pipeline would keep as samples (sql/clean_files.sql drops bigger ones)
    files = [p for p in corpus_files() if p.stat().st_size <= TransformConfig().max_file_bytes]
    small, _ = take(files, 0, int(args.mb * 1e6))
    big, after = take(files, 0, int(args.mb * args.scale * 1e6))
    # a worker's peak is SentencePiece encoding the longest document (~40 bytes per character): both corpora
    # hold the bigger one's longest file, so that the RSS ratio compares amounts of data, not longest files
    longest = max(big, key=lambda p: p.stat().st_size)
    if longest not in small:
        small.append(longest)
    heldout = [p for p in take(files, after, int(args.heldout_mb * 1e6))[0] if p.suffix == ".go"]
    if len(heldout) < 20:
        raise SystemExit(f"GOROOT has too few files left for a held-out set after {args.mb * args.scale} MB")
    sample_bytes = int(args.sample_mb * 1e6)
    with tempfile.TemporaryDirectory(prefix="pack_bench_") as tmp:
        tmp = Path(tmp)
        tok1, train_s = build(tmp / "x1", small, args.vocab, sample_bytes)
        print(f"tokenizer: vocab {tok1.vocab_size}, sample {tok1.meta['sample_bytes'] / 1e6:.1f} MB, "
              f"trained in {train_s:.1f}s; bytes/token on val {tok1.meta['bytes_per_token_val']}")
        tok10, _ = build(tmp / "x10", big, args.vocab, sample_bytes)

        r1 = measured_pack(tmp / "x1", args.workers, shard_bytes)
        r10 = measured_pack(tmp / "x10", args.workers, shard_bytes)
        one, batch, nbytes = plain_sentencepiece(tok10, tmp / "x10")
        mbps = r10["text_bytes"] / 1e6 / r10["seconds"]
        print(f"\nthroughput on {nbytes / 1e6:.1f} MB ({args.scale}x), {args.workers} workers, "
              f"{args.shard_mb} MB shards ({r10['shards']} shards):")
        print(f"  pack end to end            {mbps:7.2f} MB/s  ({r10['seconds']:.1f}s, pool start and manifest included)")
        print(f"  plain sentencepiece        {one:7.2f} MB/s  one process, sp.encode per text")
        print(f"  sentencepiece batch        {batch:7.2f} MB/s  sp.encode(list, num_threads={os.cpu_count()})")
        print(f"  ratio pack / plain         {mbps / one:7.2f}x   (target >= 0.8x)")
        print(f"  ratio pack / batch         {mbps / batch:7.2f}x")
        print(f"\npeak RSS (packer + workers, summed):")
        for name, r in (("1x", r1), (f"{args.scale}x", r10)):
            print(f"  {name:4} {r['text_bytes'] / 1e6:7.1f} MB text  tree {r['tree_peak_rss_mb']:7.1f} MB  "
                  f"packer {r['main_peak_rss_mb']:7.1f} MB  largest worker {r['workers_maxrss_mb']:7.1f} MB")
        print(f"  longest file: 1x {max(p.stat().st_size for p in small) / 1e6:.2f} MB, "
              f"{args.scale}x {longest.stat().st_size / 1e6:.2f} MB")
        print(f"  ratio {args.scale}x / 1x: {r10['tree_peak_rss_mb'] / r1['tree_peak_rss_mb']:.2f} (target <= 1.20)")

        hf, hf_s = hf_byte_level_bpe(tok1, tmp / "x1")
        texts = [p.read_text(encoding="utf-8") for p in heldout]
        hb = sum(len(t.encode()) for t in texts)
        ours = sum(len(tok1.encode(t)) for t in texts)
        theirs = sum(len(e.ids) for e in hf.encode_batch(texts))
        lossless = sum(tok1.decode(tok1.encode(t)) == t for t in texts)
        print(f"\nbytes per token on {len(texts)} held-out Go files ({hb / 1e6:.1f} MB), vocab {tok1.vocab_size}, "
              f"same {tok1.meta['sample_bytes'] / 1e6:.1f} MB sample:")
        print(f"  sentencepiece BPE (ours)   {hb / ours:.3f}   lossless on {lossless}/{len(texts)} files")
        print(f"  HF byte-level BPE          {hb / theirs:.3f}   (trained in {hf_s:.1f}s)")
        print(f"  ratio ours / HF            {(hb / ours) / (hb / theirs):.2f}x")


if __name__ == "__main__":
    main()
