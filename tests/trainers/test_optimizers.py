"""model.optimizer: Muon on the decoder's hidden matrices with AdamW on the rest, stepped as one optimiser
under Lightning, its state in the checkpoint so a resumed run continues the same losses."""
from __future__ import annotations

import pytest
import torch

from artifacts.architecture import fresh_model
from tests.helpers.fit_runs import fit_args, train_losses
from trainers.errors import TrainerError
from trainers.fit import main
from trainers.optimizers import Combined, build_optimizer

ARCH = {"vocab_size": 300, "d_model": 32, "n_layers": 2, "n_heads": 2, "n_kv_heads": 1, "ffn_hidden": 64,
        "max_seq_len": 64, "rope_theta": 10000.0, "norm_eps": 1e-5}


@pytest.mark.parametrize("tied", [True, False])
def test_muon_takes_each_layer_matrix_and_adamw_everything_else_once(tied):
    model = fresh_model({**ARCH, "tie_embeddings": tied}, seed=1)
    opt = build_optimizer("muon", list(model.named_parameters()), 1e-3, 0.1, (0.9, 0.95), on_gpu=False)
    assert isinstance(opt, Combined)
    muon, adamw = opt.optimizers
    assert isinstance(muon, torch.optim.Muon) and isinstance(adamw, torch.optim.AdamW)
    by_id = {id(p): n for n, p in model.named_parameters()}
    in_muon = [by_id[id(p)] for g in muon.param_groups for p in g["params"]]
    in_adamw = [by_id[id(p)] for g in adamw.param_groups for p in g["params"]]
    assert sorted(in_muon + in_adamw) == sorted(by_id.values())  # every parameter, exactly once
    # 7 matrices per layer (q, k, v, o, gate, up, down), counted from the model, not from the rule under test
    layer_matrices = [n for n, m in model.named_modules() if isinstance(m, torch.nn.Linear) and ".layers." in f".{n}"]
    assert len(layer_matrices) == 7 * ARCH["n_layers"] and sorted(in_muon) == sorted(f"{n}.weight" for n in layer_matrices)
    assert any("embed_tokens" in n for n in in_adamw) and all("norm" not in n for n in in_muon)
    assert ("lm_head.weight" in in_adamw) == (not tied)
    # the scheduler's handle: changing a Combined group's lr changes the inner optimiser's
    opt.param_groups[0]["lr"] = 0.5
    assert muon.param_groups[0]["lr"] == 0.5


@pytest.mark.parametrize("kind", ["muon", "adamw"])
def test_embed_lr_is_the_embedding_s_own_rate_and_the_schedule_scales_it_like_the_rest(kind):
    model = fresh_model({**ARCH, "tie_embeddings": False}, seed=1)
    opt = build_optimizer(kind, list(model.named_parameters()), 1e-3, 0.1, (0.9, 0.95), on_gpu=False, embed_lr=3e-2)
    embedding = model.get_input_embeddings().weight
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda step: 0.25 if step else 1.0)
    for when in ("before", "after"):
        rates = {id(p): g["lr"] for g in opt.param_groups for p in g["params"]}
        factor = 1.0 if when == "before" else 0.25
        assert rates.pop(id(embedding)) == pytest.approx(3e-2 * factor), when
        assert model.lm_head.weight.data_ptr() != embedding.data_ptr()  # the untied head keeps the model's rate
        assert list(rates.values()) == pytest.approx([1e-3 * factor] * len(rates)), when
        opt.step()
        sched.step()
    # without embed_lr the embedding trains at the model's rate
    plain = build_optimizer(kind, list(model.named_parameters()), 1e-3, 0.1, (0.9, 0.95), on_gpu=False)
    assert {g["lr"] for g in plain.param_groups} == {1e-3}


def test_adamw_stays_one_plain_optimizer_and_a_wrong_name_is_an_error():
    model = fresh_model({**ARCH, "tie_embeddings": True}, seed=1)
    assert type(build_optimizer("adamw", list(model.named_parameters()), 1e-3, 0.1, (0.9, 0.95), False)) is torch.optim.AdamW
    with pytest.raises(TrainerError, match="model.optimizer 'sgd'"):
        build_optimizer("sgd", list(model.named_parameters()), 1e-3, 0.1, (0.9, 0.95), False)


def test_a_muon_run_resumed_from_its_checkpoint_continues_the_same_losses(fit_lake, tmp_path):
    muon = ["--model.optimizer", "muon", "--model.tie_embeddings", "false", "--checkpoint_every", "6"]
    assert main(fit_args(fit_lake, tmp_path / "whole", *muon, "--trainer.max_steps", "12")) == 0
    assert main(fit_args(fit_lake, tmp_path / "split", *muon, "--trainer.max_steps", "6")) == 0
    ckpt = torch.load(tmp_path / "split/checkpoints/last.ckpt", map_location="cpu", weights_only=False)
    inner = ckpt["optimizer_states"][0]["optimizers"]
    assert len(inner) == 2 and inner[0]["state"]  # Muon's momentum buffers are in the checkpoint
    assert main(fit_args(fit_lake, tmp_path / "split", *muon, "--trainer.max_steps", "12", "--ckpt_path", "last")) == 0
    whole, split = train_losses(tmp_path / "whole"), train_losses(tmp_path / "split")
    assert sorted(whole) == list(range(12)) and whole[11] < whole[0]
    for s in range(6, 12):
        assert split[s] == pytest.approx(whole[s], rel=1e-5, abs=1e-6), s
    # an AdamW run's checkpoint cannot silently start a Muon run's optimiser from nothing
    assert main(fit_args(fit_lake, tmp_path / "adamw", "--model.tie_embeddings", "false", "--checkpoint_every", "6",
                         "--model.optimizer", "adamw", "--trainer.max_steps", "6")) == 0
    assert main(fit_args(fit_lake, tmp_path / "adamw", *muon, "--trainer.max_steps", "12", "--ckpt_path", "last")) == 2
