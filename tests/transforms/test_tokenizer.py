"""The tokenizer on real Go source (the toolchain's own GOROOT): lossless, markers as single ids, stored in the lake."""
from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from lake import Lake
from tests.helpers.go_corpus import GOROOT, go_corpus_files, sample_rows
from artifacts import grammar
from artifacts.errors import TokenizerError
from artifacts.tokenizer import SPACE, Tokenizer, load_tokenizer
from artifacts.tokenizer_sample import stratified_quotas
from transforms.tokenizer import train_tokenizer
from lake.edge import run_cli

ROOT = Path(__file__).resolve().parents[2]
TEST_VOCAB = 1200


@pytest.fixture(scope="session")
def go_lake(tmp_path_factory):
    """A lake whose `samples` hold the Go corpus, with a tokenizer trained on it (shared: training is the slow part)."""
    path = tmp_path_factory.mktemp("go_lake") / "lake"
    with Lake(path) as lk:
        lk.write("samples", sample_rows(go_corpus_files()), mode="overwrite")
        tok = train_tokenizer(lk, TEST_VOCAB, sample_bytes=600_000, progress=False)
    return path, tok


@pytest.fixture(scope="session")
def go_tokenizer(go_lake) -> Tokenizer:
    return go_lake[1]


def test_tokenizer_round_trips_every_file_of_the_go_sample(go_tokenizer):
    files = go_corpus_files()
    assert len(files) > 100
    for p in files:
        text = p.read_text(encoding="utf-8")
        ids = go_tokenizer.encode(text)
        assert go_tokenizer.decode(ids) == text, p
        if SPACE not in text:  # our piece table decodes exactly as SentencePiece's own decoder does
            assert go_tokenizer.sp.decode(ids) == text, p


@pytest.mark.parametrize("text", [
    "", "\t\t\tx := 1\n\n\n", "a    b\t \t c   \n   ", "\r\n\r\nwindows\r\n", "  leading and trailing  ",
    "héllo wörld 世界 🙂 ∑ \u00a0nbsp \u200bzwsp", "\x00\x01\x7f control", "a\u2581b \u2581\u2581 \u2581",
    "<FILE path=x.go>\n<DIFF>-a\n+b", "</s><s><pad><unk> are text here",
])
def test_tokenizer_round_trips_whitespace_unicode_and_its_own_space_symbol(go_tokenizer, text):
    assert go_tokenizer.decode(go_tokenizer.encode(text)) == text


def test_tokenizer_literal_u2581_survives_where_plain_sentencepiece_turns_it_into_a_space(go_tokenizer):
    text = f"var sep = \"{SPACE}\""
    assert go_tokenizer.sp.decode(go_tokenizer.sp.encode(text)) != text  # why the escape exists
    ids = go_tokenizer.encode(text)
    assert go_tokenizer.decode(ids) == text
    assert [go_tokenizer.sp.id_to_piece(i) for i in ids[-4:-1]] == ["<0xE2>", "<0x96>", "<0x81>"]


def test_tokenizer_round_trips_bytes_that_are_not_utf8(go_tokenizer):
    for data in (b"ok \xff\xfe end", b"\xc3(", b"\xe2\x82", b"latin-1 caf\xe9\n", bytes(range(256))):
        ids = go_tokenizer.encode_bytes(data)
        assert go_tokenizer.decode_bytes(ids) == data
        as_str = data.decode("utf-8", "surrogateescape")
        assert go_tokenizer.decode(go_tokenizer.encode(as_str)) == as_str
    with pytest.raises(TokenizerError, match="lone surrogate U\\+D800"):
        go_tokenizer.encode("x\ud800")


def test_tokenizer_markers_and_specials_are_one_id_each(go_tokenizer):
    tok = go_tokenizer
    ids = list(tok.marker_ids.values())
    assert sorted(tok.marker_ids) == sorted(grammar.MARKERS)
    assert len(set(ids + [tok.bos_id, tok.eos_id, tok.pad_id, tok.unk_id])) == len(ids) + 4
    for marker, mid in tok.marker_ids.items():
        assert tok.encode(marker) == [mid], marker
        assert mid in tok.encode(f"x = 1\n{marker}tail"), marker
    assert tok.encode("<FILE path=a/b.go>\npackage b")[0] == tok.marker_ids["<FILE path="]
    pieces = {tok.sp.id_to_piece(i): i for i in (tok.pad_id, tok.unk_id, tok.bos_id, tok.eos_id)}
    assert pieces == {grammar.PAD: tok.pad_id, grammar.UNK: tok.unk_id, grammar.BOS: tok.bos_id, grammar.EOS: tok.eos_id}
    assert tok.eos_id not in tok.encode("</s>")  # a literal "</s>" in source is text, never the end of a document


def test_tokenizer_fim_sentinels_are_one_id_each_apart_from_markers_and_specials(go_tokenizer):
    tok = go_tokenizer
    assert sorted(tok.fim_ids) == sorted(grammar.FIM_MARKERS)
    taken = set(tok.marker_ids.values()) | {tok.bos_id, tok.eos_id, tok.pad_id, tok.unk_id}
    assert len(set(tok.fim_ids.values())) == 3 and not set(tok.fim_ids.values()) & taken
    prompt = grammar.fim_prompt("func F() {\n\treturn ", "\n}\n")
    ids = tok.encode(prompt)
    assert [i for i in ids if i in tok.fim_ids.values()] == [tok.fim_ids[m] for m in grammar.FIM_MARKERS]
    assert ids[0] == tok.fim_ids[grammar.FIM_PREFIX] and ids[-1] == tok.fim_ids[grammar.FIM_MIDDLE]
    assert tok.decode(ids) == prompt
    assert tok.encode(grammar.FIM_SUFFIX) == [tok.fim_ids[grammar.FIM_SUFFIX]]


