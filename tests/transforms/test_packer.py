"""The packer on real Go source: every sample once, deterministic bytes, provenance per token, resume, checksums."""
from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from lake import Lake
from tests.helpers.go_corpus import go_corpus_files, sample_rows
from transforms.packer import PackConfig, pack, verify_shards
from artifacts.shard_format import ShardError, ShardReader, ShardWriter, dtype_for, sha256_file
from artifacts.tokenizer import load_tokenizer
from transforms.tokenizer import train_tokenizer
from lake.edge import run_cli

ROOT = Path(__file__).resolve().parents[2]

SHARD_BYTES = 300_000  # small shards, so that the bigger (split, category) groups of the 1.7 MB corpus have several


def build_lake(path: Path, files: list[Path], vocab: int = 1000) -> Path:
    with Lake(path) as lk:
        lk.write("samples", sample_rows(files), mode="overwrite")
        train_tokenizer(lk, vocab, sample_bytes=500_000, progress=False)
    return path


def shard_bytes_by_position(lake_path: Path) -> dict:
    """(split, category, shard file name) -> bytes of the .bin, .idx.npy and .docs.parquet files."""
    with Lake(lake_path) as lk:
        rows = lk.query("SELECT path, split, category FROM shards ORDER BY shard_id").to_pylist()
    out = {}
    for r in rows:
        stem = lake_path / r["path"]
        for suffix in (".bin", ".idx.npy", ".docs.parquet"):
            out[(r["split"], r["category"], stem.name + suffix)] = stem.with_suffix(suffix).read_bytes()
    return out


@pytest.fixture(scope="module")
def packed(tmp_path_factory):
    path = build_lake(tmp_path_factory.mktemp("packed") / "lake", go_corpus_files())
    with Lake(path) as lk:
        # batches of 3 rows: a shard spans many batches and tasks, and the next shard is read while one is written
        result = pack(lk, PackConfig(seq_len=256, workers=2, shard_bytes=SHARD_BYTES, batch_rows=3, progress=False))
    return path, result


def test_pack_holds_every_sample_once_in_order_with_eos_after_each_document(packed):
    path, result = packed
    with Lake(path) as lk:
        tok = load_tokenizer(lk)
        samples = {r["sample_id"]: r for r in lk.query("SELECT sample_id, split, category, text FROM samples").to_pylist()}
        rows = lk.query("SELECT * FROM shards ORDER BY shard_id").to_pylist()
    assert len(rows) == len(result.rows) and len({(r["split"], r["category"]) for r in rows}) >= 6
    assert any(r["shard_id"].endswith("/00002") for r in rows)  # several shards in one (split, category)
    seen = []
    for r in rows:
        assert r["dtype"] == "uint16" and r["seq_len"] == 256 and r["tokenizer_id"] == tok.tokenizer_id
        reader = ShardReader(path / r["path"], r["dtype"])
        ids = reader.sample_ids()
        assert ids == sorted(ids) and ids[0] == r["first_sample_id"] and ids[-1] == r["last_sample_id"]
        assert reader.documents == r["documents"] == len(ids) and len(reader) == r["tokens"]
        ends = reader.offsets[1:] - 1
        assert np.all(reader.tokens[ends] == tok.eos_id) and np.sum(reader.tokens == tok.eos_id) == reader.documents
        for d, sid in enumerate(ids):
            s = samples[sid]
            assert (s["split"], s["category"]) == (r["split"], r["category"])
            doc = reader.tokens[reader.offsets[d]:reader.offsets[d + 1] - 1]
            assert tok.decode(doc.tolist()) == s["text"]
        seen += ids
    assert sorted(seen) == sorted(samples)


