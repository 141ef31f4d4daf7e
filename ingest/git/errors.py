from lake.errors import RepoLLMError


class GitIngestError(RepoLLMError):
    """Bad input for ingest.git (missing path, not a repository, empty, shallow, dangling HEAD):
    the CLI prints it on one line, goes on with the rest of the batch, and exits 2 at the end."""


class NameTakenError(GitIngestError):
    """The repository name is already in the lake from a different source: refused, the lake unchanged."""
