"""Training windows and held-out documents over memory-mapped shards (artifacts/shard_format.py).

Training: each category's shards are cut into windows of seq_len + 1 tokens, never crossing a shard, starting
at an offset drawn per epoch; an epoch visits them in an order permuted by (seed, category, epoch). The
curriculum names the category of global window k and its ordinal in that category; the ordinal picks the
window. Global window k of optimiser step s, accumulation micro-batch a, rank r, row j is
    k = s * G + a * (world * B) + r * B + j,    G = world * B * accumulate
so ranks read disjoint windows, a 2-process run with batch B reads exactly the windows of a 1-process run with
batch 2B, and a run resumed at step s reads what the uninterrupted run read. Workers take micro-batches in
turn (DataLoader returns them in order). Only the rows of a batch are read from the memmaps.
"""
from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import IterableDataset, get_worker_info

from artifacts.manifest import ShardEntry
from artifacts.shard_format import ShardReader
from trainers.curriculum import Curriculum
from trainers.errors import TrainerError
from trainers.fim import FimSpec
from trainers.loss import IGNORE


def _reader(entry: ShardEntry):
    return ShardReader(entry.stem, entry.dtype)


class CategoryWindows:
    """Non-overlapping windows of one category's shards, one permutation per epoch."""

    def __init__(self, shards: list[ShardEntry], window: int, seed: int, category_index: int):
        self.shards = shards
        self.window = window
        self.seed = seed
        self.category_index = category_index
        self._readers = None
        self._cache: dict[int, tuple] = {}
        self._epochs: list[tuple[int, int]] = []  # (first ordinal, windows) of each epoch computed so far

    def readers(self):
        if self._readers is None:  # opened lazily: each DataLoader worker maps the files itself
            self._readers = [_reader(s) for s in self.shards]
        return self._readers

    def _layout(self, epoch: int):
        rng = np.random.default_rng([self.seed, 11, self.category_index, epoch])
        shift = int(rng.integers(0, self.window))
        per_shard = np.array([max(0, (s.tokens - shift) // self.window) for s in self.shards], dtype=np.int64)
        return shift, np.concatenate([[0], np.cumsum(per_shard)]), rng

    def _epoch(self, epoch: int):
        if epoch in self._cache:
            return self._cache[epoch]
        shift, cum, rng = self._layout(epoch)
        if cum[-1] == 0:
            raise TrainerError(f"category {self.shards[0].category}: its {sum(s.tokens for s in self.shards)} "
                               f"training tokens hold no window of {self.window} tokens (lower data.seq_len)")
        if len(self._cache) >= 2:  # an epoch's permutation is one int64 per window: keep two at most
            self._cache.pop(min(self._cache))
        self._cache[epoch] = (shift, cum, rng.permutation(int(cum[-1])))
        return self._cache[epoch]

    def locate(self, ordinal: int) -> tuple[int, int]:
        """(shard index, token offset) of this category's window number `ordinal`."""
        epoch, start = 0, 0
        for e, (first, n) in enumerate(self._epochs):
            if ordinal < first + n:
                epoch, start = e, first
                break
        else:
            epoch = len(self._epochs)
            start = self._epochs[-1][0] + self._epochs[-1][1] if self._epochs else 0
            while True:
                n = int(self._epoch(epoch)[1][-1])
                self._epochs.append((start, n))
                if ordinal < start + n:
                    break
                start, epoch = start + n, epoch + 1
        shift, cum, perm = self._epoch(epoch)
        w = int(perm[ordinal - start])
        shard = int(np.searchsorted(cum, w, side="right") - 1)
        return shard, shift + (w - int(cum[shard])) * self.window

    def read(self, ordinal: int) -> np.ndarray:
        shard, offset = self.locate(ordinal)
        return np.asarray(self.readers()[shard].tokens[offset:offset + self.window], dtype=np.int64)


class MicroBatchStream(IterableDataset):
    """An endless stream of micro-batches, batch(micro) a pure function of the micro-batch index: DataLoader
    worker w of n yields micro-batches w, w+n, ... from the resume step on, so order survives workers and resume."""

    start_step: int
    accumulate: int

    def batch(self, micro: int) -> dict:
        raise NotImplementedError

    def __iter__(self):
        info = get_worker_info()
        wid, nw = (info.id, info.num_workers) if info else (0, 1)
        micro = self.start_step * self.accumulate + wid
        while True:
            yield self.batch(micro)
            micro += nw


class TrainWindows(MicroBatchStream):
    """Micro-batches {"input_ids", "targets"} from optimiser step `start_step` on, for one rank; the windows
    of `fim_categories` go through fill-in-the-middle (trainers/fim.py) when `fim` is given."""

    def __init__(self, by_category: dict[str, list[ShardEntry]], curriculum: Curriculum, seq_len: int,
                 batch_size: int, rank: int, world: int, accumulate: int, start_step: int, seed: int,
                 fim: FimSpec | None = None, fim_categories: tuple[str, ...] = ()):
        self.curriculum = curriculum
        # fill-in-the-middle rewrites the windows of these categories (keyed by global window index: resumable)
        self.fim = fim
        self.fim_categories = {i for i, c in enumerate(curriculum.categories) if c in fim_categories} if fim else set()
        self.windows = [CategoryWindows(by_category[c], seq_len + 1, seed, i)
                        for i, c in enumerate(curriculum.categories)]
        self.B, self.rank, self.world, self.accumulate = batch_size, rank, world, accumulate
        self.start_step = start_step

    @property
    def samples_per_step(self) -> int:
        return self.world * self.B * self.accumulate

    def indices(self, micro: int) -> range:
        """Global window indices of this rank's rows in micro-batch `micro` (counted from step 0)."""
        step, a = divmod(micro, self.accumulate)
        first = step * self.samples_per_step + a * self.world * self.B + self.rank * self.B
        return range(first, first + self.B)

    def batch(self, micro: int) -> dict:
        rows = []
        for k in self.indices(micro):
            cat, ordinal = self.curriculum.assign(k, self.samples_per_step)
            row = self.windows[cat].read(ordinal)
            rows.append(self.fim.apply(row, k) if cat in self.fim_categories else row)
        x = torch.from_numpy(np.stack(rows))
        return {"input_ids": x[:, :-1].contiguous(), "targets": x[:, 1:].contiguous()}



class ValDocuments(IterableDataset):
    """Whole held-out documents cut into seq_len chunks; each token predicted from the tokens before it in
    its chunk (the document's first from its EOS, as after the previous document). Rows carry the
    category and, on a document's first chunk, its UTF-8 bytes, so that sums give exact bits per byte."""

    def __init__(self, docs: list[tuple[int, ShardEntry, int, int, int]], seq_len: int, batch_size: int,
                 rank: int, world: int):
        self.docs = docs  # (category index, shard, first token, end token, bytes)
        self.seq_len, self.B, self.rank, self.world = seq_len, batch_size, rank, world

    def chunks(self):
        readers: dict = {}
        for i, (cat, entry, a, b, nbytes) in enumerate(self.docs):
            if i % self.world != self.rank:
                continue
            if entry.stem not in readers:
                readers[entry.stem] = _reader(entry)
            toks = np.asarray(readers[entry.stem].tokens[a:b], dtype=np.int64)
            ctx = np.concatenate([toks[-1:], toks[:-1]])  # the trailing EOS stands in for the previous one
            for c in range(0, len(toks), self.seq_len):
                yield cat, ctx[c:c + self.seq_len], toks[c:c + self.seq_len], nbytes if c == 0 else 0

    def __iter__(self):
        info = get_worker_info()
        if info is not None and info.num_workers > 1:
            raise TrainerError("validation uses no DataLoader workers")
        batch = []
        for item in self.chunks():
            batch.append(item)
            if len(batch) == self.B:
                yield self._collate(batch)
                batch = []
        if batch:
            yield self._collate(batch)

    def _collate(self, items) -> dict:
        n = len(items)
        x = torch.zeros(n, self.seq_len, dtype=torch.long)
        y = torch.full((n, self.seq_len), IGNORE, dtype=torch.long)
        for i, (_, ctx, tgt, _) in enumerate(items):
            x[i, :len(ctx)] = torch.from_numpy(ctx)
            y[i, :len(tgt)] = torch.from_numpy(tgt)
        return {"input_ids": x, "targets": y, "category": torch.tensor([it[0] for it in items]),
                "bytes": torch.tensor([it[3] for it in items], dtype=torch.long)}
