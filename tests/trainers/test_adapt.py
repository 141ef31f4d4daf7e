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

from exporters import cli as exporters_cli
from lake.edge import run_cli
from tests.helpers.fit_runs import TINY, fit_args
from trainers.fit import main as fit
from transforms.pack_cli import main as pack


def export(argv: list[str]) -> int:
    """`python -m exporters ARGV` in-process: an error reaches the edge, one line, exit 2."""
    return run_cli("exporters", exporters_cli.main, argv)


pytestmark = pytest.mark.slow

REPO = Path(__file__).parents[2]
LORA = str(REPO / "trainers/configs/lora.yaml")
CONTINUE = str(REPO / "trainers/configs/continue.yaml")
# TINY's data and trainer settings; the architecture comes from the base folder
SMALL = [x for k, v in zip(TINY[::2], TINY[1::2]) if not k.startswith("--model.") for x in (k, v)] + [
    "--model.warmup_steps", "2"]


def _adapt_args(config, lake, run, base, tokenizer_id, *extra):
    return ["--config", config, "--data.lake", str(lake), "--run_dir", str(run), "--model.init_from", str(base),
            "--data.tokenizer_id", tokenizer_id, *SMALL, *extra]


@pytest.fixture(scope="module")
def stranger(fit_lake, tmp_path_factory):
    """(lake, base HF folder, hf tokenizer id): a briefly trained tiny model, exported, its tokenizer packed."""
    from lake import Lake
    tmp = tmp_path_factory.mktemp("stranger")
    assert fit(fit_args(fit_lake, tmp / "run", "--trainer.max_steps", "30")) == 0
    base = tmp / "their-model"
    assert export(["hf", "--ckpt", str(tmp / "run/checkpoints/final.ckpt"), "--out", str(base)]) == 0
    assert pack(["pack", "--lake", str(fit_lake), "--tokenizer", f"hf:{base}", "--seq-len", "64", "--workers", "1"]) == 0
    with Lake(fit_lake) as lk:
        tok_id = lk.query("SELECT tokenizer_id FROM tokenizers WHERE kind = 'hf'").column(0)[0].as_py()
    return fit_lake, base, tok_id


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
    assert fit(_adapt_args(LORA, lake, run, base, tok_id, "--trainer.max_steps", "160",
                           "--trainer.val_check_interval", "160", "--model.lr", "1e-2")) == 0
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
    from artifacts.lora import apply_lora
    from trainers.adapt import load_base
    unmerged = apply_lora(load_base(base, lora=True), ckpt["hyper_parameters"]["lora"])  # peft, adapters apart
    unmerged.load_state_dict({k.removeprefix("model."): v for k, v in ckpt["state_dict"].items()})
    unmerged.eval()
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


# -- SFT on top of a Hugging Face base, and evaluating what it gives ---------------------------------------
SFT_LORA = str(REPO / "trainers/configs/sft-lora.yaml")
SFT_SMALL = ["--data.seq_len", "64", "--data.batch_size", "4", "--data.max_val_pairs", "64",
             "--trainer.log_every_n_steps", "1", "--trainer.enable_progress_bar", "false",
             "--trainer.max_time", "null", "--model.warmup_steps", "2"]


def response_loss(model, lake, tokenizer_id: str) -> float:
    """Mean loss per response token of `model` on the held-out sft_pairs, encoded as SFTDataModule does."""
    import torch.nn.functional as F
    from trainers.loss import IGNORE
    from trainers.sft import SFTDataModule, collate
    dm = SFTDataModule(lake, tokenizer_id, seq_len=64)
    dm.setup()
    batch = collate([(t, n) for t, n, _, _ in dm.val_rows], dm.pad_id)
    with torch.no_grad():
        logits = model.eval()(input_ids=batch["input_ids"]).logits
    return float(F.cross_entropy(logits.flatten(0, 1), batch["targets"].flatten(), ignore_index=IGNORE))


@pytest.fixture(scope="module")
def sft_lora(stranger, tmp_path_factory):
    """(lake, base, tokenizer id, run folder): SFT with LoRA on the stranger's model, its own tokenizer."""
    lake, base, tok_id = stranger
    run = tmp_path_factory.mktemp("sft-lora") / "run"
    assert fit(["--config", SFT_LORA, "--data.lake", str(lake), "--run_dir", str(run), "--model.init_from", str(base),
                "--data.tokenizer_id", tok_id, *SFT_SMALL, "--trainer.max_steps", "40",
                "--trainer.val_check_interval", "40", "--model.lr", "1e-2"]) == 0
    return lake, base, tok_id, run


def test_sft_with_lora_on_a_hf_base_trains_only_adapters_and_lowers_response_loss(sft_lora):
    from artifacts.checkpoint import load_model
    lake, base, tok_id, run = sft_lora
    base_model = AutoModelForCausalLM.from_pretrained(base, local_files_only=True, dtype=torch.float32)
    before = response_loss(base_model, lake, tok_id)
    ckpt = torch.load(run / "checkpoints/final.ckpt", map_location="cpu", weights_only=False)
    assert ckpt["repo_llm"]["tokenizer_id"] == tok_id and ckpt["repo_llm"]["sft_pairs"]["val"] == 8
    state = {k.removeprefix("model.base_model.model."): v for k, v in ckpt["state_dict"].items()}
    original = load_file(base / "model.safetensors")
    frozen = {k.replace(".base_layer", ""): v for k, v in state.items() if "lora_" not in k}
    assert all(torch.equal(frozen[k], original[k]) for k in original)  # the base is bit for bit DIR's
    assert any(v.abs().sum() > 0 for k, v in state.items() if "lora_B" in k)

    # load_model merges the adapters: a plain causal LM, no peft layer left, whose held-out loss fell
    loaded = load_model(run / "checkpoints/final.ckpt")
    assert not any("lora_" in k for k in loaded.model.state_dict())
    assert loaded.tokenizer_path.name == "tokenizer.json" and loaded.tokenizer_id == tok_id
    after = response_loss(loaded.model, lake, tok_id)
    print(f"sft-lora: held-out response loss {before:.4f} -> {after:.4f}")
    assert after < before - 0.1, (before, after)
    with open(sorted((run / "logs").glob("version_*/metrics.csv"))[-1], newline="") as f:
        logged = [float(r["val/loss"]) for r in csv.DictReader(f) if r.get("val/loss")]
    assert abs(logged[-1] - after) < 1e-3  # the merged model scores what the run's own validation saw


