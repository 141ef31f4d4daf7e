"""Fill-in-the-middle on training windows (Bavarian et al. 2022), at the document level.

A training window (seq_len + 1 tokens) holds pieces of documents separated by EOS. With probability `rate`
each piece is cut at two random token boundaries into prefix, middle and suffix and rewritten with the
sentinels of artifacts/grammar.py, in SPM order with probability `spm_rate`, else PSM:

    PSM:  <FIM_PREFIX> prefix <FIM_SUFFIX> suffix <FIM_MIDDLE> middle
    SPM:  <FIM_PREFIX> <FIM_SUFFIX> suffix <FIM_MIDDLE> prefix middle

The pieces keep their EOS separators; the rewritten window, 3 tokens longer per rewritten piece, is cut back to
the window's length at its end, as StarCoder's Megatron does, so shards and window offsets stay as packed
(the shards are reusable with or without FIM). The random draws are a function of (seed, global window index)
alone: a resumed run, or one with another number of ranks, sees the same rewritten windows. The loss runs over
the whole rewritten sequence, sentinels included, as in the paper: nothing is masked.

Cuts fall on token boundaries (the paper cuts characters and re-tokenises): cheap in the data loader, at the
cost of never training a middle that starts inside a token.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from trainers.errors import TrainerError
from artifacts.grammar import FIM_MIDDLE, FIM_PREFIX, FIM_SUFFIX

_STREAM = 29  # keeps FIM draws apart from the window layout's stream (trainers/windows.py uses 11)


@dataclass(frozen=True)
class FimSpec:
    rate: float
    spm_rate: float
    prefix_id: int
    suffix_id: int
    middle_id: int
    eos_id: int
    seed: int

    @classmethod
    def build(cls, rate: float, spm_rate: float, fim_ids: dict[str, int], eos_id: int, seed: int,
              tokenizer_id: str) -> "FimSpec | None":
        """The spec for a data module; None when rate is 0. Rates are checked here, once."""
        for name, value in (("data.fim_rate", rate), ("data.fim_spm_rate", spm_rate)):
            if not 0.0 <= value <= 1.0:
                raise TrainerError(f"{name} {value} is not a probability between 0 and 1")
        if rate == 0.0:
            return None
        if not fim_ids:
            raise TrainerError(f"data.fim_rate {rate}: tokenizer {tokenizer_id} has no single-token FIM sentinels "
                               f"(train a new one with `python -m transforms tokenizer`, or set --data.fim_rate 0)")
        return cls(rate, spm_rate, fim_ids[FIM_PREFIX], fim_ids[FIM_SUFFIX], fim_ids[FIM_MIDDLE], eos_id, seed)

    def rng(self, window_index: int) -> np.random.Generator:
        return np.random.default_rng([self.seed, _STREAM, window_index])

    def apply(self, window: np.ndarray, window_index: int) -> np.ndarray:
        """The window with its document pieces rewritten; same length and dtype."""
        rng = self.rng(window_index)
        out: list[np.ndarray] = []
        start = 0
        for end in [*np.flatnonzero(window == self.eos_id).tolist(), len(window)]:
            if end > start:
                out.append(self.permute(window[start:end], rng))
            out.append(window[end:end + 1])  # the EOS (empty past the window's end)
            start = end + 1
        return np.concatenate(out)[: len(window)]

    def permute(self, piece: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """One document piece, rewritten with probability rate (three draws per piece either way)."""
        apply, spm, cuts = rng.random() < self.rate, rng.random() < self.spm_rate, rng.integers(0, len(piece) + 1, 2)
        if not apply:
            return piece
        lo, hi = sorted(int(c) for c in cuts)
        prefix, middle, suffix = piece[:lo], piece[lo:hi], piece[hi:]
        p, s, m = (np.array([i], dtype=piece.dtype) for i in (self.prefix_id, self.suffix_id, self.middle_id))
        if spm:
            return np.concatenate([p, s, suffix, m, prefix, middle])
        return np.concatenate([p, prefix, s, suffix, m, middle])
