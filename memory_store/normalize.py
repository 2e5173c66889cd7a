"""Normalising names and validating user-supplied values (pure functions)."""
from __future__ import annotations

import json
import math
import numbers
import re
import unicodedata

from .errors import InvalidInputError, shown

MAX_TEXT = 100_000  # characters in a note or a fact object
MAX_NAME = 500  # characters in a subject; predicates and namespaces get 200
_SPACE = re.compile(r"\s+")


def normalize_name(value: str) -> str:
    """Case-fold, NFC-normalise and collapse whitespace: 'Acme  Corp' and 'acme corp' are one subject."""
    # NUL never reaches SQL (PostgreSQL rejects it in text), so a name with one means the name without it.
    return _SPACE.sub(" ", unicodedata.normalize("NFC", str(value).replace("\x00", ""))).strip().casefold()


def clean_text(value: object, *, what: str, max_len: int = MAX_TEXT) -> str:
    if not isinstance(value, str):
        raise InvalidInputError(f"{what} must be text, got {type(value).__name__}")
    text = value.replace("\x00", "").strip()
    if not text:
        raise InvalidInputError(f"{what} is empty")
    if len(text) > max_len:
        raise InvalidInputError(f"{what} is too long ({len(text)} characters, at most {max_len})")
    _require_utf8(text, what)
    return text


def _require_utf8(text: str, what: str) -> None:
    # Lone surrogates (e.g. "\\ud800" in a JSON import) cannot be stored or embedded.
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidInputError(f"{what} is not valid Unicode (it contains a lone surrogate)") from None


def clean_metadata(value: object, *, what: str = "metadata") -> dict:
    """An object of JSON values (no NaN/Infinity, no lone surrogates): what every backend can store."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidInputError(f"{what} must be an object of key/value pairs")
    try:
        encoded = json.dumps(value, allow_nan=False, ensure_ascii=False)
    except (TypeError, ValueError, RecursionError) as exc:
        raise InvalidInputError(f"{what} must hold only JSON values ({str(exc).splitlines()[0][:100]})") from None
    _require_utf8(encoded, what)
    return json.loads(encoded)  # exactly what the database will hand back (keys as text, tuples as lists)


def clean_name(value: object, *, what: str, max_len: int = MAX_NAME) -> str:
    return normalize_name(clean_text(value, what=what, max_len=max_len))


def clean_filter(value: object, *, what: str) -> str | None:
    """A name used only to filter a read: None or "" means no filter; anything else must be text that is not
    blank. No length limit: a name longer than any stored one simply matches nothing."""
    return None if value is None or value == "" else clean_name(value, what=what, max_len=MAX_TEXT)


def clean_namespace(value: object) -> str:
    text = clean_text(value, what="namespace", max_len=200)
    if _SPACE.search(text):
        raise InvalidInputError(f"namespace {text!r} must not contain whitespace")
    if text in (".", ".."):  # a namespace names folders (checkpoints, state): never the parent or itself
        raise InvalidInputError(f"namespace {text!r} is not allowed ('.' and '..' are reserved)")
    return text


def clean_confidence(value: object) -> float:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise InvalidInputError(f"confidence must be a number in [0, 1], got {shown(value)}") from None
    except OverflowError:  # float(10**400)
        raise InvalidInputError("confidence must be in [0, 1], got a number too large for a float") from None
    if isinstance(value, bool) or not math.isfinite(number) or not 0.0 <= number <= 1.0:
        raise InvalidInputError(f"confidence must be in [0, 1], got {shown(value)}")
    return number


MAX_WHOLE = 2 ** 31 - 1  # what an SQL INTEGER (ids, versions) holds on every backend


def clean_whole(value: object, *, what: str, minimum: int = 0) -> int:
    """A whole number (not a bool, not 2.5, not '3') within what SQL integers hold."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise InvalidInputError(f"{what} must be a whole number, got {shown(value)}")
    value = int(value)
    if not minimum <= value <= MAX_WHOLE:
        raise InvalidInputError(f"{what} must be a whole number from {minimum} to {MAX_WHOLE}, got {value}")
    return value
