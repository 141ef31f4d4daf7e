"""python -m transforms pack --seq-len 2048 [--tokenizer ID | --tokenizer hf:DIR [--hf-markers text|special]] [--lake DIR] [--workers N] [--verify | --print-id]."""
from __future__ import annotations

import argparse
import os
from collections import defaultdict

from artifacts.hf_tokenizer import tokenizer_id_for
from lake.options import add_lake_options, open_lake
from transforms.errors import TransformError
from transforms.packer import PackConfig, pack, verify_shards


def parser(command: str = "pack") -> argparse.ArgumentParser:
    d = PackConfig()
    p = argparse.ArgumentParser(prog=f"python -m transforms {command}",
                                description="Encode the gold samples into memory-mapped token shards per split and "
                                            "category (artifacts/shards/), with a `shards` manifest row each.")
    p.add_argument("--seq-len", type=int, default=d.seq_len, help=f"training window, recorded per shard ({d.seq_len})")
    p.add_argument("--tokenizer", default=None,
                   help="tokenizer_id (default: the newest), or hf:DIR for a Hugging Face model folder's tokenizer.json")
    p.add_argument("--hf-markers", choices=("text", "special"), default=d.hf_markers,
                   help="with hf:DIR, region markers as plain text (default; the model is unchanged, LoRA-safe) or "
                        "as added special tokens (training resizes the embeddings)")
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="encoding processes (default: cores)")
    p.add_argument("--shard-bytes", type=int, default=d.shard_bytes, help=f"text bytes per shard ({d.shard_bytes:,})")
    what = p.add_mutually_exclusive_group()
    what.add_argument("--verify", action="store_true", help="only check the newest pack's shards against their sha256")
    what.add_argument("--print-id", action="store_true", help="with --tokenizer hf:DIR, only print the id its pack "
                      "gets (for --data.tokenizer_id), packing nothing")
    return add_lake_options(p)


def main(argv: list[str]) -> int:
    args = parser().parse_args(argv[1:])
    if args.print_id:
        if not (args.tokenizer or "").startswith("hf:"):
            raise TransformError(f"--print-id needs --tokenizer hf:DIR, not {args.tokenizer!r}")
        print(tokenizer_id_for(args.tokenizer[3:], args.hf_markers))
        return 0
    with open_lake(args) as lk:
        if args.verify:
            rows = verify_shards(lk, args.tokenizer)
            print(f"{len(rows)} shards of {rows[0]['tokenizer_id']} @ snapshot {rows[0]['lake_snapshot']}: "
                  f"checksums match")
            return 0
        cfg = PackConfig(seq_len=args.seq_len, tokenizer_id=args.tokenizer, hf_markers=args.hf_markers, workers=args.workers,
                         shard_bytes=args.shard_bytes, progress=not args.quiet)
        with lk.run("transforms pack", vars(args)) as run:
            result = pack(lk, cfg)
            run.rows = len(result.rows)
            run.stats.update(tokenizer_id=result.tokenizer_id, lake_snapshot=result.lake_snapshot,
                             packed=len(result.packed), skipped=len(result.skipped),
                             repaired=len(result.repaired), seconds=round(result.seconds, 1),
                             mb_per_s=round(result.mb_per_s, 2))
    totals: dict = defaultdict(lambda: [0, 0, 0])
    for r in result.rows:
        t = totals[(r["split"], r["category"])]
        t[0] += 1
        t[1] += r["documents"]
        t[2] += r["tokens"]
    for (split, cat), (shards, docs, tokens) in sorted(totals.items()):
        print(f"{split:5} {cat:4} {shards:4} shards {docs:9,} documents {tokens:13,} tokens")
    print(f"packed {len(result.packed)} shards, skipped {len(result.skipped)} complete ones "
          f"({len(result.repaired)} repaired) with {result.tokenizer_id} @ snapshot {result.lake_snapshot} in "
          f"{result.seconds:.1f}s ({result.mb_per_s:.1f} MB/s of text)")
    return 0
