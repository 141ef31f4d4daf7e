"""The pretraining data module: the lake's newest shard set, a staged curriculum over its categories,
and per-category held-out documents with their byte counts (for bits per byte) and xz baselines."""
from __future__ import annotations

import hashlib

import lightning as L
from torch.utils.data import DataLoader

from artifacts.manifest import Manifest, read_manifest
from artifacts.shard_format import ShardReader, verify
from artifacts.tokenizer import Tokenizer
from lake import Lake
from artifacts.xz_baseline import xz_bits_per_byte
from trainers.curriculum import Curriculum, Stage
from trainers.errors import TrainerError
from trainers.fim import FimSpec
from trainers.windows import TrainWindows, ValDocuments


def _open_lake(lake: str | None, snapshot: int | None = None):
    return Lake(lake, snapshot=snapshot, create=snapshot is None)


def _tokenizer_ids(model_path) -> tuple[dict[str, int], dict[str, int]]:
    """(pad/bos/eos ids, FIM sentinel ids: {} when the tokenizer has none)."""
    tok = Tokenizer.from_file(model_path)
    return {"pad": tok.pad_id, "bos": tok.bos_id, "eos": tok.eos_id}, dict(getattr(tok, "fim_ids", {}))


class ShardDataModule(L.LightningDataModule):
    """Random windows of seq_len + 1 tokens from the train shards, held-out documents from the val shards.

    lake: the lake folder or catalog (None: $REPO_LLM_LAKE or ./data). tokenizer_id / lake_snapshot: which
    shard set (default: the newest). stages: the curriculum (default: one stage weighting each category by
    its tokens). batch_size is per device. val_tokens_per_category bounds the held-out set (whole documents,
    in shard order, until the budget is reached). fim_rate: the share of documents of fim_categories rewritten
    for fill-in-the-middle (trainers/fim.py; 0 turns it off), fim_spm_rate: the share of those in SPM order.
    """

    def __init__(self, lake: str | None = None, tokenizer_id: str | None = None, lake_snapshot: int | None = None,
                 seq_len: int = 256, batch_size: int = 8, seed: int = 1234, stages: list[Stage] | None = None,
                 val_tokens_per_category: int = 65536, val_batch_size: int = 16, val_split: str = "val",
                 num_workers: int = 0, verify_shards: bool = True, baselines: bool = True,
                 fim_rate: float = 0.0, fim_spm_rate: float = 0.5, fim_categories: tuple[str, ...] = ("CODE",)):
        super().__init__()
        self.lake, self.seq_len, self.batch_size, self.seed = lake, seq_len, batch_size, seed
        self.val_tokens_per_category, self.val_batch_size, self.val_split = val_tokens_per_category, val_batch_size, val_split
        self.num_workers, self.verify_shards, self.baselines = num_workers, verify_shards, baselines
        with _open_lake(lake) as lk:
            self.manifest: Manifest = read_manifest(lk, tokenizer_id, lake_snapshot)
        self.categories = self.manifest.categories("train")
        if not self.categories:
            raise TrainerError(f"shard set {self.manifest.tokenizer_id}@{self.manifest.lake_snapshot}: no training tokens")
        self.stages = stages or [Stage("main", 0, {c: float(sum(s.tokens for s in self.manifest.split("train")
                                                                   if s.category == c)) for c in self.categories})]
        self.vocab_size = self.manifest.vocab_size
        self.special_ids, fim_ids = _tokenizer_ids(self.manifest.tokenizer_path)
        self.fim = FimSpec.build(fim_rate, fim_spm_rate, fim_ids, self.special_ids["eos"], seed,
                                 self.manifest.tokenizer_id)
        self.fim_categories = tuple(fim_categories)
        self.curriculum: Curriculum | None = None
        self.val_docs: list = []
        self.xz: dict[str, dict[str, float]] = {}
        self._prepared = False

    # -- what the checkpoint and the lake record ----------------------------------------------
    def describe(self) -> dict:
        m = self.manifest
        blob = m.tokenizer_path.read_bytes()
        return {"tokenizer_id": m.tokenizer_id, "tokenizer_path": str(m.tokenizer_path), "tokenizer_model": blob,
                "tokenizer_sha256": hashlib.sha256(blob).hexdigest(), "lake": str(m.lake_root),
                "lake_snapshot": m.lake_snapshot, "shards": [s.shard_id for s in m.shards],
                "special_ids": self.special_ids,
                "fim": {"rate": self.fim.rate, "spm_rate": self.fim.spm_rate, "categories": list(self.fim_categories),
                        "ids": {"prefix": self.fim.prefix_id, "suffix": self.fim.suffix_id,
                                "middle": self.fim.middle_id}} if self.fim else None,
                "seq_len": self.seq_len, "categories": self.categories, "stages": [vars(s) for s in self.stages]}

    def tokens_per_step(self, trainer) -> int:
        return trainer.world_size * self.batch_size * trainer.accumulate_grad_batches * self.seq_len

    # -- setup ------------------------------------------------------------------------------------
    def setup(self, stage: str | None = None) -> None:
        if self._prepared:
            return
        if self.verify_shards:
            for s in self.manifest.shards:
                verify(s.stem, s.sha256)
        self._prepare_val()
        self._prepared = True

    def _prepare_val(self) -> None:
        val_cats = self.manifest.categories(self.val_split)
        picked: list[tuple[int, object, int, int, str]] = []
        self.val_categories = sorted(set(self.categories) | set(val_cats))
        for cat in val_cats:
            budget = self.val_tokens_per_category
            for entry in (s for s in self.manifest.split(self.val_split) if s.category == cat):
                reader = ShardReader(entry.stem, entry.dtype)
                ids = reader.sample_ids()
                for d in range(reader.documents):
                    a, b = int(reader.offsets[d]), int(reader.offsets[d + 1])
                    if budget <= 0:
                        break
                    picked.append((self.val_categories.index(cat), entry, a, b, ids[d]))
                    budget -= b - a
        if not picked:
            self.val_docs = []
            return
        texts = self._sample_texts([p[4] for p in picked], with_text=self.baselines)
        self.val_docs = [(c, e, a, b, texts[sid][0]) for c, e, a, b, sid in picked]
        if self.baselines:
            for i, cat in enumerate(self.val_categories):
                docs = [texts[p[4]][1] for p in picked if p[0] == i]
                if docs:
                    self.xz[cat] = xz_bits_per_byte(docs)

    def _sample_texts(self, sample_ids: list[str], with_text: bool) -> dict[str, tuple[int, str | None]]:
        """bytes (and text) of held-out samples, from the lake snapshot the shards were packed from."""
        import pyarrow as pa
        with _open_lake(self.lake, self.manifest.lake_snapshot) as lk:
            lk.con.register("__val_ids", pa.table({"sample_id": sample_ids}))
            cols = "s.sample_id, s.bytes" + (", s.text" if with_text else "")
            rows = lk.con.execute(f"SELECT {cols} FROM samples s JOIN __val_ids v USING (sample_id)").fetch_arrow_table()
        out = {r["sample_id"]: (int(r["bytes"]), r.get("text")) for r in rows.to_pylist()}
        missing = [s for s in sample_ids if s not in out]
        if missing:
            raise TrainerError(f"{len(missing)} held-out documents are not in `samples` at snapshot "
                               f"{self.manifest.lake_snapshot} (first: {missing[0]}); bits per byte needs their bytes")
        return out

    # -- loaders ----------------------------------------------------------------------------------
    def train_dataloader(self) -> DataLoader:
        t = self.trainer
        self.curriculum = Curriculum(self.stages, self.categories, self.tokens_per_step(t), self.seed)
        by_cat = {c: [s for s in self.manifest.split("train") if s.category == c] for c in self.categories}
        ds = TrainWindows(by_cat, self.curriculum, self.seq_len, self.batch_size, t.global_rank, t.world_size,
                          t.accumulate_grad_batches, t.global_step, self.seed, self.fim, self.fim_categories)
        return DataLoader(ds, batch_size=None, num_workers=self.num_workers,
                          persistent_workers=self.num_workers > 0)

    def val_dataloader(self) -> DataLoader:
        t = self.trainer
        ds = ValDocuments(self.val_docs, self.seq_len, self.val_batch_size, t.global_rank, t.world_size)
        return DataLoader(ds, batch_size=None, num_workers=0)
