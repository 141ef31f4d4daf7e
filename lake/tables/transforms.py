"""Clean-layer tables of the transforms stage: every decision keeps the rule that made it.

Written by the SQL models in sql/ (one table per model) and the Python steps in transforms/.
"""
from lake.schema import Table, cols

_REPO = ("repo_id", "VARCHAR")

TABLES: list[Table] = [
    Table(
        "allowed_licenses", "config", "SPDX ids a repository may carry to enter the corpus (seeded with OSI licences).",
        cols(
            ("spdx_id", "VARCHAR"),
            ("family", "VARCHAR", "permissive | weak_copyleft | strong_copyleft"),
            ("preference", "INTEGER", "lower wins when exact/near duplicates pick the copy to keep"),
        ),
        key=("spdx_id",),
    ),
    Table(
        "clean_repos", "clean", "Each raw repository with its licence decision, ranking inputs and fork group.",
        cols(
            _REPO,
            ("name", "VARCHAR"),
            ("license", "VARCHAR"),
            ("allowed", "BOOLEAN"),
            ("exclude_reason", "VARCHAR", "why a repository is out: license_missing | license_noassertion | license_not_allowed:<expression>"),
            ("license_preference", "INTEGER"),
            ("scopes", "STRUCT(prefix VARCHAR, license VARCHAR, allowed BOOLEAN)[]",
             "every path scope (license_scopes) with its decision; a file takes the longest prefix of its path"),
            ("stars", "BIGINT", "0 when GitHub has no row for it"),
            ("pushed_at", "TIMESTAMPTZ", "recency: GitHub push time, else the newest commit"),
            ("repo_rank", "BIGINT", "1 = first in the total order (licence preference, stars, recency, name)"),
            ("fork_of", "VARCHAR", "repository whose root commit this one shares and that ranks first (itself if none)"),
        ),
        key=("repo_id",),
    ),
    Table(
        "repo_splits", "clean", "train | val | test per repository: a stable hash of its fork group's representative.",
        cols(_REPO, ("split_key", "VARCHAR", "the repository the hash was taken of"), ("bucket", "INTEGER", "0..99"),
             ("split", "VARCHAR")),
        key=("repo_id",),
    ),
    Table(
        "clean_files", "clean", "Every raw file with the first filter rule that dropped it (NULL: kept).",
        cols(
            _REPO, ("path", "VARCHAR"), ("commit", "VARCHAR"), ("language", "VARCHAR"), ("size", "BIGINT"),
            ("content_hash", "VARCHAR", "sha256 of content"),
            ("drop_rule", "VARCHAR", "license | vendored | generated | binary | ... ; NULL when the file is kept"),
        ),
        key=("repo_id", "path"),
    ),
    Table(
        "exact_dups", "clean", "Kept files whose content hash another, higher-ranked file already has.",
        cols(_REPO, ("path", "VARCHAR"), ("content_hash", "VARCHAR"), ("size", "BIGINT"),
             ("kept_repo_id", "VARCHAR"), ("kept_path", "VARCHAR")),
        key=("repo_id", "path"),
    ),
    Table(
        "near_dup_bands", "clean", "LSH band hashes of each near-dedup candidate file (transforms/near_dedup.py): "
        "files sharing a (band, bucket) are candidates, verified exactly.",
        cols(("doc", "BIGINT", "the file's index in the near-dedup order (near_dup_clusters, by repository rank, path)"),
             ("band", "SMALLINT"), ("bucket", "BIGINT", "the band's MinHash values hashed to 64 bits"),
             ("share", "INTEGER", "the worker share I that signed it (`--worker I/K`; 1 in one process)"),
             ("shares", "INTEGER", "K, the number of shares the documents were split into")),
        key=("doc", "band", "shares"), scope=("share", "shares"),
    ),
    Table(
        "near_dup_shares", "clean", "Each committed share of the near-dedup signatures (`transforms near-dedup "
        "--worker I/K`): the finishing step needs all K for the current document list.",
        cols(("share", "INTEGER"), ("shares", "INTEGER"),
             ("documents_digest", "VARCHAR", "sha256 of the numbered document list (keys, in rank order) it signed"),
             ("documents", "BIGINT", "documents in that list"), ("signed", "BIGINT", "documents of this share"),
             ("committed_at", "TIMESTAMPTZ")),
        key=("share", "shares"),
    ),
    Table(
        "near_dup_clusters", "clean", "Near-duplicate clusters of the exact-deduped files: exact Jaccard >= threshold to the representative (transforms/dedup.py).",
        cols(_REPO, ("path", "VARCHAR"), ("size", "BIGINT"),
             ("cluster_id", "VARCHAR", "the representative's repo_id:path hashed"),
             ("cluster_size", "INTEGER"), ("is_representative", "BOOLEAN")),
        key=("repo_id", "path"),
    ),
    Table(
        "clean_pulls", "clean", "Pull requests of allowed repositories, git refs and the API merged, with human comments.",
        cols(_REPO, ("number", "INTEGER"), ("title", "VARCHAR"), ("body", "VARCHAR"), ("paths", "VARCHAR[]"),
             ("diff", "VARCHAR"), ("diff_truncated", "BOOLEAN"), ("commit", "VARCHAR"),
             ("commit_messages", "VARCHAR[]"), ("comments", "STRUCT(author VARCHAR, body VARCHAR)[]"),
             ("source_table", "VARCHAR", "git_pulls | github_pulls")),
        key=("repo_id", "number"),
    ),
    Table(
        "commit_filter", "clean", "Each commit's verdict as an SFT commit-message target (CommitPackFT-style rules).",
        cols(_REPO, ("commit_id", "VARCHAR"), ("subject", "VARCHAR"), ("drop_rule", "VARCHAR", "NULL when kept")),
        key=("repo_id", "commit_id"),
    ),
    Table(
        "documents", "clean", "Serialised, redacted documents before categorisation and splitting.",
        cols(
            ("doc_id", "VARCHAR"), ("kind", "VARCHAR", "file | readme | structure | pull | issue | commit"),
            ("text", "VARCHAR", "serialised with artifacts/grammar.py, secrets replaced by placeholders"),
            ("redactions", "MAP(VARCHAR, INTEGER)", "placeholder -> count"),
            ("path", "VARCHAR"), ("language", "VARCHAR"), ("near_dup_cluster", "VARCHAR"),
            _REPO, ("commit", "VARCHAR"), ("pr_number", "INTEGER"), ("issue_number", "INTEGER"),
            ("source_table", "VARCHAR"),
        ),
        key=("doc_id",),
    ),
    Table(
        "sft_candidates", "clean", "Redacted SFT prompt/response pairs before splitting.",
        cols(
            ("pair_id", "VARCHAR"), ("kind", "VARCHAR"), ("prompt", "VARCHAR"), ("response", "VARCHAR"),
            ("redactions", "MAP(VARCHAR, INTEGER)"),
            _REPO, ("commit", "VARCHAR"), ("pr_number", "INTEGER"), ("source_table", "VARCHAR"),
        ),
        key=("pair_id",),
    ),
]
