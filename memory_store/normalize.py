"""Normalising names and validating user-supplied values (pure functions)."""
from __future__ import annotations

import json
import math
import re
import unicodedata

from .errors import InvalidInputError

MAX_TEXT = 100_000  # characters in a note or a fact object
MAX_NAME = 500  # characters in a subject; predicates and namespaces get 200
_SPACE = re.compile(r"\s+")


def normalize_name(value: str) -> str:
    """Case-fold, NFC-normalise and collapse whitespace: 'Acme  Corp' and 'acme corp' are one subject."""
    return _SPACE.sub(" ", unicodedata.normalize("NFC", str(value))).strip().casefold()


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
    return dict(value)


def clean_name(value: object, *, what: str, max_len: int = MAX_NAME) -> str:
    return normalize_name(clean_text(value, what=what, max_len=max_len))


def clean_namespace(value: object) -> str:
    text = clean_text(value, what="namespace", max_len=200)
    if _SPACE.search(text):
        raise InvalidInputError(f"namespace {text!r} must not contain whitespace")
    return text


def clean_confidence(value: object) -> float:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise InvalidInputError(f"confidence must be a number in [0, 1], got {value!r}") from None
    if not math.isfinite(number) or not 0.0 <= number <= 1.0:
        raise InvalidInputError(f"confidence must be in [0, 1], got {value!r}")
    return number
