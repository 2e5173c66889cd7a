"""A bound on how deeply JSON may nest in a skill spec or in call arguments. Python's json parser and
every recursive walk over a schema end in RecursionError on input like 10,000 nested lists; a spec
never needs more than a few dozen levels. Pure functions, checked before parsing or walking."""
from __future__ import annotations

import re
from typing import Any

from memory_store.errors import InvalidInputError

MAX_DEPTH = 64
_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')  # strings are skipped whole: brackets inside them do not count


def text_depth(text: str) -> int:
    """The deepest nesting of objects and arrays in a JSON text (malformed text is left to the parser)."""
    depth = deepest = 0
    for match in _TOKENS.finditer(text):
        token = match.group()
        if token in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif token in "]}":
            depth -= 1
    return deepest


def value_depth(value: Any, *, stop_at: int = MAX_DEPTH + 1) -> int:
    """The deepest nesting of dicts and lists in a Python value (iterative; stops counting at `stop_at`)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if not isinstance(item, (dict, list, tuple)):
            continue
        deepest = max(deepest, depth)
        if deepest >= stop_at:
            return deepest
        children = item.values() if isinstance(item, dict) else item
        stack.extend((child, depth + 1) for child in children)
    return deepest


def check_text(text: str, where: str, *, limit: int = MAX_DEPTH) -> None:
    if text_depth(text) > limit:
        raise InvalidInputError(f"{where}: JSON nested more than {limit} levels deep")


def check_value(value: Any, where: str, *, limit: int = MAX_DEPTH) -> None:
    if value_depth(value, stop_at=limit + 1) > limit:
        raise InvalidInputError(f"{where}: nested more than {limit} levels deep")
