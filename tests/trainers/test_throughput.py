"""The training loop's throughput switches: sdpa attention, torch.compile (GPU default, CPU flag), optimiser kernel."""
from __future__ import annotations

import pytest
import torch

from trainers.model import LlamaLM


def tiny(**kw) -> LlamaLM:
    return LlamaLM(vocab_size=300, d_model=64, n_layers=2, n_heads=4, n_kv_heads=2, ffn_hidden=128, max_seq_len=32,
                   seed=3, **kw)


def test_attention_is_sdpa_and_compile_defaults_to_the_gpu_only():
    lm = tiny()
    assert lm.model.config._attn_implementation == "sdpa"
    assert lm.compiles(torch.device("cuda")) and not lm.compiles(torch.device("cpu"))
    assert tiny(compile=True).compiles(torch.device("cpu"))
    assert not tiny(compile=False).compiles(torch.device("cuda"))


@pytest.mark.slow
def test_compiled_model_gives_the_eager_losses_and_keeps_its_state_dict_keys():
    eager, compiled = tiny(), tiny(compile=True)
    keys = list(compiled.state_dict())
    compiled.model.compile()  # what LlamaLM.setup does for a fit
    assert list(compiled.state_dict()) == keys and not any("_orig_mod" in k for k in keys)
    gen = torch.Generator().manual_seed(0)
    x = torch.randint(0, 300, (2, 33), generator=gen)
    batch = {"input_ids": x[:, :-1], "targets": x[:, 1:]}
    a, b = eager.token_losses(batch), compiled.token_losses(batch)
    assert torch.allclose(a, b, atol=1e-4), (a - b).abs().max()
    b.mean().backward()
    assert all(p.grad is not None for p in compiled.model.parameters() if p.requires_grad)
