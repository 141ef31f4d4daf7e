from lake.errors import RepoLLMError


class EvalError(RepoLLMError):
    """An evaluation problem a user can act on; the CLI prints it on one line and exits 2.
    """
