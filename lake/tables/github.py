"""Raw tables written by ingest.github. repo_id is the repository's full name, as in `repos`."""
from lake.schema import Table, cols

_REPO = ("repo_id", "VARCHAR", "owner/name")
_BOT = ("author_is_bot", "BOOLEAN")

TABLES = [
    Table(
        "github_repos", "raw", "Top repositories from search, with stars and licence; excluded ones keep their reason.",
        cols(
            _REPO,
            ("github_id", "BIGINT"),
            ("stars", "BIGINT"),
            ("forks", "BIGINT"),
            ("license", "VARCHAR", "SPDX id from the API, NULL or NOASSERTION when GitHub has none"),
            ("default_branch", "VARCHAR"),
            ("pushed_at", "TIMESTAMPTZ"),
            ("archived", "BOOLEAN"),
            ("fork", "BOOLEAN"),
            ("parent", "VARCHAR", "owner/name of the repository this one is a fork of (GraphQL `parent`, or a REST "
             "payload's `parent`); NULL when not a fork or not known"),
            ("topics", "VARCHAR[]"),
            ("description", "VARCHAR"),
            ("language", "VARCHAR"),
            ("excluded", "BOOLEAN"),
            ("exclude_reason", "VARCHAR"),
            ("fetched_at", "TIMESTAMPTZ"),
            ("clone_url", "VARCHAR", "what `ingest git --from-top` clones"),
        ),
        key=("github_id",),
    ),
    Table(
        "github_pulls", "raw", "Pull requests from the API.",
        cols(
            _REPO, ("number", "INTEGER"), ("title", "VARCHAR"), ("body", "VARCHAR"), ("author", "VARCHAR"), _BOT,
            ("state", "VARCHAR"), ("created_at", "TIMESTAMPTZ"), ("merged_at", "TIMESTAMPTZ"), ("closed_at", "TIMESTAMPTZ"),
            ("base_ref", "VARCHAR"), ("base_oid", "VARCHAR"), ("head_ref", "VARCHAR"), ("head_oid", "VARCHAR"),
            ("changed_files", "STRUCT(path VARCHAR, additions INTEGER, deletions INTEGER, change VARCHAR, patch VARCHAR)[]"),
        ),
        key=("repo_id", "number"), scope=("repo_id",), partition_by=("repo_id",),
    ),
    Table(
        "github_reviews", "raw", "Pull-request reviews.",
        cols(_REPO, ("pr_number", "INTEGER"), ("review_id", "VARCHAR"), ("author", "VARCHAR"), _BOT,
             ("state", "VARCHAR"), ("body", "VARCHAR"), ("submitted_at", "TIMESTAMPTZ"), ("commit_oid", "VARCHAR")),
        key=("repo_id", "review_id"), scope=("repo_id",), partition_by=("repo_id",),
    ),
    Table(
        "github_review_comments", "raw", "Review comments on diff lines.",
        cols(_REPO, ("pr_number", "INTEGER"), ("comment_id", "VARCHAR"), ("review_id", "VARCHAR"),
             ("author", "VARCHAR"), _BOT, ("path", "VARCHAR"), ("diff_hunk", "VARCHAR"), ("body", "VARCHAR"),
             ("in_reply_to", "VARCHAR"), ("created_at", "TIMESTAMPTZ")),
        key=("repo_id", "comment_id"), scope=("repo_id",), partition_by=("repo_id",),
    ),
    Table(
        "github_issues", "raw", "Issues (not pull requests).",
        cols(_REPO, ("number", "INTEGER"), ("title", "VARCHAR"), ("body", "VARCHAR"), ("author", "VARCHAR"), _BOT,
             ("state", "VARCHAR"), ("labels", "VARCHAR[]"), ("created_at", "TIMESTAMPTZ"), ("closed_at", "TIMESTAMPTZ")),
        key=("repo_id", "number"), scope=("repo_id",), partition_by=("repo_id",),
    ),
    Table(
        "github_issue_comments", "raw", "Conversation comments on issues and pull requests.",
        cols(_REPO, ("issue_number", "INTEGER"), ("is_pull", "BOOLEAN"), ("comment_id", "VARCHAR"),
             ("author", "VARCHAR"), _BOT, ("body", "VARCHAR"), ("created_at", "TIMESTAMPTZ")),
        key=("repo_id", "comment_id"), scope=("repo_id",), partition_by=("repo_id",),
    ),
    Table(
        "github_forks", "raw", "GitHub's fork graph for every repository `ingest github fetch` asked about (search "
        "or not): the splits keep a fork with its whole fork network.",
        cols(_REPO, ("fork", "BOOLEAN", "GraphQL `isFork`"),
             ("parent", "VARCHAR", "owner/name of the repository it was forked from; NULL when not a fork"),
             ("ancestors", "VARCHAR[]", "the parent, the parent's parent, ... as far as one query reaches "
              "(ingest/github/queries.py FORK_DEPTH); the lake joins longer chains through each ancestor's own row"),
             ("fetched_at", "TIMESTAMPTZ")),
        key=("repo_id",),
    ),
    Table(
        "github_cursors", "meta", "Pagination checkpoints per (repository, resource), so a killed run resumes.",
        cols(_REPO, ("resource", "VARCHAR", "pulls | issues | readme"),
             ("cursor", "VARCHAR", "GraphQL endCursor of the last committed page of a first, full crawl"),
             ("complete", "BOOLEAN", "a full crawl has finished once"), ("updated_at", "TIMESTAMPTZ"),
             ("since", "TIMESTAMPTZ", "everything updated before this is in the lake (incremental runs start here)"),
             ("started_at", "TIMESTAMPTZ", "when the crawl now under way began (its `since` once it finishes)")),
        key=("repo_id", "resource"),
    ),
    Table(
        "github_etags", "meta", "Conditional-request cache: URL (no token) -> ETag / Last-Modified.",
        cols(("url", "VARCHAR"), ("etag", "VARCHAR"), ("last_modified", "VARCHAR"), ("fetched_at", "TIMESTAMPTZ")),
        key=("url",),
    ),
    Table(
        "github_rate_limits", "meta", "API budget per token fingerprint and resource, as last seen (never the token).",
        cols(("token_fingerprint", "VARCHAR", "sha256:<12 hex> of the token"), ("resource", "VARCHAR", "core | search | graphql | secondary (a secondary-limit pause until reset_at)"),
             ("window_limit", "BIGINT", "requests or points per window"), ("remaining", "BIGINT"), ("reset_at", "TIMESTAMPTZ"), ("updated_at", "TIMESTAMPTZ")),
        key=("token_fingerprint", "resource"),
    ),
]
