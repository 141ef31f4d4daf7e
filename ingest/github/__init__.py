"""ingest.github: top Go repositories, their pull requests, reviews and issues from GitHub's API.

GraphQL brings a page of PRs with comments, reviews, review comments and file lists in one call; REST is
used only where GraphQL has no data (search, the preferred README, conditional change probes, patches).
"""

from lake.errors import RepoLLMError


class GitHubError(RepoLLMError):
    """A GitHub problem a user can act on; the CLI prints it on one line and exits 2. Never holds a token."""


class CredentialsError(GitHubError):
    """GitHub refused the token (401): no repository can succeed, so the whole run stops."""
