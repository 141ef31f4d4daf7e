class RepoLLMError(Exception):
    """A problem a user can act on, in any stage: the CLI edge prints it on one line and exits 2.

    It lives in the lake layer because every package imports the lake and the lake imports nothing of ours,
    so each package's error type can subclass it without an arrow against the data flow.
    """


class LakeError(RepoLLMError):
    """A lake problem a user can act on; the CLI prints it on one line and exits 2."""
