"""What a model was trained on, per repository: read from the lake the checkpoint names.

Samples and repositories are read at the lake snapshot the shards were packed from (time travel), so the
licence and commit are those the model saw even if the lake moved on. Tokens are counted exactly from the
shards the run read: each shard's index gives every document's length, its docs file the sample it came from.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
from tqdm import tqdm

from artifacts.shard_format import ShardError, ShardReader
from exporters.errors import ExportError
from lake import Lake, LakeError

GROUP = ("repo_id", "split", "category", "license")


@dataclass
class TrainingData:
    lake_root: str
    lake_snapshot: int | None
    shards: int
    rows: list[dict] = field(default_factory=list)   # one per (repo_id, split, category, license)
    repos: dict[str, dict] = field(default_factory=dict)  # repo_id -> name, license, license_evidence, commit
    evals: list[dict] = field(default_factory=list)

    def per_repository(self) -> list[dict]:
        """Every repository of the lake, with its samples and tokens (zero when none were used)."""
        out: dict[str, dict] = {}
        for rid, r in self.repos.items():
            out[rid] = {"repo_id": rid, **r, "samples": 0, "bytes": 0, "tokens": 0, "train_samples": 0,
                        "train_tokens": 0}
        for row in self.rows:
            rid = row["repo_id"]
            # a sample whose repository row is gone still counts, under the licence the sample carries
            o = out.setdefault(rid, {"repo_id": rid, "name": "", "license": row["license"], "license_evidence": "",
                                     "commit": "", "samples": 0, "bytes": 0, "tokens": 0, "train_samples": 0,
                                     "train_tokens": 0})
            if row["samples"]:  # the licences its samples carried: a subtree's own licence shows here
                o["sample_licenses"] = "; ".join(sorted({*filter(None, o.get("sample_licenses", "").split("; ")),
                                                         row["license"] or "NULL"}))
            o["samples"] += row["samples"]
            o["bytes"] += row["bytes"]
            o["tokens"] += row["tokens"]
            if row["split"] == "train":
                o["train_samples"] += row["samples"]
                o["train_tokens"] += row["tokens"]
        return [out[k] for k in sorted(out)]

    def composition(self, by: str, split: str = "train") -> list[dict]:
        """Samples, bytes and tokens of `split` grouped by `category` or `license`, largest first."""
        acc: dict[str, dict] = {}
        for row in self.rows:
            if row["split"] != split:
                continue
            a = acc.setdefault(row[by] or "NULL", {by: row[by] or "NULL", "repos": set(), "samples": 0, "bytes": 0,
                                                   "tokens": 0})
            a["repos"].add(row["repo_id"])
            a["samples"] += row["samples"]
            a["bytes"] += row["bytes"]
            a["tokens"] += row["tokens"]
        out = [{**a, "repos": len(a["repos"])} for a in acc.values()]
        return sorted(out, key=lambda a: (-a["tokens"], -a["bytes"], a[by]))


def read_training_data(lake_path: str | Path, meta: dict, checkpoint: str = "", data_path: str | None = None) -> TrainingData:
    snapshot = meta.get("lake_snapshot")
    shard_ids = list(meta.get("shards") or [])
    try:
        with Lake(lake_path, data_path=data_path, create=False) as lk:
            shards = _shards(lk, meta.get("tokenizer_id"), snapshot, shard_ids)
            evals = _evals(lk, checkpoint)
        with Lake(lake_path, data_path=data_path, snapshot=snapshot, create=False) as lk:  # snapshot None: the lake as it is now
            counts = _sample_counts(lk)
            tokens = _shard_tokens(lk, shards)
            repos = {r.pop("repo_id"): r for r in lk.query(
                "SELECT repo_id, name, license, license_evidence, head_commit AS commit FROM repos ORDER BY repo_id"
            ).to_pylist()}
            seen = snapshot if snapshot is not None else lk.snapshot()
    except LakeError as e:
        raise ExportError(f"lake {lake_path}: {e}") from None
    rows = []
    for key in sorted(set(counts) | set(tokens), key=lambda k: tuple(str(x) for x in k)):
        samples, nbytes = counts.get(key, (0, 0))
        rows.append({**dict(zip(GROUP, key)), "samples": samples, "bytes": nbytes, "tokens": tokens.get(key, 0)})
    return TrainingData(str(lake_path), seen, len(shards), rows, repos, evals)


def _shards(lk, tokenizer_id: str | None, snapshot: int | None, shard_ids: list[str]) -> list[dict]:
    if shard_ids:
        lk.con.register("__card_shards", pa.table({"shard_id": shard_ids}))
        try:
            rows = lk.query("SELECT s.* FROM shards s JOIN __card_shards USING (shard_id) ORDER BY s.path").to_pylist()
        finally:
            lk.con.unregister("__card_shards")
        if len(rows) != len(set(shard_ids)):
            missing = sorted(set(shard_ids) - {r["shard_id"] for r in rows})
            raise ExportError(f"lake {lk.root}: {len(missing)} shards the checkpoint trained on are not in `shards` "
                              f"(first: {missing[0]})")
        return rows
    if tokenizer_id is None or snapshot is None:
        raise ExportError("the checkpoint records neither its shards nor its tokenizer and lake snapshot")
    return lk.query("SELECT * FROM shards WHERE tokenizer_id = ? AND lake_snapshot = ? ORDER BY path",
                    [tokenizer_id, snapshot]).to_pylist()


def _sample_counts(lk) -> dict[tuple, tuple[int, int]]:
    rows = lk.query(f"SELECT {', '.join(GROUP)}, count(*) AS n, sum(bytes)::BIGINT AS b FROM samples "
                    f"GROUP BY ALL").to_pylist()
    return {tuple(r[c] for c in GROUP): (int(r["n"]), int(r["b"] or 0)) for r in rows}


def _shard_tokens(lk, shards: list[dict]) -> dict[tuple, int]:
    """Exact tokens per group: document lengths from each shard's index joined to `samples`, shard by shard."""
    out: dict[tuple, int] = {}
    for s in tqdm(shards, desc="shard tokens", unit="shard", leave=False):
        try:
            reader = ShardReader(Path(lk.root) / s["path"], s["dtype"])
            docs = pa.table({"sample_id": reader.sample_ids(), "tokens": np.diff(np.asarray(reader.offsets))})
        except (ShardError, OSError) as e:
            raise ExportError(f"shard {s['shard_id']}: {e}") from None
        lk.con.register("__card_docs", docs)
        try:
            rows = lk.query(f"SELECT {', '.join('s.' + c for c in GROUP)}, sum(d.tokens)::BIGINT AS t, "
                            f"count(s.sample_id) AS found, count(*) AS docs "
                            f"FROM __card_docs d LEFT JOIN samples s USING (sample_id) GROUP BY ALL").to_pylist()
        finally:
            lk.con.unregister("__card_docs")
        lost = sum(r["docs"] - r["found"] for r in rows)
        if lost:
            raise ExportError(f"shard {s['shard_id']}: {lost} documents are not in `samples` at snapshot "
                              f"{lk.snapshot()}: the card would miscount their licences")
        for r in rows:
            key = tuple(r[c] for c in GROUP)
            out[key] = out.get(key, 0) + int(r["t"])
    return out


def _evals(lk, checkpoint: str) -> list[dict]:
    """Rows of `evals` naming this checkpoint (by its path as given or resolved; names like last.ckpt recur)."""
    # the model's own scores; baselines (xz, unigram, untrained) share the table under another `system`
    rows = lk.query("SELECT eval_run, checkpoint, suite, metric, category, value, n, created_at FROM evals "
                    "WHERE system = 'model' ORDER BY created_at, eval_run, suite, metric, category").to_pylist()
    if not checkpoint:
        return rows
    wanted = {checkpoint, str(Path(checkpoint).resolve())}
    return [r for r in rows
            if r["checkpoint"] and (r["checkpoint"] in wanted or str(Path(r["checkpoint"]).resolve()) in wanted)]
