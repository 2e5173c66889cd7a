"""Errors a user can cause. The CLI turns every `UserError` into one line and exit code 2."""


class UserError(ValueError):
    """Bad input from a user or a file: reported in one line, nothing is written."""


class NotFoundError(UserError):
    """An id, version or name that does not exist."""


class InvalidInputError(UserError):
    """A value that does not validate (text, time, duration, confidence, file line...)."""


class DamagedFileError(UserError):
    """A file agentcl keeps (consolidation state, a checkpoint, a pin, a pointer...) that cannot be read or
    does not hold what it must. The CLI names it in one line (exit 2) and nothing writes over it: a damaged
    file is the evidence a user needs to restore it, and replacing it could throw away learned state."""

    def __init__(self, path: object, problem: str, fix: str = "restore it from a backup or delete it"):
        self.path, self.problem = str(path), problem
        super().__init__(f"{path} is damaged ({problem}); {fix}")


def shown(value: object, limit: int = 60) -> str:
    """repr() of a user's value for an error line, cut short: a 100,000-character input must not
    become a 100,000-character error message."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"
