from trainers.errors import TrainerError


class EvalError(TrainerError):
    """An evaluation problem a user can act on; the CLI prints it on one line and exits 2.

    A TrainerError, so that trainers keeps one exception type at its edge.
    """
