"""`python -m trainers.fit` end to end on a real Go corpus with a tiny Llama: determinism, resume after SIGKILL,
DDP equivalence, non-finite loss, the checkpoint contract, the lake record, SFT."""
from __future__ import annotations

import csv
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from tests.helpers.fit_runs import fit_args, train_losses
from trainers.fit import main

REPO = Path(__file__).parents[2]


@pytest.fixture(scope="module")
def baseline(fit_lake, tmp_path_factory):
    run = tmp_path_factory.mktemp("baseline")
    assert main(fit_args(fit_lake, run, "--trainer.max_steps", "20", "--trainer.val_check_interval", "20")) == 0
    return run


def test_fit_same_seed_gives_same_first_20_losses(fit_lake, baseline, tmp_path):
    assert main(fit_args(fit_lake, tmp_path / "again", "--trainer.max_steps", "20")) == 0
    first, again = train_losses(baseline), train_losses(tmp_path / "again")
    assert len(first) == 20 and first == again
    assert first[19] < first[0] - 0.5  # it learns
    assert main(fit_args(fit_lake, tmp_path / "other", "--trainer.max_steps", "20", "--data.seed", "99",
                         "--model.seed", "99")) == 0
    assert train_losses(tmp_path / "other") != first


def test_fit_records_run_in_lake_and_checkpoint_loads_alone(fit_lake, baseline, tmp_path):
    from lake import Lake
    from artifacts.checkpoint import load_model
    with Lake(fit_lake) as lk:
        rows = lk.query("SELECT * FROM training_runs WHERE run_dir LIKE ? ", [f"{baseline}%"]).to_pylist()
        shard_ids = set(lk.query("SELECT shard_id FROM shards").column(0).to_pylist())
    assert len(rows) == 1 and rows[0]["status"] == "ok"
    r = rows[0]
    metrics, config = json.loads(r["metrics"]), json.loads(r["config"])
    assert set(r["shards"]) == shard_ids and r["tokenizer_id"].startswith("spm-bpe-400")
    assert metrics["step"] == 20 and metrics["val/bpb_CODE"] > 0 and metrics["xz9"]["CODE"]["per_document"] > 0
    assert config["model"]["d_model"] == 32 and config["trainer"]["max_steps"] == 20
    assert (baseline / "logs/version_0/config.yaml").exists() and (baseline / "logs/version_0/loss_curve.png").exists()
    assert list((baseline / "tensorboard").glob("version_0/events.out.tfevents.*"))

    moved = tmp_path / "elsewhere.ckpt"  # the checkpoint alone, its recorded tokenizer gone
    moved.write_bytes(Path(r["checkpoint"]).read_bytes())
    tok_file = Path(fit_lake) / "artifacts/tokenizers" / r["tokenizer_id"] / "tokenizer.model"
    hidden = tok_file.with_suffix(".hidden")
    tok_file.rename(hidden)
    try:
        loaded = load_model(moved)
    finally:
        hidden.rename(tok_file)
    assert loaded.tokenizer_path != tok_file and loaded.tokenizer_path.read_bytes() == tok_file.read_bytes()
    assert not loaded.model.training and next(loaded.model.parameters()).dtype == torch.float32
    assert loaded.meta["step"] == 20 and loaded.meta["tokens_seen"] == 20 * 4 * 64
    assert loaded.meta["lake_snapshot"] == r["lake_snapshot"] and set(loaded.meta["shards"]) == shard_ids
    assert loaded.model.config.num_key_value_heads == 1 and loaded.model.config.eos_token_id == 3
    ids = torch.tensor([[3, 10, 11, 12]])
    with torch.no_grad():
        assert torch.isfinite(loaded.model(input_ids=ids).logits).all()


def test_print_config_shows_overrides(fit_lake, capsys):
    with pytest.raises(SystemExit) as e:
        main(fit_args(fit_lake, "runs/x", "--model.d_model", "48", "--print_config"))
    assert e.value.code == 0
    out = capsys.readouterr().out
    assert "d_model: 48" in out and "class_path: trainers.data.ShardDataModule" in out


def test_fit_bad_lake_is_one_line_error(tmp_path, capsys):
    rc = main(fit_args(tmp_path / "empty-lake", tmp_path / "run", "--trainer.max_steps", "2"))
    err = capsys.readouterr().err.strip()
    assert rc == 2 and "Traceback" not in err
    assert err.splitlines()[-1].startswith("trainers.fit: lake ") and "no shards" in err.splitlines()[-1]


def test_fit_stops_on_nonfinite_loss_with_checkpoint_from_before(fit_lake, tmp_path, capsys):
    rc = main(fit_args(fit_lake, tmp_path / "run", "--trainer.max_steps", "20", "--model.lr", "1e30",
                       "--model.warmup_steps", "0", "--trainer.gradient_clip_val", "null", "--checkpoint_every", "1"))
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert rc == 2 and ("not finite" in err or "training loss is" in err)
    failed_at = int(re.search(r"step (\d+): stopped", err).group(1))
    named = Path(err.rsplit(" ", 1)[1])
    state = torch.load(named, map_location="cpu", weights_only=False)
    assert state["global_step"] <= failed_at
    assert all(torch.isfinite(v).all() for v in state["state_dict"].values())
    assert not (tmp_path / "run/checkpoints/final.ckpt").exists()


