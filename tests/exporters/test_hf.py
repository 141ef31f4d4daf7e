"""Hugging Face export: loads offline with transformers' Auto classes and computes what the checkpoint does."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch

from exporters import cli
from tests.helpers.exporter_kit import ROOT
from artifacts.checkpoint import load_model
from artifacts.tokenizer import Tokenizer
from lake.edge import run_cli


def main(argv: list[str]) -> int:
    """The command as `python -m exporters` runs it: an error that escapes is one line and exit code 2."""
    return run_cli("exporters", cli.main, argv)


@pytest.fixture(scope="module")
def hf_dir(kit, tmp_path_factory):
    out = tmp_path_factory.mktemp("hf") / "export"
    assert main(["hf", "--ckpt", str(kit.ckpt), "--out", str(out)]) == 0
    return out


def test_hf_export_writes_the_files_serving_stacks_expect(hf_dir):
    for name in ("config.json", "model.safetensors", "generation_config.json", "tokenizer.json",
                 "tokenizer_config.json", "tokenizer.model", "README.md", "dataset_license_manifest.csv"):
        assert (hf_dir / name).is_file(), name
    config = json.loads((hf_dir / "config.json").read_text())
    assert config["architectures"] == ["LlamaForCausalLM"] and config["model_type"] == "llama"


def test_hf_export_loads_offline_and_gives_the_checkpoints_logits(kit, hf_dir):
    """A fresh interpreter with the hub switched off: nothing can come from the network."""
    script = f"""
import json, sys, torch
from transformers import AutoModelForCausalLM, AutoTokenizer
m = AutoModelForCausalLM.from_pretrained({str(hf_dir)!r}, local_files_only=True).eval()
t = AutoTokenizer.from_pretrained({str(hf_dir)!r}, local_files_only=True)
texts = json.load(sys.stdin)
ids = [t.encode(x, add_special_tokens=False) for x in texts]
with torch.no_grad():
    logits = m(torch.tensor([ids[0][:200]])).logits[0]
torch.save({{"ids": ids, "logits": logits, "decoded": [t.decode(i) for i in ids],
            "eos": m.generation_config.eos_token_id,
            "chat": t.apply_chat_template([{{"role": "user", "content": "hi"}}], tokenize=False,
                                          add_generation_prompt=True)}}, sys.argv[1])
"""
    texts = kit.val_texts[:4] + ["\t\tx := y  \n\n<DIFF>\n-\ta\n+\tb\n<PROMPT>why?<RESPONSE>because"]
    out = hf_dir.parent / "probe.pt"
    env = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "PATH": "/usr/bin:/bin", "HOME": str(hf_dir.parent)}
    run = subprocess.run([sys.executable, "-c", script, str(out)], input=json.dumps(texts), text=True,
                         capture_output=True, env=env, cwd=ROOT, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    probe = torch.load(out)
    tok = Tokenizer.from_file(kit.tokenizer_path)
    assert probe["ids"] == [tok.encode(x) for x in texts]
    assert probe["decoded"] == texts
    model = load_model(kit.ckpt).model
    with torch.no_grad():
        expected = model(torch.tensor([probe["ids"][0][:200]])).logits[0]
    assert torch.allclose(probe["logits"], expected, atol=1e-5)
    assert probe["eos"] == tok.eos_id
    assert probe["chat"] == "<PROMPT>hi<RESPONSE>"


def test_hf_export_of_a_missing_checkpoint_is_a_one_line_error(tmp_path, capsys):
    assert main(["hf", "--ckpt", str(tmp_path / "nope.ckpt"), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "nope.ckpt" in err
    assert not (tmp_path / "out").exists()


def test_hf_export_refuses_a_folder_holding_something_else(kit, tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("mine")
    assert main(["hf", "--ckpt", str(kit.ckpt), "--out", str(tmp_path)]) == 2
    assert "not an earlier export" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_hf_export_generation_config_carries_the_served_sampling(hf_dir):
    from transformers import AutoModelForCausalLM, GenerationConfig

    from artifacts.sampling import DEFAULT
    gen = GenerationConfig.from_pretrained(hf_dir, local_files_only=True)
    assert gen.do_sample is True
    assert (gen.temperature, gen.top_p, gen.top_k, gen.repetition_penalty) == (
        DEFAULT.temperature, DEFAULT.top_p, DEFAULT.top_k, DEFAULT.repetition_penalty)
    # generate() with no arguments samples with them: two seeds give two continuations, greedy stays one call away
    model = AutoModelForCausalLM.from_pretrained(hf_dir, local_files_only=True).eval()
    x = torch.tensor([[model.config.eos_token_id] * 2])
    outs = set()
    for seed in range(4):
        torch.manual_seed(seed)
        outs.add(tuple(model.generate(x, max_new_tokens=24, min_new_tokens=24)[0].tolist()))
    assert len(outs) > 1
    greedy = {tuple(model.generate(x, max_new_tokens=24, min_new_tokens=24, do_sample=False)[0].tolist())
              for _ in range(2)}
    assert len(greedy) == 1
