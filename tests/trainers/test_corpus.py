"""The trainer tests' Go corpus (tests/helpers/go_corpus.py) packs every sample, in order, into its shards."""
from __future__ import annotations

from tests.helpers.go_corpus import build_go_lake
from artifacts.shard_format import ShardReader, verify_row


def test_trainers_corpus_shards_hold_every_sample_in_order(lake):
    built = build_go_lake(lake, max_files=60, vocab_size=400)
    tok = built["tokenizer"]
    n_samples = lake.count("samples")
    seen = 0
    for s in built["shards"]:
        stem = lake.root / s["path"]
        verify_row(stem, s)
        reader = ShardReader(stem, s["dtype"])
        ids = reader.sample_ids()
        assert reader.documents == len(ids) == s["documents"]
        first = lake.query("SELECT text FROM samples WHERE sample_id = ?", [ids[0]]).column(0)[0].as_py()
        doc = reader.tokens[int(reader.offsets[0]):int(reader.offsets[1])]
        assert int(doc[-1]) == tok.eos_id and tok.decode([int(t) for t in doc[:-1]]) == first
        seen += reader.documents
    assert seen == n_samples
