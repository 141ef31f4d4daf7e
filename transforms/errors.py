from lake.errors import RepoLLMError


class TransformError(RepoLLMError):
    """A transforms problem a user can act on; the CLI prints it on one line and exits 2."""
