from lake.errors import RepoLLMError


class ExportError(RepoLLMError):
    """An export problem a user can act on; the CLI prints it on one line and exits 2."""
