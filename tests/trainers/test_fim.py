"""Fill-in-the-middle on real shards of Go source: rate, orders, determinism, resume, no masked loss."""
from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
import torch

from tests.helpers.go_corpus import build_go_lake
from trainers.curriculum import Curriculum, Stage
from trainers.errors import TrainerError
from trainers.fim import FimSpec
from artifacts.manifest import read_manifest
from trainers.loss import IGNORE
from trainers.windows import TrainWindows
from artifacts.grammar import FIM_MARKERS

SEQ = 64


@pytest.fixture(scope="module")
def go_lake(tmp_path_factory):
    from lake import Lake
    with Lake(tmp_path_factory.mktemp("fim") / "lake") as lk:
        built = build_go_lake(lk, max_files=120, vocab_size=400)
        yield lk, built["tokenizer"]


def _spec(tok, rate=0.5, spm_rate=0.5, seed=5) -> FimSpec:
    return FimSpec.build(rate, spm_rate, tok.fim_ids, tok.eos_id, seed, tok.tokenizer_id)


def _stream(lake, fim, *, batch=8, start_step=0, accumulate=1, categories=("CODE",)):
    m = read_manifest(lake)
    cats = m.categories("train")
    cur = Curriculum([Stage("only", 0, {c: 1.0 for c in cats})], cats, batch * accumulate * SEQ, 5)
    by_cat = {c: [s for s in m.split("train") if s.category == c] for c in cats}
    return TrainWindows(by_cat, cur, SEQ, batch, 0, 1, accumulate, start_step, 5, fim, categories)


def _undo(piece: list[int], ids: dict[str, int]) -> tuple[str, list[int]] | None:
    """(order, original tokens) of a rewritten piece, read back by the sentinels' positions; None if untouched."""
    pre, suf, mid = (ids[m] for m in FIM_MARKERS)
    if not piece or piece[0] != pre:
        return None
    if piece[1] == suf:  # SPM: <P><S> suffix <M> prefix middle
        m = piece.index(mid)
        return "SPM", piece[m + 1:] + piece[2:m]  # prefix and middle are contiguous in the original
    s, m = piece.index(suf), piece.index(mid)
    return "PSM", piece[1:s] + piece[m + 1:] + piece[s + 1:m]


def _pieces(row: list[int], eos: int) -> list[list[int]]:
    out, cur = [], []
    for t in row:
        if t == eos:
            out.append(cur)
            cur = []
        else:
            cur.append(t)
    return out + [cur]


def test_fim_rewrites_about_half_the_code_documents_in_both_orders_and_loses_no_token(go_lake):
    lake, tok = go_lake
    plain, fim = _stream(lake, None), _stream(lake, _spec(tok))
    code = plain.curriculum.categories.index("CODE")
    counts = {"PSM": 0, "SPM": 0, "cut": 0, None: 0}
    for micro in range(40):
        cats = [plain.curriculum.assign(k, plain.samples_per_step)[0] for k in plain.indices(micro)]
        a = torch.cat([plain.batch(micro)["input_ids"], plain.batch(micro)["targets"][:, -1:]], 1)
        b = torch.cat([fim.batch(micro)["input_ids"], fim.batch(micro)["targets"][:, -1:]], 1)
        for cat, orig, new in zip(cats, a.tolist(), b.tolist()):
            if cat != code:
                assert new == orig  # NAT and MIX windows are never touched
                continue
            assert len(new) == len(orig) == SEQ + 1
            originals, rewritten = _pieces(orig, tok.eos_id), _pieces(new, tok.eos_id)
            # every piece followed by its EOS is whole: undone, it is the original piece; the last one is cut
            # where the window ends (each rewritten piece pushed it 3 tokens further): its tokens, sentinels
            # aside, are some of the original last piece's
            for i, (o, r) in enumerate(zip(originals, rewritten)):
                if not r:
                    continue
                if i < len(rewritten) - 1:
                    undone = _undo(r, tok.fim_ids)
                    assert (undone[1] if undone else r) == o
                else:
                    undone = ("cut" if r[0] == tok.fim_ids[FIM_MARKERS[0]] else None, None)
                    assert not Counter(t for t in r if t not in tok.fim_ids.values()) - Counter(o)
                counts[undone and undone[0]] += 1
    rewritten = counts["PSM"] + counts["SPM"] + counts["cut"]
    assert counts["PSM"] and counts["SPM"]
    assert 0.35 < rewritten / (rewritten + counts[None]) < 0.65, counts


def test_fim_windows_are_a_function_of_seed_and_window_index_so_a_resumed_run_sees_the_same(go_lake):
    lake, tok = go_lake
    whole = _stream(lake, _spec(tok), batch=4, accumulate=2)
    resumed = _stream(lake, _spec(tok), batch=4, accumulate=2, start_step=5)
    it_whole, it_resumed = iter(whole), iter(resumed)
    batches = [next(it_whole) for _ in range(16)]
    for i in range(6):
        assert torch.equal(next(it_resumed)["input_ids"], batches[10 + i]["input_ids"])
    other_seed = _stream(lake, _spec(tok, seed=6), batch=4, accumulate=2)
    assert any(not torch.equal(other_seed.batch(m)["input_ids"], whole.batch(m)["input_ids"]) for m in range(8))


def test_fim_rate_one_with_spm_zero_rewrites_every_piece_in_psm(go_lake):
    lake, tok = go_lake
    spec = _spec(tok, rate=1.0, spm_rate=0.0)
    window = np.array([7, 8, 9, tok.eos_id, tok.eos_id, 10, 11, tok.eos_id, 12], dtype=np.int64)
    out = spec.apply(window, 3)
    assert len(out) == len(window) and out.dtype == window.dtype
    pieces = _pieces(out.tolist(), tok.eos_id)
    assert [p[0] for p in pieces if p] == [tok.fim_ids[FIM_MARKERS[0]]] * len([p for p in pieces if p])
    assert _undo(pieces[0], tok.fim_ids) == ("PSM", [7, 8, 9])
    assert pieces[1] == []  # two EOS in a row: an empty document stays empty


def test_fim_training_batch_masks_no_target(go_lake):
    lake, tok = go_lake
    b = _stream(lake, _spec(tok, rate=1.0)).batch(0)
    assert not (b["targets"] == IGNORE).any()
    assert torch.equal(b["input_ids"][:, 1:], b["targets"][:, :-1])
    assert set(tok.fim_ids.values()) & set(b["targets"].flatten().tolist())  # the sentinels are predicted too


def test_fim_rate_outside_0_1_or_a_tokenizer_without_sentinels_is_refused(go_lake):
    _, tok = go_lake
    with pytest.raises(TrainerError, match="data.fim_rate 1.5 is not a probability"):
        _spec(tok, rate=1.5)
    with pytest.raises(TrainerError, match="has no single-token FIM sentinels"):
        FimSpec.build(0.5, 0.5, {}, tok.eos_id, 1, "hf:old")
    assert FimSpec.build(0.0, 0.5, {}, tok.eos_id, 1, "hf:old") is None