def test_pack_token_resolves_to_its_sample_repository_path_and_licence(packed):
    path, _ = packed
    rng = random.Random(6)
    with Lake(path) as lk:
        tok = load_tokenizer(lk)
        rows = lk.query("SELECT path, dtype, tokens FROM shards ORDER BY shard_id").to_pylist()
        for _ in range(25):
            r = rng.choice(rows)
            reader = ShardReader(path / r["path"], r["dtype"])
            i = rng.randrange(r["tokens"])
            d = reader.document_of(i)
            assert reader.offsets[d] <= i < reader.offsets[d + 1]
            sample = lk.query("SELECT text, repo_id, path, license, \"commit\" FROM samples WHERE sample_id = ?",
                              [reader.sample_ids()[d]]).to_pylist()[0]
            start = int(reader.offsets[d])
            prefix = tok.decode(reader.tokens[start:i + 1].tolist())
            assert sample["text"].startswith(prefix)  # the token sits at that place of that sample's text
            header = f"<FILE path={sample['path']}>" if sample["path"].endswith(".go") else "<README>"
            assert sample["text"].startswith(header)
            assert (sample["repo_id"], sample["license"], sample["commit"]) == ("golang/go", "BSD-3-Clause", "go1.27.3")


def test_pack_twice_in_two_lakes_gives_byte_identical_shards_whatever_the_workers(packed, tmp_path):
    path, _ = packed
    other = build_lake(tmp_path / "lake", go_corpus_files())
    with Lake(other) as lk:
        pack(lk, PackConfig(seq_len=256, workers=1, shard_bytes=SHARD_BYTES, task_bytes=10_000, progress=False))
    a, b = shard_bytes_by_position(path), shard_bytes_by_position(other)
    assert a.keys() == b.keys() and len(a) > 20
    assert [k for k in a if a[k] != b[k]] == []


