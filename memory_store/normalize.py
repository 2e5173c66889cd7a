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


MAX_JSON_DEPTH = 64  # nesting of arrays/objects in one user value: far beyond any real metadata or scenario
MAX_JSON_ITEMS = 1_000_000  # scalars, keys and containers in one value
MAX_INPUT_BYTES = 16 * 1024 * 1024  # what the CLI reads from one file, stdin or one import line


def json_value(value: object, *, what: str = "value", max_depth: int = MAX_JSON_DEPTH,
               max_items: int = MAX_JSON_ITEMS) -> object:
    """`value` itself if it is a JSON value every backend stores and reads back unchanged: finite numbers
    only, string keys, no lone surrogates, at most `max_depth` levels and `max_items` parts. Otherwise
    InvalidInputError with one line naming where (e.g. `metadata.a[3] must be a finite number`). Pure;
    walks iteratively, so a deep or self-referencing value cannot exhaust the stack. `what=""` names
    places by their path alone (`seed`, `tools[0].name`)."""
    stack: list[tuple[object, str, int]] = [(value, "", 0)]
    items = 0
    while stack:
        item, path, depth = stack.pop()
        where = (f"{what}.{path}" if what and not path.startswith("[") else f"{what}{path}") if path else \
            (what or "the value")
        items += 1
        if items > max_items:
            raise InvalidInputError(f"{what or 'the value'} is too large (more than {max_items:,} parts)")
        if item is None or isinstance(item, (bool, int)):
            continue
        if isinstance(item, str):
            _require_utf8(item, where)
        elif isinstance(item, float):
            if not math.isfinite(item):  # NaN, Infinity and 1e999 (which parses to inf)
                raise InvalidInputError(f"{where} must be a finite number, got {item!r}")
        elif isinstance(item, (dict, list, tuple)):
            if depth >= max_depth:
                raise InvalidInputError(f"{what or 'the value'} is nested too deeply (more than {max_depth} levels)")
            if isinstance(item, dict):
                for key, child in item.items():
                    if not isinstance(key, str):
                        raise InvalidInputError(f"{where} has a key that is not text ({shown(key)})")
                    _require_utf8(key, f"a key of {where}")
                    stack.append((child, f"{path}.{shown(key, 40)[1:-1]}" if path else shown(key, 40)[1:-1],
                                  depth + 1))
            else:
                stack.extend((child, f"{path}[{i}]", depth + 1) for i, child in enumerate(item))
        else:
            raise InvalidInputError(f"{where} must be a JSON value, got {type(item).__name__}")
    return value


def _unique_keys(pairs: list[tuple[str, object]]) -> dict:
    keys = [k for k, _ in pairs]
    if len(set(keys)) != len(keys):
        twin = next(k for i, k in enumerate(keys) if k in keys[:i])
        raise InvalidInputError(f"duplicate key {shown(twin, 40)} in one object (which one counts is ambiguous)")
    return dict(pairs)


def parse_json(text: str, *, what: str = "JSON") -> object:
    """User JSON text -> a value that passed `json_value`. Refuses what json.loads lets through: NaN,
    Infinity, 1e999 (named by their path: json.loads gives them as floats, json_value refuses them),
    duplicate keys in one object, integers too long to convert, nesting that would overflow the stack.
    json.JSONDecodeError (with its line and column) is re-raised for the caller to word; every other
    problem is InvalidInputError with one line starting with `what`."""
    if len(text) > MAX_INPUT_BYTES:
        raise InvalidInputError(f"{what} is too large (more than {MAX_INPUT_BYTES // 2 ** 20} MiB)")
    try:
        return json_value(json.loads(text, object_pairs_hook=_unique_keys), what="")
    except InvalidInputError as exc:
        raise InvalidInputError(f"{what}: {exc}") from None
    except json.JSONDecodeError:
        raise
    except RecursionError:
        raise InvalidInputError(f"{what} is nested too deeply") from None
    except ValueError as exc:  # an integer of more than 4300 digits (sys.get_int_max_str_digits)
        problem = "an integer has too many digits" if "digits" in str(exc) else str(exc).splitlines()[0][:120]
        raise InvalidInputError(f"{what}: {problem}") from None


def clean_metadata(value: object, *, what: str = "metadata") -> dict:
    """An object of JSON values (no NaN/Infinity, no lone surrogates): what every backend can store."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidInputError(f"{what} must be an object of key/value pairs")
    json_value(value, what=what)
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
