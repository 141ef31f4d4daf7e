"""`pack --tokenizer hf:DIR`: the gold samples packed with another model's Hugging Face tokenizer, beside ours."""
from __future__ import annotations

import json

import pytest
from tokenizers import Tokenizer, models, pre_tokenizers, decoders, trainers

from tests.helpers.go_corpus import build_go_lake
from artifacts import grammar
from artifacts.hf_tokenizer import tokenizer_id_for
from transforms.pack_cli import main as pack_main
from artifacts.shard_format import ShardReader
from artifacts.tokenizer import Tokenizer as OurTokenizer
from lake.edge import run_cli


@pytest.fixture(scope="module")
def packed(tmp_path_factory):
    """A lake with our SentencePiece shards, and a stranger's byte-level BPE folder trained on other text."""
    from lake import Lake
    root = tmp_path_factory.mktemp("hfpack")
    with Lake(root / "lake") as lk:
        build_go_lake(lk, max_files=40, vocab_size=400)
        texts = lk.query("SELECT text FROM samples WHERE split = 'train' ORDER BY sample_id").column(0).to_pylist()
    stranger = root / "stranger-model"
    stranger.mkdir()
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    bpe.train_from_iterator(texts, trainers.BpeTrainer(vocab_size=600, special_tokens=["<|endoftext|>"],
                                                       initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    bpe.save(str(stranger / "tokenizer.json"))
    (stranger / "tokenizer_config.json").write_text(json.dumps({"eos_token": "<|endoftext|>"}))
    return root / "lake", stranger


def _newest_hf_shards(lk, tokenizer_id):
    return lk.query("SELECT * FROM shards WHERE tokenizer_id = ? ORDER BY shard_id", [tokenizer_id]).to_pylist()


@pytest.mark.parametrize("markers", ["text", "special"])
def test_pack_hf_tokenizer_round_trips_text_and_resolves_provenance(packed, markers, capsys):
    from lake import Lake
    lake, stranger = packed
    assert pack_main(["pack", "--lake", str(lake), "--tokenizer", f"hf:{stranger}", "--hf-markers", markers,
                      "--seq-len", "64", "--workers", "2"]) == 0
    with Lake(lake) as lk:
        row = lk.query("SELECT * FROM tokenizers WHERE kind = 'hf' ORDER BY created_at DESC LIMIT 1").to_pylist()[0]
        tok_id = row["tokenizer_id"]
        assert tok_id.startswith("hf:stranger-model") and ("+markers" in tok_id) == (markers == "special")
        assert tokenizer_id_for(stranger, markers) == tok_id
        capsys.readouterr()
        assert pack_main(["pack", "--tokenizer", f"hf:{stranger}", "--hf-markers", markers, "--print-id"]) == 0
        assert capsys.readouterr().out.strip() == tok_id  # the CLI names it as the pack recorded it
        shards = _newest_hf_shards(lk, tok_id)
        ours = lk.query("SELECT count(*) FROM shards WHERE tokenizer_id LIKE 'spm-%'").column(0)[0].as_py()
        assert shards and ours  # beside our own shards, not instead of them
        from artifacts.manifest import read_manifest
        assert read_manifest(lk).tokenizer_id.startswith("spm-")  # a run takes another model's shards by name only
        tok = OurTokenizer.from_file(lk.root / row["path"])  # the same entry point the trainers use
        assert tok.vocab_size == row["vocab_size"]
        if markers == "special":
            assert set(tok.marker_ids) == set(grammar.MARKERS) and min(tok.marker_ids.values()) >= 600 - 1
            assert set(tok.fim_ids) == set(grammar.FIM_MARKERS) and min(tok.fim_ids.values()) >= 600 - 1
        else:
            assert tok.marker_ids == {} and tok.fim_ids == {}
        checked = 0
        for s in shards:
            reader = ShardReader(lk.root / s["path"], s["dtype"])
            for d, sid in enumerate(reader.sample_ids()):
                text, repo = lk.query("SELECT text, repo_id FROM samples WHERE sample_id = ?", [sid]).to_pylist()[0].values()
                doc = [int(t) for t in reader.tokens[int(reader.offsets[d]):int(reader.offsets[d + 1])]]
                assert doc[-1] == tok.eos_id and tok.decode(doc[:-1]) == text and repo
                if markers == "special" and "<FILE path=" in text:
                    assert tok.marker_ids["<FILE path="] in doc  # one id, not the model's merges
                checked += 1
        assert checked == sum(s["documents"] for s in shards) == lk.count("samples")


def test_pack_hf_folder_without_tokenizer_json_is_one_line_error(packed, tmp_path, capsys):
    lake, _ = packed
    assert run_cli("transforms", pack_main, ["pack", "--lake", str(lake), "--tokenizer", f"hf:{tmp_path}"]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "no tokenizer.json" in err


def test_a_registered_hf_tokenizer_is_reused_not_registered_again(packed):
    from lake import Lake
    from artifacts.hf_tokenizer import register_hf_tokenizer
    lake, stranger = packed
    with Lake(lake) as lk:
        first = register_hf_tokenizer(lk, stranger)
        snap = lk.snapshot()
        again = register_hf_tokenizer(lk, stranger)
        assert lk.snapshot() == snap  # no second tokenizers commit
        assert again.tokenizer_id == first.tokenizer_id and again.encode("func main() {}") == first.encode("func main() {}")


def test_the_newest_shard_set_is_our_own_for_training_and_verifying_alike(packed):
    """Another model's shards packed last, and a set whose row has no created_at: the trainers' manifest and
    `pack --verify` take the same newest set, our own tokenizer's, and a row without a time is never newest."""
    from lake import Lake
    from artifacts.manifest import newest_shard_set, read_manifest
    from transforms.packer import verify_shards
    lake, stranger = packed
    assert pack_main(["pack", "--lake", str(lake), "--tokenizer", f"hf:{stranger}", "--seq-len", "64",
                      "--workers", "2"]) == 0
    with Lake(lake) as lk:
        newest_hf = lk.query("SELECT tokenizer_id FROM shards ORDER BY created_at DESC LIMIT 1").column(0)[0].as_py()
        assert newest_hf.startswith("hf:")  # the newest pack of all is the stranger's
        undated = {**lk.query("SELECT * FROM shards WHERE tokenizer_id LIKE 'spm-%' LIMIT 1").to_pylist()[0],
                   "tokenizer_id": "spm-bpe-0-undated", "shard_id": "undated", "created_at": None}
        lk.write("shards", [undated], message="a shard row without created_at")
        tok_id, snap = newest_shard_set(lk)
        assert tok_id.startswith("spm-") and tok_id != "spm-bpe-0-undated"
        assert read_manifest(lk).tokenizer_id == tok_id
        assert {(r["tokenizer_id"], r["lake_snapshot"]) for r in verify_shards(lk)} == {(tok_id, snap)}
        assert newest_shard_set(lk, newest_hf)[0] == newest_hf  # by name, another model's set