def test_pack_again_skips_complete_shards_and_repacks_a_corrupted_one(tmp_path, capsys):
    path = build_lake(tmp_path / "lake", go_corpus_files()[:50], vocab=600)
    cfg = PackConfig(seq_len=64, workers=1, shard_bytes=60_000, progress=False)
    with Lake(path) as lk:
        first = pack(lk, cfg)
        before = shard_bytes_by_position(path)
        again = pack(lk, cfg)
        assert again.packed == [] and again.skipped == [r["shard_id"] for r in first.rows]
        victim = first.rows[1]
        bin_path = (path / victim["path"]).with_suffix(".bin")
        data = bytearray(bin_path.read_bytes())
        data[len(data) // 2] ^= 0xFF
        bin_path.write_bytes(bytes(data))
        with pytest.raises(ShardError, match=f"shard .*{victim['path']}: {Path(victim['path']).name}.bin checksum mismatch"):
            verify_shards(lk)
        repaired = pack(lk, cfg)
        assert repaired.repaired == repaired.packed == [victim["shard_id"]]
        assert "checksum mismatch, packing it again" in capsys.readouterr().err
        verify_shards(lk)
    assert shard_bytes_by_position(path) == before


def test_pack_verify_names_a_truncated_shard_in_one_line(tmp_path, capsys):
    from transforms.pack_cli import main
    path = build_lake(tmp_path / "lake", go_corpus_files()[:30], vocab=600)
    assert main(["pack", "--seq-len", "64", "--workers", "1", "--lake", str(path)]) == 0
    assert main(["pack", "--verify", "--lake", str(path)]) == 0
    with Lake(path) as lk:
        victim = lk.query("SELECT path FROM shards ORDER BY shard_id LIMIT 1").column(0)[0].as_py()
    bin_path = (path / victim).with_suffix(".bin")
    bin_path.write_bytes(bin_path.read_bytes()[:-10])
    capsys.readouterr()
    assert run_cli("transforms", main, ["pack", "--verify", "--lake", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and victim in err and "truncated" in err


def test_pack_verify_names_a_corrupted_index_or_docs_file_in_one_line(tmp_path, capsys):
    from transforms.pack_cli import main
    path = build_lake(tmp_path / "lake", go_corpus_files()[:30], vocab=600)
    assert main(["pack", "--seq-len", "64", "--workers", "1", "--lake", str(path)]) == 0
    with Lake(path) as lk:
        row = lk.query("SELECT path, dtype FROM shards ORDER BY shard_id LIMIT 1").to_pylist()[0]
    stem = path / row["path"]
    for suffix in (".idx.npy", ".docs.parquet"):
        f = stem.with_suffix(suffix)
        good = f.read_bytes()
        bad = bytearray(good)
        bad[len(bad) // 2] ^= 0x01  # one bit, inside the data: the file still opens
        f.write_bytes(bytes(bad))
        capsys.readouterr()
        assert run_cli("transforms", main, ["pack", "--verify", "--lake", str(path)]) == 2
        err = capsys.readouterr().err.strip()
        assert err.count("\n") == 0 and f"{stem.name}{suffix} checksum mismatch" in err, err
        f.write_bytes(good)
    assert main(["pack", "--verify", "--lake", str(path)]) == 0
    docs = stem.with_suffix(".docs.parquet")
    docs.write_bytes(docs.read_bytes()[:-12])  # the footer gone: not a parquet file any more
    with pytest.raises(ShardError, match=f"shard .*{stem.name}: cannot read {stem.name}.docs.parquet"):
        ShardReader(stem, row["dtype"]).sample_ids()


def test_pack_cli_without_a_tokenizer_exits_2_with_one_line(lake, capsys):
    from transforms.pack_cli import main
    assert run_cli("transforms", main, ["pack", "--seq-len", "64", "--lake", str(lake.root)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "no tokenizer" in err


def test_shard_writer_keeps_uint32_ids_above_the_uint16_range(tmp_path):
    assert dtype_for(65_536) == np.uint16 and dtype_for(65_537) == np.uint32
    w = ShardWriter(tmp_path / "s" / "00000", dtype_for(100_000))
    w.add(np.array([70_000, 99_999, 3, 5, 3], np.int64), np.array([3, 2]), ["a", "b"])
    sha = w.close()
    assert w.checksums == {"sha256": sha, **{f"{k}_sha256": sha256_file(tmp_path / "s" / f"00000.{ext}")
                                             for k, ext in (("idx", "idx.npy"), ("docs", "docs.parquet"))}}
    r = ShardReader(tmp_path / "s" / "00000", "uint32")
    assert r.tokens.tolist() == [70_000, 99_999, 3, 5, 3] and r.offsets.tolist() == [0, 3, 5]
    assert r.sample_ids() == ["a", "b"] and r.document_of(3) == 1 and len(sha) == 64
    assert sorted(p.name for p in (tmp_path / "s").iterdir()) == ["00000.bin", "00000.docs.parquet", "00000.idx.npy"]


@pytest.mark.slow
def test_pack_resumes_after_sigkill_and_ends_byte_identical_to_an_uninterrupted_pack(packed, tmp_path):
    reference, _ = packed
    path = build_lake(tmp_path / "lake", go_corpus_files())
    cmd = [sys.executable, "-m", "transforms", "pack", "--seq-len", "256", "--workers", "2", "--shard-bytes",
           str(SHARD_BYTES), "--lake", str(path)]
    shards_dir = path / "artifacts" / "shards"
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while len(list(shards_dir.rglob("*.bin"))) < 3:  # killed once a few shards are complete
            assert proc.poll() is None, proc.stderr.read().decode()
            assert time.monotonic() < deadline
            time.sleep(0.005)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)  # the packer and its encoding workers, mid-pack
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    done_before = len(list(shards_dir.rglob("*.bin")))
    with Lake(path) as lk:
        recorded = lk.query("SELECT count(*) FROM shards").column(0)[0].as_py()
    assert 0 < recorded < 40 and done_before < 40
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert f"skipped {recorded} complete ones" in out.stdout
    assert list(shards_dir.rglob("*.tmp")) == []
    a, b = shard_bytes_by_position(reference), shard_bytes_by_position(path)
    assert a.keys() == b.keys() and [k for k in a if a[k] != b[k]] == []
