"""Adapting a stranger's checkpoint: our tiny model exported by `exporters hf` and treated as someone else's
Hugging Face folder (its own tokenizer.json), packed with that tokenizer, then LoRA / continued pretraining
through `trainers.fit`, then `exporters merge-lora`."""
from __future__ import annotations

import csv
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from transformers import AutoModelForCausalLM

from exporters.cli import main as export
from tests.test_trainers import TINY, fit_args, go_lake  # noqa: F401  (go_lake: the module's lake fixture)
from trainers.fit import main as fit
from transforms.pack_cli import main as pack

pytestmark = pytest.mark.slow

REPO = Path(__file__).parents[1]
LORA = str(REPO / "trainers/configs/lora.yaml")
CONTINUE = str(REPO / "trainers/configs/continue.yaml")
# TINY's data and trainer settings; the architecture comes from the base folder
SMALL = [x for k, v in zip(TINY[::2], TINY[1::2]) if not k.startswith("--model.") for x in (k, v)] + [
    "--model.warmup_steps", "2"]


def _adapt_args(config, lake, run, base, tokenizer_id, *extra):
    return ["--config", config, "--data.lake", str(lake), "--run_dir", str(run), "--model.init_from", str(base),
            "--data.tokenizer_id", tokenizer_id, *SMALL, *extra]


@pytest.fixture(scope="module")
def stranger(go_lake, tmp_path_factory):  # noqa: F811
    """(lake, base HF folder, hf tokenizer id): a briefly trained tiny model, exported, its tokenizer packed."""
    from lake import Lake
    tmp = tmp_path_factory.mktemp("stranger")
    assert fit(fit_args(go_lake, tmp / "run", "--trainer.max_steps", "30")) == 0
    base = tmp / "their-model"
    assert export(["hf", "--ckpt", str(tmp / "run/checkpoints/final.ckpt"), "--out", str(base)]) == 0
    assert pack(["pack", "--lake", str(go_lake), "--tokenizer", f"hf:{base}", "--seq-len", "64", "--workers", "1"]) == 0
    with Lake(go_lake) as lk:
        tok_id = lk.query("SELECT tokenizer_id FROM tokenizers WHERE kind = 'hf'").column(0)[0].as_py()
    return go_lake, base, tok_id


def _val_bpb(run: Path) -> list[float]:
    with open(sorted((run / "logs").glob("version_*/metrics.csv"))[-1], newline="") as f:
        return [float(r["val/bpb"]) for r in csv.DictReader(f) if r.get("val/bpb")]


def held_out_bpb(model, lake, tokenizer_id: str) -> float:
    from trainers.adapt import held_out_bpb as metrics
    from trainers.data import ShardDataModule
    dm = ShardDataModule(lake, tokenizer_id, seq_len=64, val_tokens_per_category=2048, baselines=False)
    dm.setup()
    return metrics(model, dm)["val/bpb"]


