"""Errors a user can cause. The CLI turns every `UserError` into one line and exit code 2."""


class UserError(ValueError):
    """Bad input from a user or a file: reported in one line, nothing is written."""


class NotFoundError(UserError):
    """An id, version or name that does not exist."""


class InvalidInputError(UserError):
    """A value that does not validate (text, time, duration, confidence, file line...)."""


def shown(value: object, limit: int = 60) -> str:
    """repr() of a user's value for an error line, cut short: a 100,000-character input must not
    become a 100,000-character error message."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"
