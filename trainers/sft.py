"""The SFT data module: `sft_pairs` as `<PROMPT>prompt<RESPONSE>response</s>`, the loss masked to the response.

Pairs are visited in an order permuted per epoch by (seed, epoch); pair k of the run is read by the rank and
micro-batch that global index k falls to (the same layout as the pretraining windows), so resume and DDP
behave as they do there. Held-out pairs (val split) report loss and bits per byte of the response by kind.
"""
from __future__ import annotations

import lightning as L
import numpy as np
import torch
from torch.utils.data import DataLoader, IterableDataset

from artifacts.grammar import sft_parts
from artifacts.tokenizer import load_tokenizer
from trainers.data import _open_lake
from trainers.errors import TrainerError
from trainers.loss import IGNORE
from trainers.windows import MicroBatchStream

MIN_PROMPT_TOKENS = 16  # a response cut to fit keeps at least this much of its prompt


def encode_pair(tok, prompt: str, response: str, max_tokens: int) -> tuple[list[int], int]:
    """(tokens, number of prompt tokens) of one pair, at most max_tokens long: the prompt loses its start
    (its marker stays first), the response its end, when they do not fit."""
    prompt_text, response_text = sft_parts(prompt, response)
    p_ids = tok.encode(prompt_text)
    r_ids = tok.encode(response_text) + [tok.eos_id]
    if len(p_ids) + len(r_ids) > max_tokens:
        r_ids = r_ids[:max(max_tokens - min(len(p_ids), MIN_PROMPT_TOKENS), 1)]
        keep = max_tokens - len(r_ids)
        if len(p_ids) > keep:
            # the <PROMPT> marker stays first: one token in our tokenizer, a few as plain text in another's
            head = min(len(tok.encode(prompt_text[:prompt_text.index(">") + 1])), keep)
            p_ids = p_ids[:head] + p_ids[len(p_ids) - keep + head:] if keep > head else p_ids[:keep]
    return p_ids + r_ids, len(p_ids)


def collate(rows: list[tuple[list[int], int]], pad_id: int, categories: list[int] | None = None,
            nbytes: list[int] | None = None) -> dict:
    """input_ids = tokens[:-1], targets = tokens[1:] with every target inside the prompt (and padding) IGNORE."""
    width = max(len(t) for t, _ in rows) - 1
    x = torch.full((len(rows), width), pad_id, dtype=torch.long)
    y = torch.full((len(rows), width), IGNORE, dtype=torch.long)
    for i, (toks, n_prompt) in enumerate(rows):
        t = torch.tensor(toks, dtype=torch.long)
        x[i, :len(t) - 1] = t[:-1]
        y[i, :len(t) - 1] = t[1:]
        y[i, :n_prompt - 1] = IGNORE  # targets 0..n_prompt-2 are prompt tokens; n_prompt-1 is the first response token
    out = {"input_ids": x, "targets": y}
    if categories is not None:
        out["category"] = torch.tensor(categories, dtype=torch.long)
        out["bytes"] = torch.tensor(nbytes, dtype=torch.long)
    return out


class SFTTrain(MicroBatchStream):
    def __init__(self, rows, pad_id: int, batch_size: int, rank: int, world: int, accumulate: int,
                 start_step: int, seed: int):
        self.rows, self.pad_id, self.seed = rows, pad_id, seed
        self.B, self.rank, self.world, self.accumulate, self.start_step = batch_size, rank, world, accumulate, start_step
        self._perm: dict[int, np.ndarray] = {}

    def pair(self, k: int):
        epoch, i = divmod(k, len(self.rows))
        if epoch not in self._perm:
            self._perm = {epoch: np.random.default_rng([self.seed, 13, epoch]).permutation(len(self.rows))}
        return self.rows[int(self._perm[epoch][i])]

    def batch(self, micro: int) -> dict:
        step, a = divmod(micro, self.accumulate)
        first = step * self.world * self.B * self.accumulate + a * self.world * self.B + self.rank * self.B
        return collate([self.pair(k) for k in range(first, first + self.B)], self.pad_id)



class SFTVal(IterableDataset):
    def __init__(self, rows, pad_id: int, batch_size: int, rank: int, world: int):
        self.rows, self.pad_id, self.B, self.rank, self.world = rows, pad_id, batch_size, rank, world

    def __iter__(self):
        mine = self.rows[self.rank::self.world]
        for i in range(0, len(mine), self.B):
            chunk = mine[i:i + self.B]
            yield collate([(t, n) for t, n, _, _ in chunk], self.pad_id, [c for _, _, c, _ in chunk],
                          [b for _, _, _, b in chunk])


