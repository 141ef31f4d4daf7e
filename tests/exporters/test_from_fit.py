"""The exporters on what the pipeline really produces: transforms' tokenizer and packer, a `trainers.fit` run."""
from __future__ import annotations

import csv

import numpy as np
import pytest
import torch

from exporters.cli import main
from artifacts.llama_runtime import load_llama
from lake import Lake
from tests.helpers.fit_runs import CONFIG, TINY
from tests.helpers.go_corpus import build_go_lake
from artifacts.checkpoint import load_model
from trainers.fit import main as fit
from artifacts.tokenizer import Tokenizer

pytestmark = pytest.mark.slow


def test_fit_checkpoint_exports_to_hf_and_gguf_that_agree_with_it(tmp_path):
    lake = tmp_path / "lake"
    with Lake(lake) as lk:
        build_go_lake(lk, max_files=120, vocab_size=400)
    run = tmp_path / "run"
    assert fit(["--config", CONFIG, "--data.lake", str(lake), "--run_dir", str(run), *TINY,
                "--trainer.max_steps", "20", "--model.d_model", "64", "--model.n_heads", "4",
                "--model.n_kv_heads", "2", "--model.ffn_hidden", "128"]) == 0
    ckpt = run / "checkpoints" / "final.ckpt"
    assert main(["hf", "--ckpt", str(ckpt), "--out", str(tmp_path / "hf")]) == 0  # lake: the one ckpt records
    assert main(["gguf", "--hf", str(tmp_path / "hf"), "--out", str(tmp_path / "m.gguf"), "--type", "f16"]) == 0

    with Lake(lake) as lk:
        texts = lk.query("SELECT text FROM samples WHERE split = 'val' ORDER BY sample_id LIMIT 20").column(0).to_pylist()
        shard_tokens = lk.query("SELECT sum(tokens)::BIGINT FROM shards").column(0)[0].as_py()
    loaded = load_model(ckpt)
    tok = Tokenizer.from_file(loaded.tokenizer_path)
    vocab = load_llama(tmp_path / "m.gguf", vocab_only=True)
    assert all(vocab.tokenize(t.encode(), add_bos=False, special=True) == tok.encode(t) for t in texts)

    ctx = loaded.model.config.max_position_embeddings
    lm = load_llama(tmp_path / "m.gguf", n_ctx=ctx, logits_all=True, n_threads=2)
    agree = total = 0
    for text in texts:
        ids = tok.encode(text)[:ctx]
        with torch.no_grad():
            ours = loaded.model(torch.tensor([ids])).logits[0].numpy()
        lm.reset()
        lm.eval(ids)
        agree += int((np.array(lm.scores[: len(ids)]).argmax(-1) == ours.argmax(-1)).sum())
        total += len(ids)
    assert total > 500 and agree / total >= 0.99

    with open(tmp_path / "hf" / "dataset_license_manifest.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert sum(int(r["tokens"]) for r in rows) == shard_tokens
