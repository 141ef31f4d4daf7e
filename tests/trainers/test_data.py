"""The data side of training, on real shards of Go source: windows, ranks, resume, curriculum, SFT masking."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from tests.helpers.go_corpus import build_go_lake
from trainers.curriculum import BLOCK, Curriculum, Stage
from artifacts.manifest import read_manifest
from trainers.loss import IGNORE
from trainers.model import LlamaLM
from trainers.sft import collate, encode_pair
from trainers.windows import TrainWindows


@pytest.fixture(scope="module")
def go_lake(tmp_path_factory):
    from lake import Lake
    with Lake(tmp_path_factory.mktemp("go") / "lake") as lk:
        built = build_go_lake(lk, max_files=120, vocab_size=400)
        yield lk, built


def _stream(lake, *, batch, rank=0, world=1, accumulate=1, start_step=0, seq_len=32, seed=5,
            weights=None):
    m = read_manifest(lake)
    cats = m.categories("train")
    stages = [Stage("only", 0, weights or {c: 1.0 for c in cats})]
    cur = Curriculum(stages, cats, world * batch * accumulate * seq_len, seed)
    by_cat = {c: [s for s in m.split("train") if s.category == c] for c in cats}
    return TrainWindows(by_cat, cur, seq_len, batch, rank, world, accumulate, start_step, seed)


def _window_keys(ds, micro):
    """(category, shard, offset) of each row of a micro-batch."""
    out = []
    for k in ds.indices(micro):
        cat, ordinal = ds.curriculum.assign(k, ds.samples_per_step)
        out.append((cat, *ds.windows[cat].locate(ordinal)))
    return out


def test_windows_of_two_ranks_are_disjoint_and_together_equal_one_rank_with_double_batch(go_lake):
    lake, _ = go_lake
    single = _stream(lake, batch=8)
    ranks = [_stream(lake, batch=4, rank=r, world=2) for r in range(2)]
    for micro in range(6):
        a, b = (_window_keys(ds, micro) for ds in ranks)
        assert not set(a) & set(b)
        assert a + b == _window_keys(single, micro)
        both = torch.cat([ranks[0].batch(micro)["input_ids"], ranks[1].batch(micro)["input_ids"]])
        assert torch.equal(both, single.batch(micro)["input_ids"])


def test_windows_never_overlap_within_an_epoch_and_targets_shift_inputs(go_lake):
    lake, _ = go_lake
    ds = _stream(lake, batch=16, seq_len=32)
    seen: dict[tuple, list[int]] = {}
    for micro in range(20):
        for cat, shard, offset in _window_keys(ds, micro):
            seen.setdefault((cat, shard), []).append(offset)
    for offsets in seen.values():
        first_epoch = offsets[:len(set(offsets))]
        assert len(set(first_epoch)) == len(first_epoch)
        assert all(o2 - o1 >= 33 for o1, o2 in zip(sorted(first_epoch), sorted(first_epoch)[1:]))
    b = ds.batch(0)
    assert b["input_ids"].shape == (16, 32) and torch.equal(b["input_ids"][:, 1:], b["targets"][:, :-1])


def test_stream_resumed_at_a_step_reads_what_the_whole_stream_read(go_lake):
    lake, _ = go_lake
    whole = _stream(lake, batch=4, accumulate=2)
    resumed = _stream(lake, batch=4, accumulate=2, start_step=7)
    it_whole, it_resumed = iter(whole), iter(resumed)
    batches = [next(it_whole) for _ in range(20)]
    for i in range(6):
        assert torch.equal(next(it_resumed)["input_ids"], batches[14 + i]["input_ids"])


def test_dataloader_workers_keep_the_batch_order(go_lake):
    lake, _ = go_lake
    ds = _stream(lake, batch=4)
    loader = torch.utils.data.DataLoader(ds, batch_size=None, num_workers=2)
    got = []
    for i, b in enumerate(loader):
        got.append(b["input_ids"])
        if i == 5:
            break
    for i, x in enumerate(got):
        assert torch.equal(x, ds.batch(i)["input_ids"])


def test_curriculum_gives_each_stage_its_mixture_and_switches_on_budget():
    stages = [Stage("A", 64 * 10 * 1000, {"NAT": 0.6, "MIX": 0.3, "CODE": 0.1}),
              Stage("B", 0, {"CODE": 0.8, "MIX": 0.2})]
    cur = Curriculum(stages, ["CODE", "MIX", "NAT"], tokens_per_step=64 * 10, seed=3)
    assert cur.stage_at_step(999).name == "A" and cur.stage_at_step(1000).name == "B"
    per_step = 10
    counts = np.zeros(3, dtype=int)
    ordinals: dict[int, list[int]] = {0: [], 1: [], 2: []}
    for k in range(2 * BLOCK):
        cat, ordinal = cur.assign(k, per_step)
        counts[cat] += 1
        ordinals[cat].append(ordinal)
    assert counts.tolist() == [200, 600, 1200]  # CODE, MIX, NAT: exact at block scale
    for cat, got in ordinals.items():
        assert got == list(range(len(got)))  # each category's windows in order, none skipped or repeated
    # stage B carries on each category's count where stage A left it
    start_b = 1000 * per_step
    cat, ordinal = cur.assign(start_b, per_step)
    before = sum(1 for k in range(start_b) if cur.assign(k, per_step)[0] == cat)
    assert ordinal == before and cur.stage_at_step(1000).weights["NAT"] == 0.0


def test_sft_targets_are_masked_to_the_response_and_the_prompt_gets_no_gradient(go_lake):
    lake, built = go_lake
    tok = built["tokenizer"]
    prompt, response = "<PR_TITLE>fix the parser\n<DIFF>- a\n+ b\n", "The parser now accepts b."
    toks, n_prompt = encode_pair(tok, prompt, response, 512)
    r_ids = tok.encode(response) + [tok.eos_id]
    assert toks[n_prompt:] == r_ids and toks[0] == tok.marker_ids["<PROMPT>"]
    assert toks[n_prompt - 1] == tok.marker_ids["<RESPONSE>"]
    short = encode_pair(tok, prompt, response, 512)[0][:-5], n_prompt
    batch = collate([(toks, n_prompt), short], tok.pad_id)
    y = batch["targets"]
    scored = (y[0] != IGNORE).nonzero().flatten().tolist()
    assert scored == list(range(n_prompt - 1, len(toks) - 1))
    assert y[0, scored].tolist() == r_ids
    assert (y[1, len(short[0]) - 1:] == IGNORE).all()  # padding of the shorter row scores nothing
    lm = LlamaLM(vocab_size=tok.vocab_size, d_model=32, n_layers=1, n_heads=2, ffn_hidden=64, max_seq_len=512)
    logits = lm(batch["input_ids"]).detach().requires_grad_(True)
    loss = torch.nn.functional.cross_entropy(logits.flatten(0, 1), y.flatten(), ignore_index=IGNORE)
    loss.backward()
    assert logits.grad[0, :n_prompt - 1].abs().sum() == 0
    assert logits.grad[0, n_prompt - 1:len(toks) - 1].abs().sum() > 0


def test_sft_pair_too_long_keeps_prompt_marker_and_fits(go_lake):
    _, built = go_lake
    tok = built["tokenizer"]
    toks, n_prompt = encode_pair(tok, "x := 1\n" * 200, "ok " * 200, 96)
    assert len(toks) == 96 and toks[0] == tok.marker_ids["<PROMPT>"] and n_prompt >= 2
    assert toks[n_prompt - 1] == tok.marker_ids["<RESPONSE>"]