def _subprocess(args, **kw):
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    return subprocess.Popen([sys.executable, "-m", "trainers.fit", *args], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, **kw)


@pytest.mark.slow
def test_fit_resumed_after_sigkill_continues_the_same_loss_curve(fit_lake, tmp_path):
    steps = ["--trainer.max_steps", "40", "--checkpoint_every", "10", "--data.batch_size", "16"]
    whole = _subprocess(fit_args(fit_lake, tmp_path / "whole", *steps))
    out = whole.communicate(timeout=300)[0].decode()
    assert whole.returncode == 0, out[-2000:]

    killed = _subprocess(fit_args(fit_lake, tmp_path / "killed", *steps))
    ckpt_dir = tmp_path / "killed/checkpoints"
    deadline = time.time() + 240
    while not list(ckpt_dir.glob("*step=30.ckpt")) and time.time() < deadline and killed.poll() is None:
        time.sleep(0.02)
    killed.send_signal(signal.SIGKILL)
    killed.wait()
    assert killed.returncode == -signal.SIGKILL
    assert not (ckpt_dir / "final.ckpt").exists()
    resumed_from = torch.load(ckpt_dir / "last.ckpt", map_location="cpu", weights_only=False)["global_step"]
    assert 20 <= resumed_from < 40  # last.ckpt may still be the one before the step-30 save

    resumed = _subprocess(fit_args(fit_lake, tmp_path / "killed", *steps, "--ckpt_path", "last"))
    out = resumed.communicate(timeout=300)[0].decode()
    assert resumed.returncode == 0, out[-2000:]
    a, b = train_losses(tmp_path / "whole"), train_losses(tmp_path / "killed")
    assert sorted(a) == list(range(40)) and all(s in b for s in range(resumed_from, 40))
    for s in range(resumed_from, 40):
        assert b[s] == pytest.approx(a[s], rel=1e-5, abs=1e-6), s


@pytest.mark.slow
def test_ddp_two_processes_follow_one_process_with_double_batch(fit_lake, tmp_path):
    # AdamW: Muon orthogonalises in bf16, which rounds the all-reduce's last-bit differences apart
    common = ["--trainer.max_steps", "12", "--trainer.val_check_interval", "12", "--model.optimizer", "adamw"]
    one = _subprocess(fit_args(fit_lake, tmp_path / "one", *common, "--data.batch_size", "8"))
    out = one.communicate(timeout=300)[0].decode()
    assert one.returncode == 0, out[-2000:]
    two = _subprocess(fit_args(fit_lake, tmp_path / "two", *common, "--data.batch_size", "4",
                               "--trainer.strategy", "ddp", "--trainer.devices", "2"))
    out = two.communicate(timeout=300)[0].decode()
    assert two.returncode == 0, out[-2000:]
    a, b = train_losses(tmp_path / "one"), train_losses(tmp_path / "two")
    assert sorted(a) == sorted(b) == list(range(12))
    for s in range(12):
        assert b[s] == pytest.approx(a[s], rel=1e-4, abs=1e-5), (s, a[s], b[s])
    from artifacts.checkpoint import load_model
    w1 = load_model(tmp_path / "one/checkpoints/final.ckpt").model.state_dict()
    w2 = load_model(tmp_path / "two/checkpoints/final.ckpt").model.state_dict()
    for k in w1:
        torch.testing.assert_close(w1[k], w2[k], rtol=1e-3, atol=1e-4)


def test_sft_fine_tunes_a_checkpoint_on_response_tokens(fit_lake, baseline, tmp_path):
    base = baseline / "checkpoints/final.ckpt"
    rc = main(["--config", str(REPO / "trainers/configs/sft-tiny.yaml"), "--data.lake", str(fit_lake),
               "--run_dir", str(tmp_path / "sft"), "--model.init_from", str(base), "--trainer.max_steps", "15",
               "--trainer.val_check_interval", "15", "--trainer.enable_progress_bar", "false",
               "--trainer.log_every_n_steps", "1", "--trainer.max_time", "null"])
    assert rc == 0
    losses = train_losses(tmp_path / "sft")
    assert len(losses) == 15 and losses[14] < losses[0]
    from artifacts.checkpoint import load_model
    sft = load_model(tmp_path / "sft/checkpoints/final.ckpt")
    assert sft.meta["sft_pairs"]["train"] == 32 and sft.model.config.hidden_size == 32
    with open(next((tmp_path / "sft/logs").glob("version_*/metrics.csv")), newline="") as f:
        assert any(r.get("val/bpb_commit_message") for r in csv.DictReader(f))
