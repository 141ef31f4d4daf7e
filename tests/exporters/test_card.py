"""Model card and licence manifest, read from the lake the checkpoint trained from."""
from __future__ import annotations

import csv
import pytest
import torch

from exporters import cli
from exporters.source import from_checkpoint, parameter_count
from lake import Lake
from tests.helpers.exporter_kit import REPOS
from lake.edge import run_cli


def main(argv: list[str]) -> int:
    """The command as `python -m exporters` runs it: an error that escapes is one line and exit code 2."""
    return run_cli("exporters", cli.main, argv)


@pytest.fixture
def card_dir(kit, tmp_path):
    out = tmp_path / "card"
    assert main(["card", "--ckpt", str(kit.ckpt), "--out", str(out), "--lake", str(kit.lake)]) == 0
    return out, kit.lake


def manifest(out):
    with open(out / "dataset_license_manifest.csv", newline="") as f:
        return {r["repo_id"]: r for r in csv.DictReader(f)}


def test_manifest_lists_every_repository_with_licence_commit_samples_and_tokens(kit, card_dir):
    out, lake = card_dir
    rows = manifest(out)
    assert sorted(rows) == sorted(r[0] for r in REPOS)
    snapshot = from_checkpoint(kit.ckpt).meta["lake_snapshot"]
    with Lake(lake, snapshot=snapshot) as lk:  # the kit lake moves on in a test below; the card must not
        repos = {r["repo_id"]: r for r in lk.query("SELECT repo_id, license, head_commit FROM repos").to_pylist()}
        samples = {r["repo_id"]: r["n"] for r in
                   lk.query("SELECT repo_id, count(*) AS n FROM samples GROUP BY repo_id").to_pylist()}
        licences = {r["repo_id"]: "; ".join(r["l"]) for r in lk.query(
            "SELECT repo_id, list_sort(list(DISTINCT license)) AS l FROM samples GROUP BY repo_id").to_pylist()}
    with Lake(lake) as lk:
        shard_tokens = lk.query("SELECT sum(tokens)::BIGINT AS t FROM shards").column("t")[0].as_py()
    for rid, r in rows.items():
        assert r["license"] == repos[rid]["license"]
        assert r["commit"] == repos[rid]["head_commit"]
        assert int(r["samples"]) == samples.get(rid, 0)
        assert r["sample_licenses"] == licences.get(rid, "")
    assert rows["example/unused"]["samples"] == "0" and rows["example/unused"]["tokens"] == "0"
    assert sum(int(r["tokens"]) for r in rows.values()) == shard_tokens
    assert sum(int(r["train_tokens"]) for r in rows.values()) == kit.train_tokens
    assert all(int(rows[rid]["train_tokens"]) > 0 for rid in ("golang/go", "example/textproto"))


def test_card_states_architecture_tokens_snapshot_composition_and_evals(kit, card_dir):
    out, _ = card_dir
    text = (out / "README.md").read_text()
    source = from_checkpoint(kit.ckpt)
    assert f"{parameter_count(source.model):,}" in text
    assert f"| tokens seen | {source.meta['tokens_seen']:,} |" in text
    assert f"| lake snapshot | {source.meta['lake_snapshot']:,} |" in text
    rows = manifest(out)
    bsd = sum(int(r["train_tokens"]) for r in rows.values() if r["license"] == "BSD-3-Clause")
    assert f"| BSD-3-Clause | 1 |" in text and f"{bsd:,}" in text
    assert "| CODE |" in text and "| NAT |" in text
    assert "| heldout | bpb | CODE | 1.234 | 42 | kit-eval |" in text
    assert "other-eval" not in text  # another checkpoint of the same file name
    assert "7.777" not in text  # a baseline's score is not the model's
    assert "## Intended use" in text and "## Limits" in text


def test_card_reads_licences_at_the_snapshot_the_model_trained_on(kit, card_dir, tmp_path):
    """Relicensing a repository afterwards does not rewrite what the model was trained under."""
    _, lake = card_dir
    with Lake(lake) as lk:
        old = lk.query("SELECT * FROM repos WHERE repo_id = 'golang/go'").to_pylist()[0]
        lk.write("repos", [{**old, "license": "GPL-3.0-only"}], mode="upsert")
    out = tmp_path / "again"
    assert main(["card", "--ckpt", str(kit.ckpt), "--out", str(out), "--lake", str(lake)]) == 0
    assert manifest(out)["golang/go"]["license"] == "BSD-3-Clause"
    assert "GPL-3.0-only" not in (out / "README.md").read_text()


def test_card_refuses_a_lake_missing_the_shards_the_model_trained_on(kit, tmp_path, capsys):
    state = torch.load(kit.ckpt, weights_only=False)
    state["repo_llm"]["shards"] = [*state["repo_llm"]["shards"], "shard-from-another-lake"]
    torch.save(state, tmp_path / "other.ckpt")
    assert main(["card", "--ckpt", str(tmp_path / "other.ckpt"), "--out", str(tmp_path / "c"),
                 "--lake", str(kit.lake)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "shard-from-another-lake" in err
