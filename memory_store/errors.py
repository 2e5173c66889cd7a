"""Errors a user can cause. The CLI turns every `UserError` into one line and exit code 2."""


class UserError(ValueError):
    """Bad input from a user or a file: reported in one line, nothing is written."""


class NotFoundError(UserError):
    """An id, version or name that does not exist."""


class InvalidInputError(UserError):
    """A value that does not validate (text, time, duration, confidence, file line...)."""
