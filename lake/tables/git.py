"""Raw tables written by ingest.git. repo_id is '<name>' or '<name>@<version>' (vendored modules)."""
from lake.schema import Table, cols

_REPO = ("repo_id", "VARCHAR", "'<name>' or '<name>@<version>'")

TABLES = [
    Table(
        "repos", "raw", "One row per ingested git repository (a vendored module at a version is its own repository).",
        cols(
            _REPO,
            ("name", "VARCHAR", "full name, e.g. golang/go or golang.org/x/tools"),
            ("version", "VARCHAR", "module version from modules.txt, '' for a plain repository"),
            ("source", "VARCHAR", "URL (no credentials) or absolute local path it was read from; 'lake:PATH' inside the lake"),
            ("default_branch", "VARCHAR"),
            ("head_commit", "VARCHAR"),
            ("root_commit", "VARCHAR", "first commit of HEAD's first-parent chain, read whatever --max-commits"),
            ("license", "VARCHAR", "SPDX expression of the root scope (license_scopes prefix ''), or NOASSERTION"),
            ("license_evidence", "VARCHAR", "file(s) the licence was detected from, or 'declared:<source>'"),
            ("license_score", "DOUBLE", "similarity of the evidence to the SPDX text, 0..1"),
            ("go_module", "VARCHAR", "module path from go.mod at HEAD"),
            ("refs_fingerprint", "VARCHAR", "hash of HEAD and refs/pull/*: unchanged means nothing to do"),
            ("github_license", "VARCHAR", "SPDX id GitHub's API reports (ingest git --from-top), beside the detected one"),
            ("fetched_at", "TIMESTAMPTZ"),
        ),
        key=("repo_id",),
    ),
    Table(
        "license_scopes", "raw",
        "Each repository's licences by path: the root ('') and every non-vendored directory with its own licence "
        "files; a file carries the scope with the longest prefix of its path.",
        cols(
            _REPO,
            ("prefix", "VARCHAR", "'' for the repository, else a directory with a trailing '/'"),
            ("license", "VARCHAR", "SPDX expression (MIT AND BSD-3-Clause, MIT OR GPL-3.0-only, X WITH E), or NOASSERTION"),
            ("terms", "VARCHAR[][]", "the expression's disjunctive normal form over licence ids (an exception counts "
                                     "as its licence): allowed when every id of one inner list is allowed"),
            ("evidence", "VARCHAR", "file(s) or source that decided it: LICENSE, README licence section, package.json, "
                                    "LICENSES/MIT.txt, SPDX-License-Identifier (N files), declared:<source>"),
            ("matcher", "VARCHAR", "text | notice | exception (joined by +) | readme | manifest | reuse | spdx-header | "
                                   "declared | nearest (NOASSERTION) | none; +or-later when a grant upgraded -only"),
            ("score", "DOUBLE", "the weakest piece's word-set Dice against its SPDX text, 0..1 (NOASSERTION: the nearest's)"),
            ("nearest", "VARCHAR", "for NOASSERTION: the closest licence text, the evidence of a modified licence"),
        ),
        key=("repo_id", "prefix"), scope=("repo_id",),
    ),
    Table(
        "files", "raw", "Every blob at HEAD with its flags and (when text and small enough) its content.",
        cols(
            _REPO,
            ("commit", "VARCHAR", "HEAD commit the file was read at"),
            ("path", "VARCHAR"),
            ("blob_id", "VARCHAR"),
            ("size", "BIGINT"),
            ("language", "VARCHAR"),
            ("is_binary", "BOOLEAN"),
            ("is_vendored", "BOOLEAN"),
            ("is_generated", "BOOLEAN"),
            ("is_lfs_pointer", "BOOLEAN"),
            ("is_symlink", "BOOLEAN"),
            ("is_submodule", "BOOLEAN"),
            ("is_too_large", "BOOLEAN"),
            ("is_invalid_utf8", "BOOLEAN"),
            ("content", "VARCHAR", "NULL when binary, too large, invalid UTF-8, symlink or submodule"),
        ),
        key=("repo_id", "path"), scope=("repo_id",), partition_by=("repo_id",),
        # whole files per row: DuckDB holds a row group in memory until it is full, so the default of
        # 122,880 rows would buffer a big repository's entire HEAD and encode it only after reading it
        row_group_rows=2048,
    ),
    Table(
        "trees", "raw", "The path list of each repository at HEAD (the <STRUCTURE> region).",
        cols(_REPO, ("commit", "VARCHAR"), ("path", "VARCHAR"),
             ("kind", "VARCHAR", "blob | tree | symlink | submodule"), ("mode", "INTEGER"), ("size", "BIGINT")),
        key=("repo_id", "path"), scope=("repo_id",), partition_by=("repo_id",),
    ),
    Table(
        "commits", "raw", "Commit history with messages, changed files and bounded diffs.",
        cols(
            _REPO,
            ("commit_id", "VARCHAR"),
            ("parents", "VARCHAR[]"),
            ("author_name", "VARCHAR"),
            ("author_email", "VARCHAR"),
            ("authored_at", "TIMESTAMPTZ"),
            ("committer_name", "VARCHAR"),
            ("committed_at", "TIMESTAMPTZ"),
            ("message", "VARCHAR"),
            ("changes", "STRUCT(path VARCHAR, old_path VARCHAR, change VARCHAR, additions INTEGER, deletions INTEGER)[]"),
            ("diff", "VARCHAR", "unified diff, cut at the configured bound"),
            ("diff_truncated", "BOOLEAN"),
            ("snippets", "STRUCT(path VARCHAR, before VARCHAR, after VARCHAR)[]", "bounded before/after text"),
        ),
        key=("repo_id", "commit_id"), scope=("repo_id",), partition_by=("repo_id",),
        row_group_rows=2048,  # bounded diffs per row: as for files
    ),
    Table(
        "git_pulls", "raw", "Pull requests seen through refs/pull/N/head.",
        cols(
            _REPO,
            ("number", "INTEGER"),
            ("head_commit", "VARCHAR"),
            ("base_commit", "VARCHAR", "merge-base with the default branch"),
            ("merged", "BOOLEAN"),
            ("merge_commit", "VARCHAR"),
            ("title", "VARCHAR", "from the merge commit, where merged"),
            ("body", "VARCHAR"),
            ("commits", "STRUCT(commit_id VARCHAR, message VARCHAR)[]"),
            ("changes", "STRUCT(path VARCHAR, old_path VARCHAR, change VARCHAR, additions INTEGER, deletions INTEGER)[]"),
            ("diff", "VARCHAR"),
            ("diff_truncated", "BOOLEAN"),
        ),
        key=("repo_id", "number"), scope=("repo_id",), partition_by=("repo_id",),
    ),
    Table(
        "readmes", "raw", "README text per repository, from git or from the GitHub API.",
        cols(_REPO, ("source", "VARCHAR", "git | github"), ("path", "VARCHAR"), ("content", "VARCHAR")),
        key=("repo_id", "source", "path"), scope=("repo_id", "source"),
    ),
    Table(
        "ingest_errors", "raw", "Per-item failures (missing object, corrupt pack, bad commit, HTTP error); the batch went on.",
        cols(
            _REPO,
            ("stage", "VARCHAR", "git | github"),
            ("object", "VARCHAR", "object id, path, ref or URL (never with a token)"),
            ("error", "VARCHAR"),
            ("run_id", "VARCHAR"),
            ("at", "TIMESTAMPTZ"),
        ),
        key=("repo_id", "stage", "object"), scope=("repo_id", "stage"),
    ),
]