def test_lora_trains_only_adapters_lowers_bpb_and_merges_to_the_same_logits(stranger, tmp_path, capsys):
    lake, base, tok_id = stranger
    base_model = AutoModelForCausalLM.from_pretrained(base, local_files_only=True, dtype=torch.float32).eval()
    before = held_out_bpb(base_model, lake, tok_id)
    run = tmp_path / "lora"
    assert fit(_adapt_args(LORA, lake, run, base, tok_id, "--trainer.max_steps", "120",
                           "--trainer.val_check_interval", "120", "--model.lr", "1e-2")) == 0
    assert "trainable parameters of" in capsys.readouterr().err
    after = _val_bpb(run)[-1]
    print(f"lora: held-out bpb {before:.4f} -> {after:.4f}")
    assert after < before - 0.01, (before, after)

    # only the adapters changed: every base weight in the checkpoint is DIR's, bit for bit
    ckpt = torch.load(run / "checkpoints/final.ckpt", map_location="cpu", weights_only=False)
    state = {k.removeprefix("model.base_model.model."): v for k, v in ckpt["state_dict"].items()}
    original = load_file(base / "model.safetensors")
    adapters = {k: v for k, v in state.items() if "lora_" in k}
    assert adapters and any(v.abs().sum() > 0 for k, v in adapters.items() if "lora_B" in k)
    frozen = {k.replace(".base_layer", ""): v for k, v in state.items() if "lora_" not in k}
    assert set(original) <= set(frozen)
    assert all(torch.equal(frozen[k], original[k]) for k in original)
    trainable = ckpt["repo_llm"]["trainable_parameters"]
    assert trainable == sum(v.numel() for v in adapters.values()) < ckpt["repo_llm"]["parameters"]

    # the merged folder gives base + adapter's logits, and the GGUF exporter takes it
    merged_dir = tmp_path / "merged"
    assert export(["merge-lora", "--base", str(base), "--adapter", str(run / "checkpoints/final.ckpt"),
                   "--out", str(merged_dir)]) == 0
    merged = AutoModelForCausalLM.from_pretrained(merged_dir, local_files_only=True, dtype=torch.float32).eval()
    from exporters.merge_lora import adapted_model
    unmerged = adapted_model(base, run / "checkpoints/final.ckpt")
    ids = torch.randint(0, merged.config.vocab_size, (2, 48), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        a, b = unmerged(input_ids=ids).logits, merged(input_ids=ids).logits
    assert torch.allclose(a, b, atol=1e-4, rtol=1e-4), float((a - b).abs().max())
    assert abs(held_out_bpb(merged, lake, tok_id) - after) < 1e-3
    assert export(["gguf", "--hf", str(merged_dir), "--out", str(tmp_path / "m.gguf"), "--type", "f32"]) == 0


def test_continued_pretraining_trains_every_weight_and_resumes(stranger, tmp_path):
    lake, base, tok_id = stranger
    run = tmp_path / "continue"
    args = _adapt_args(CONTINUE, lake, run, base, tok_id, "--trainer.val_check_interval", "10",
                       "--checkpoint_every", "5", "--model.lr", "3e-3")
    assert fit([*args, "--trainer.max_steps", "5"]) == 0
    assert fit([*args, "--trainer.max_steps", "10", "--ckpt_path", "last"]) == 0
    ckpt = torch.load(run / "checkpoints/final.ckpt", map_location="cpu", weights_only=False)
    assert ckpt["global_step"] == 10
    original = load_file(base / "model.safetensors")
    state = {k.removeprefix("model."): v for k, v in ckpt["state_dict"].items()}
    changed = [k for k in original if not torch.equal(state[k], original[k])]
    assert len(changed) == len(original)  # every tensor moved, norms included
    assert export(["merge-lora", "--base", str(base), "--adapter", str(run / "checkpoints/final.ckpt"),
                   "--out", str(tmp_path / "merged")]) == 0
    merged = AutoModelForCausalLM.from_pretrained(tmp_path / "merged", local_files_only=True, dtype=torch.float32)
    assert torch.equal(merged.state_dict()["model.norm.weight"], state["model.norm.weight"])


def test_adapting_on_shards_of_another_tokenizer_is_one_line_error(stranger, tmp_path, capsys):
    lake, base, _ = stranger
    from lake import Lake
    with Lake(lake) as lk:
        ours = lk.query("SELECT tokenizer_id FROM tokenizers WHERE kind = 'sentencepiece'").column(0)[0].as_py()
    assert fit(_adapt_args(LORA, lake, tmp_path / "bad", base, ours, "--trainer.max_steps", "2")) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert "has its own tokenizer" in err and ours in err


def test_added_marker_tokens_grow_the_embeddings_and_lora_refuses_them(stranger):
    from trainers.adapt import load_base
    from trainers.errors import TrainerError
    _, base, _ = stranger
    vocab = load_base(base).config.vocab_size
    grown = load_base(base, vocab + 3)
    assert grown.get_input_embeddings().weight.shape[0] == vocab + 3 == grown.config.vocab_size
    with pytest.raises(TrainerError, match="LoRA does not train embeddings"):
        load_base(base, vocab + 3, lora=True)
