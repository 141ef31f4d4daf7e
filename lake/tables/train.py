"""Tokenizers, token shards and training runs."""
from lake.schema import Table, cols

TABLES = [
    Table(
        "tokenizers", "meta", "Trained tokenizers, stored under the lake's artifacts/tokenizers/.",
        cols(
            ("tokenizer_id", "VARCHAR"),
            ("kind", "VARCHAR", "sentencepiece | hf"),
            ("path", "VARCHAR", "relative to the lake root"),
            ("vocab_size", "INTEGER"),
            ("options", "JSON"),
            ("sample_snapshot", "BIGINT", "lake snapshot the training sample came from"),
            ("sample_bytes", "BIGINT"),
            ("bytes_per_token", "JSON", "on val, by category"),
            ("sha256", "VARCHAR"),
            ("created_at", "TIMESTAMPTZ"),
        ),
        key=("tokenizer_id",),
    ),
    Table(
        "shards", "meta", "Memory-mapped token shards (see transforms/packer.py for the on-disk format).",
        cols(
            ("shard_id", "VARCHAR"),
            ("path", "VARCHAR", "relative to the lake root"),
            ("split", "VARCHAR"),
            ("category", "VARCHAR"),
            ("dtype", "VARCHAR", "uint16 | uint32"),
            ("tokens", "BIGINT"),
            ("documents", "BIGINT"),
            ("sha256", "VARCHAR", "of the .bin"),
            ("idx_sha256", "VARCHAR", "of the .idx.npy"),
            ("docs_sha256", "VARCHAR", "of the .docs.parquet"),
            ("tokenizer_id", "VARCHAR"),
            ("lake_snapshot", "BIGINT", "the last snapshot that changed samples: Lake(root, snapshot=N) shows them"),
            ("created_at", "TIMESTAMPTZ"),
            ("first_sample_id", "VARCHAR", "the shard holds the samples of its split and category with sample_id "
                                           "in [first, last], in sample_id order"),
            ("last_sample_id", "VARCHAR"),
            ("text_bytes", "BIGINT", "UTF-8 bytes of the text its documents were encoded from"),
            ("seq_len", "INTEGER", "the --seq-len of the pack that wrote it"),
        ),
        key=("shard_id",), scope=("tokenizer_id", "lake_snapshot"),
    ),
    Table(
        "training_runs", "meta", "Training runs: config, data they read, final metrics.",
        cols(
            ("run_id", "VARCHAR"),
            ("config", "JSON"),
            ("lake_snapshot", "BIGINT"),
            ("tokenizer_id", "VARCHAR"),
            ("shards", "VARCHAR[]"),
            ("checkpoint", "VARCHAR"),
            ("metrics", "JSON"),
            ("started_at", "TIMESTAMPTZ"),
            ("ended_at", "TIMESTAMPTZ"),
            ("status", "VARCHAR", "running | ok | failed"),
            ("run_dir", "VARCHAR", "where the logs, config.yaml and loss_curve.png are"),
            ("resumed_from", "VARCHAR", "checkpoint a resumed run started from"),
        ),
        key=("run_id",),
    ),
]
