"""python -m transforms tokenizer --vocab-size 32000 [--sample-bytes N] [--lake DIR]: train and store a tokenizer."""
from __future__ import annotations

import argparse
import json
import time

from lake.options import add_lake_options, open_lake
from transforms.tokenizer import train_tokenizer


def parser(command: str = "tokenizer") -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=f"python -m transforms {command}",
                                description="Train a lossless SentencePiece BPE on a category-stratified sample "
                                            "of the train split; store it under the lake's artifacts/tokenizers/.")
    p.add_argument("--vocab-size", type=int, required=True)
    p.add_argument("--sample-bytes", type=int, default=200_000_000,
                   help="bytes of train text to train on, shared equally between categories (default 200 MB)")
    p.add_argument("--threads", type=int, default=None, help="SentencePiece trainer threads (default: all cores)")
    return add_lake_options(p)


def main(argv: list[str]) -> int:
    args = parser().parse_args(argv[1:])
    with open_lake(args) as lk, lk.run("transforms tokenizer", vars(args)) as run:
        t0 = time.monotonic()
        tok = train_tokenizer(lk, args.vocab_size, args.sample_bytes, num_threads=args.threads, progress=not args.quiet)
        run.rows = 1
        run.stats.update(tokenizer_id=tok.tokenizer_id, seconds=round(time.monotonic() - t0, 1),
                         sample_bytes=tok.meta["sample_bytes"], bytes_per_token=tok.meta["bytes_per_token_val"])
    print(f"tokenizer {tok.tokenizer_id}: vocab {tok.vocab_size}, trained on {tok.meta['sample_bytes']:,} bytes in "
          f"{run.stats['seconds']}s; bytes/token on val {json.dumps(tok.meta['bytes_per_token_val'])}; "
          f"{tok.model_path}")
    return 0