def test_load_model_of_a_lora_checkpoint_works_without_base_or_lake_tokenizer(sft_lora, tmp_path):
    import shutil
    from artifacts.checkpoint import load_model
    from artifacts.tokenizer import Tokenizer
    lake, base, tok_id, run = sft_lora
    ckpt = tmp_path / "moved.ckpt"
    shutil.copyfile(run / "checkpoints/final.ckpt", ckpt)
    state = torch.load(ckpt, map_location="cpu", weights_only=False)
    state["repo_llm"]["tokenizer_path"] = str(tmp_path / "gone/tokenizer.json")  # as if the lake were gone
    state["hyper_parameters"]["init_from"] = str(tmp_path / "gone-base")
    torch.save(state, ckpt)
    loaded = load_model(ckpt)
    tok = Tokenizer.from_file(loaded.tokenizer_path)
    lake_tok = Tokenizer.from_file(next((Path(lake) / "artifacts/tokenizers").glob(f"{tok_id}/tokenizer.json")))
    text = "<PROMPT><DIFF>-\tx := 3\n<RESPONSE>bump x"
    assert tok.encode(text) == lake_tok.encode(text) and tok.decode(tok.encode(text)) == text
    assert tok.eos_id == lake_tok.eos_id is not None
    ids = torch.randint(0, loaded.model.config.vocab_size, (1, 16), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        a = loaded.model(input_ids=ids).logits
        b = load_model(run / "checkpoints/final.ckpt").model(input_ids=ids).logits
    assert torch.equal(a, b)


def test_evaluate_ckpt_of_a_lora_run_writes_evals_rows(sft_lora):
    from lake import Lake
    from evaluation.cli import main as evaluate
    from tests.helpers.held_out import sample
    lake, _, _, run = sft_lora
    ckpt = run / "checkpoints/final.ckpt"
    held = [sample("test", "example.com/held", f"held/f{i}.go", f"package held\n\n// F{i} returns {i}.\n"
                   f"func F{i}() int {{ return {i} }}\n") for i in range(3)]
    with Lake(lake) as lk:  # a held-out repository for the lm suite (the training splits are untouched)
        lk.write("samples", held, mode="scope")
    assert evaluate(["run", str(ckpt), "--lake", str(lake), "--suite", "lm", "--limit", "2"]) == 0
    with Lake(lake) as lk:
        rows = lk.query("SELECT metric, system, value FROM evals WHERE checkpoint = ?", [str(ckpt)]).to_pylist()
    bpb = [r["value"] for r in rows if r["metric"] == "bits_per_byte" and r["system"] == "model"]
    assert bpb and all(0 < v < 16 for v in bpb)


def test_full_sft_on_a_hf_base_trains_every_weight_and_loads_as_a_plain_model(stranger, tmp_path):
    from artifacts.checkpoint import load_model
    lake, base, tok_id = stranger
    run = tmp_path / "sft"
    assert fit(["--config", str(REPO / "trainers/configs/sft-tiny.yaml"), "--data.lake", str(lake),
                "--run_dir", str(run), "--model.init_from", str(base), "--data.tokenizer_id", tok_id, *SFT_SMALL,
                "--trainer.max_steps", "10", "--trainer.val_check_interval", "10", "--model.lr", "3e-3"]) == 0
    loaded = load_model(run / "checkpoints/final.ckpt")
    original = load_file(base / "model.safetensors")
    state = loaded.model.state_dict()
    assert all(not torch.equal(state[k], original[k]) for k in original)
    assert loaded.tokenizer_id == tok_id
    before = response_loss(AutoModelForCausalLM.from_pretrained(base, local_files_only=True, dtype=torch.float32),
                           lake, tok_id)
    assert response_loss(loaded.model, lake, tok_id) < before


def test_merge_lora_refuses_a_base_the_run_did_not_start_from(stranger, tmp_path, capsys):
    import json
    import shutil
    lake, base, tok_id = stranger
    run = tmp_path / "continue"
    assert fit([*_adapt_args(CONTINUE, lake, run, base, tok_id), "--trainer.max_steps", "2"]) == 0
    other = tmp_path / "other"
    shutil.copytree(base, other)
    cfg = json.loads((other / "config.json").read_text())
    cfg["num_hidden_layers"] += 1
    (other / "config.json").write_text(json.dumps(cfg))
    capsys.readouterr()
    assert export(["merge-lora", "--base", str(other), "--adapter", str(run / "checkpoints/final.ckpt"),
                   "--out", str(tmp_path / "merged")]) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "is not the model" in err[0] and "n_layers" in err[0], err
    # the run loads without its base folder: the checkpoint recorded the config it was built from
    shutil.rmtree(other)
    moved = base.with_name("their-model-moved")
    base.rename(moved)
    try:
        from artifacts.checkpoint import load_model
        assert load_model(run / "checkpoints/final.ckpt").model.config.num_hidden_layers == cfg["num_hidden_layers"] - 1
    finally:
        moved.rename(base)