def test_tokenizer_is_stored_with_its_sample_options_and_val_figures(go_lake):
    path, tok = go_lake
    with Lake(path) as lk:
        rec = lk.query("SELECT * FROM tokenizers").to_pylist()
        assert [r["tokenizer_id"] for r in rec] == [tok.tokenizer_id]
        r = rec[0]
        model = lk.root / r["path"]
        assert model == tok.model_path and model.is_relative_to(lk.artifacts("tokenizers"))
        assert hashlib.sha256(model.read_bytes()).hexdigest() == r["sha256"]
        assert r["vocab_size"] == tok.vocab_size == TEST_VOCAB
        assert json.loads(r["options"])["normalization_rule_name"] == "identity"
        bpt = json.loads(r["bytes_per_token"])
        assert {"CODE", "NAT", "all"} <= set(bpt) and all(1.2 < v < 8.0 for v in bpt.values())
        sample = pq.read_table(model.with_name("sample.parquet")).to_pylist()
        ids = [s["sample_id"] for s in sample]
        at = lk.query("SELECT sample_id, split, category, bytes FROM samples WHERE sample_id IN "
                      "(SELECT unnest(?::VARCHAR[]))", [ids]).to_pylist()
        assert len(at) == len(ids) and {a["split"] for a in at} == {"train"}
        assert r["sample_bytes"] == sum(a["bytes"] for a in at) and r["sample_snapshot"] <= lk.snapshot()
        # stratified: NAT (the smallest) is given its whole train text, CODE and MIX share the rest
        nat_train = lk.query("SELECT sum(bytes) FROM samples WHERE split='train' AND category='NAT'").column(0)[0].as_py()
        assert sum(a["bytes"] for a in at if a["category"] == "NAT") == nat_train
        assert tok.meta["sample_by_category"]["NAT"]["bytes"] == nat_train


def test_stratified_quotas_share_equally_and_pass_on_what_a_small_category_cannot_use():
    assert stratified_quotas({"CODE": 1000, "MIX": 1000, "NAT": 1000}, 300) == {"CODE": 100, "MIX": 100, "NAT": 100}
    assert stratified_quotas({"CODE": 1000, "MIX": 500, "NAT": 10}, 600) == {"CODE": 295, "MIX": 295, "NAT": 10}
    assert stratified_quotas({"CODE": 50, "NAT": 10}, 600) == {"CODE": 50, "NAT": 10}


def test_load_tokenizer_finds_the_latest_or_a_named_one_and_from_file_needs_no_lake(go_lake, tmp_path):
    path, tok = go_lake
    with Lake(path) as lk:
        assert load_tokenizer(lk).tokenizer_id == tok.tokenizer_id
        assert load_tokenizer(lk, tok.tokenizer_id).model_path == tok.model_path
        with pytest.raises(TokenizerError, match="no tokenizer 'nope'"):
            load_tokenizer(lk, "nope")
    alone = tmp_path / "export" / "tokenizer.model"
    alone.parent.mkdir()
    shutil.copy(tok.model_path, alone)
    loose = Tokenizer.from_file(alone)
    text = "func main() {\n\tfmt.Println(\"héllo\")\n}\n"
    assert loose.encode(text) == tok.encode(text) and loose.decode(loose.encode(text)) == text
    assert loose.marker_ids == tok.marker_ids and loose.eos_id == tok.eos_id


def test_load_tokenizer_in_an_empty_lake_says_how_to_make_one(lake):
    with pytest.raises(TokenizerError, match="python -m transforms tokenizer"):
        load_tokenizer(lake)


def test_training_the_same_sample_twice_gives_the_same_tokenizer(go_lake):
    path, tok = go_lake
    with Lake(path) as lk:
        again = train_tokenizer(lk, TEST_VOCAB, sample_bytes=600_000, progress=False)
        assert again.tokenizer_id == tok.tokenizer_id
        assert lk.query("SELECT count(*) FROM tokenizers").column(0)[0].as_py() == 1


def test_tokenizer_cli_rejects_a_vocabulary_smaller_than_its_reserved_pieces(lake, capsys):
    from transforms.tokenizer_cli import main
    assert run_cli("transforms", main, ["tokenizer", "--vocab-size", "100", "--lake", str(lake.root)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "--vocab-size 100 is too small" in err


def test_tokenizer_cli_on_an_empty_lake_exits_2_with_one_line(lake, capsys):
    from transforms.tokenizer_cli import main
    assert run_cli("transforms", main, ["tokenizer", "--vocab-size", "1000", "--lake", str(lake.root)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "no train samples" in err


@pytest.mark.slow
def test_tokenizer_cli_trains_from_the_lake_end_to_end(tmp_path):
    path = tmp_path / "lake"
    with Lake(path) as lk:
        lk.write("samples", sample_rows(go_corpus_files()[:60]), mode="overwrite")
    out = subprocess.run([sys.executable, "-m", "transforms", "tokenizer", "--vocab-size", "800", "--sample-bytes",
                          "300000", "--lake", str(path)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    with Lake(path) as lk:
        tid = lk.query("SELECT tokenizer_id FROM tokenizers").column(0)[0].as_py()
    assert tid in out.stdout and tid.startswith("spm-bpe-800-")


@pytest.mark.slow
def test_tokenizer_round_trips_every_go_file_of_goroot(go_tokenizer):
    files = [p for p in sorted((GOROOT / "src").rglob("*.go")) if p.is_file()]
    assert len(files) > 8000
    bad = [p for p in files if go_tokenizer.decode(go_tokenizer.encode(t := p.read_text(encoding="utf-8"))) != t]
    assert bad == []