class SFTDataModule(L.LightningDataModule):
    """SFT pairs from the lake, tokenized with the lake's tokenizer (the one the base checkpoint was trained
    with: LlamaLM checks their checksums). kinds: which pair kinds (default all).
    On a Hugging Face base (model.init_from DIR, with or without model.lora) tokenizer_id is DIR's own
    tokenizer, `hf:DIR` (registered on first use, markers as plain text) or the id `pack --tokenizer hf:DIR`
    gave it; trainers/adapt.py refuses any other."""

    def __init__(self, lake: str | None = None, tokenizer_id: str | None = None, kinds: list[str] | None = None,
                 seq_len: int = 512, batch_size: int = 8, seed: int = 1234, val_batch_size: int = 16,
                 max_val_pairs: int = 512, num_workers: int = 0):
        super().__init__()
        self.lake, self.kinds, self.seq_len, self.batch_size, self.seed = lake, kinds, seq_len, batch_size, seed
        self.val_batch_size, self.max_val_pairs, self.num_workers = val_batch_size, max_val_pairs, num_workers
        with _open_lake(lake) as lk:
            self.tok = load_tokenizer(lk, tokenizer_id)
            self.lake_snapshot = lk.snapshot()
            self.lake_root = lk.root
        self.vocab_size = self.tok.vocab_size
        # a Hugging Face tokenizer may have no pad token: EOS pads (padding carries no loss either way)
        self.pad_id = self.tok.pad_id if self.tok.pad_id is not None else self.tok.eos_id
        self.special_ids = {"pad": self.pad_id, "bos": self.tok.bos_id, "eos": self.tok.eos_id}
        self.train_rows: list = []
        self.val_rows: list = []
        self.val_categories: list[str] = []
        self.categories: list[str] = []
        self.curriculum = None

    def describe(self) -> dict:
        import hashlib
        blob = self.tok.model_path.read_bytes()
        return {"tokenizer_id": self.tok.tokenizer_id, "tokenizer_path": str(self.tok.model_path),
                "tokenizer_model": blob, "tokenizer_sha256": hashlib.sha256(blob).hexdigest(),
                "special_ids": self.special_ids, "lake": str(self.lake_root), "lake_snapshot": self.lake_snapshot,
                "shards": [], "sft_pairs": {"train": len(self.train_rows), "val": len(self.val_rows)},
                "seq_len": self.seq_len}

    def tokens_per_step(self, trainer) -> int:
        return trainer.world_size * self.batch_size * trainer.accumulate_grad_batches * self.seq_len

    def setup(self, stage: str | None = None) -> None:
        if self.train_rows:
            return
        where, params = "", []
        if self.kinds:
            where = f"AND kind IN ({', '.join('?' for _ in self.kinds)})"
            params = list(self.kinds)
        with _open_lake(self.lake, self.lake_snapshot) as lk:
            for split in ("train", "val"):
                reader = lk.stream(f"SELECT kind, prompt, response FROM sft_pairs WHERE split = ? {where} "
                                   f"ORDER BY pair_id", [split, *params], batch_rows=2048)
                for batch in reader:
                    for kind, prompt, response in zip(*(batch.column(c).to_pylist() for c in ("kind", "prompt", "response"))):
                        toks, n_prompt = encode_pair(self.tok, prompt, response, self.seq_len + 1)
                        if split == "train":
                            self.train_rows.append((toks, n_prompt))
                        elif len(self.val_rows) < self.max_val_pairs:
                            if kind not in self.val_categories:
                                self.val_categories.append(kind)
                            # bytes of the response as kept (a cut one counts only what is scored)
                            self.val_rows.append((toks, n_prompt, self.val_categories.index(kind),
                                                  len(self.tok.decode_bytes(toks[n_prompt:]))))
        if not self.train_rows:
            raise TrainerError(f"lake {self.lake_root}: no train sft_pairs{' of kinds ' + str(self.kinds) if self.kinds else ''}")
        self.categories = list(self.val_categories)

    def train_dataloader(self) -> DataLoader:
        t = self.trainer
        ds = SFTTrain(self.train_rows, self.pad_id, self.batch_size, t.global_rank, t.world_size,
                      t.accumulate_grad_batches, t.global_step, self.seed)
        return DataLoader(ds, batch_size=None, num_workers=self.num_workers, persistent_workers=self.num_workers > 0)

    def val_dataloader(self) -> DataLoader:
        t = self.trainer
        return DataLoader(SFTVal(self.val_rows, self.pad_id, self.val_batch_size, t.global_rank, t.world_size),
                          batch_size=None)
