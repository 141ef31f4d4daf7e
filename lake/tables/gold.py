"""Gold tables: training documents and SFT pairs, each with full provenance."""
from lake.schema import Table, cols

_PROVENANCE = (
    ("repo_id", "VARCHAR"),
    ("license", "VARCHAR", "SPDX id of the repository"),
    ("commit", "VARCHAR"),
    ("path", "VARCHAR", "file path, where the sample is a file"),
    ("pr_number", "INTEGER"),
    ("issue_number", "INTEGER"),
    ("source_table", "VARCHAR", "raw table the sample was built from"),
    ("lake_snapshot", "BIGINT", "lake snapshot the transforms read"),
)

TABLES = [
    Table(
        "samples", "gold", "Training documents: serialised text with category, split and provenance.",
        cols(
            ("sample_id", "VARCHAR", "sha256 of source_table, repo_id and the source key"),
            ("split", "VARCHAR", "train | val | test (stable hash of the repository)"),
            ("category", "VARCHAR", "NAT | MIX | CODE"),
            ("category_rule", "VARCHAR", "the rule that chose the category"),
            ("text", "VARCHAR", "serialised with region markers (artifacts/grammar.py)"),
            ("bytes", "BIGINT", "UTF-8 bytes of text"),
            ("near_dup_cluster", "VARCHAR"),
            *_PROVENANCE,
        ),
        key=("sample_id",), partition_by=("split",),
        # the packer reads one (category, sample_id) range per shard: sorted, small row groups let it
        # decompress ~2k documents at a time instead of a whole split (flat memory, issue 6)
        sort_by=("category", "sample_id"), row_group_rows=2048,
    ),
    Table(
        "sft_pairs", "gold", "Instruction pairs: PR title+body+diff -> explanation, diff -> commit message.",
        cols(
            ("pair_id", "VARCHAR"),
            ("kind", "VARCHAR", "pr_explanation | commit_message"),
            ("split", "VARCHAR"),
            ("prompt", "VARCHAR"),
            ("response", "VARCHAR"),
            *_PROVENANCE,
        ),
        key=("pair_id",), partition_by=("split",),
    ),
]
