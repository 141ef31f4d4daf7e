"""The one exception type of the trainers package; the CLI turns it into a one-line message and exit code 2."""

from lake.errors import RepoLLMError


class TrainerError(RepoLLMError):
    pass
