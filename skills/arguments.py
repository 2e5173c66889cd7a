"""Arguments for a new task from a past successful call: pure text alignment, no model.

A value of the past call that appears in the past task text was taken from that text, so it is taken
from the new task at the same place: the n-th number for the n-th number, the n-th quoted string for the
n-th quoted string, otherwise the words between the same neighbouring words. A value that did not appear
in the past task (a unit, a flag, a mode) is a choice the tool needed, copied as it was. A value that
came from the past task but cannot be found in the new one is left out rather than copied (it would be
the old task's value)."""
from __future__ import annotations

import re
from typing import Any

_NUMBER = re.compile(r"-?\d+(?:[.,]\d+)*")
_QUOTED = re.compile(r"""(['"‘’“”])((?:(?!\1).){1,200}?)\1""")
_WORD = re.compile(r"[\w@./:+-]+", re.UNICODE)
MISSING = object()


def _number_value(token: str, like: Any) -> Any:
    text = token.replace(",", "") if token.count(",") and "." not in token else token.replace(",", ".")
    try:
        value = float(text)
    except ValueError:
        return MISSING
    return int(value) if isinstance(like, int) and value.is_integer() else value


def _numbers(text: str) -> list[str]:
    return _NUMBER.findall(text)


def _same_number(token: str, value: float) -> bool:
    parsed = _number_value(token, 0.0)
    return parsed is not MISSING and abs(parsed - float(value)) < 1e-9


def _by_order(old: list[str], new: list[str], matches) -> Any:
    positions = [i for i, token in enumerate(old) if matches(token)]
    if not positions or positions[0] >= len(new):
        return MISSING
    return new[positions[0]]


def _words(text: str) -> list[tuple[str, int, int]]:
    return [(m.group().lower().strip(".,;:!?"), m.start(), m.end()) for m in _WORD.finditer(text)]


def _by_anchors(old_task: str, value: str, new_task: str) -> Any:
    """The new task's words between the words that surrounded `value` in the old task."""
    start = old_task.lower().find(value.lower())
    if start < 0:
        return MISSING
    end = start + len(value)
    old_words, new_words = _words(old_task), _words(new_task)
    left = [w for w, _, e in old_words if e <= start][-1:]
    right = [w for w, s, _ in old_words if s >= end][:1]
    n_value_words = max(len(_words(value)), 1)
    for i, (word, _, _stop) in enumerate(new_words):
        if not left or word != left[0]:
            continue
        tail = new_words[i + 1:]
        if not tail:
            return MISSING
        stop_at = next((j for j, (w, _, _) in enumerate(tail) if right and w == right[0]), None)
        span = tail[:stop_at] if stop_at else tail[:n_value_words]
        if span and len(span) <= 3 * n_value_words:
            return new_task[span[0][1]:span[-1][2]].strip(" ,;:!?")
    return MISSING


def propose_value(old_task: str, value: Any, new_task: str) -> Any:
    """The value for `new_task`, or MISSING when it came from the old task and cannot be found again."""
    if isinstance(value, bool) or value is None or isinstance(value, (list, dict)):
        return value
    if isinstance(value, (int, float)):
        if not any(_same_number(t, value) for t in _numbers(old_task)):
            return value  # not from the text: a choice the tool needed
        token = _by_order(_numbers(old_task), _numbers(new_task), lambda t: _same_number(t, value))
        return MISSING if token is MISSING else _number_value(token, value)
    text = str(value)
    if not text or text.lower() not in old_task.lower():
        return value
    quoted_old = [m.group(2) for m in _QUOTED.finditer(old_task)]
    if any(q.strip().lower() == text.strip().lower() for q in quoted_old):
        found = _by_order(quoted_old, [m.group(2) for m in _QUOTED.finditer(new_task)],
                          lambda q: q.strip().lower() == text.strip().lower())
        if found is not MISSING:
            return found
    if text.lower() in new_task.lower() and not _NUMBER.fullmatch(text):
        return text  # the same words again (a city, a name): keep them
    return _by_anchors(old_task, text, new_task)


def propose_arguments(old_task: str, old_args: dict, new_task: str) -> dict:
    """The past call's arguments, re-extracted from `new_task` where they came from `old_task`."""
    out = {}
    for key, value in old_args.items():
        new = propose_value(old_task, value, new_task)
        if new is not MISSING:
            out[key] = new
    return out


def fit_to_schema(args: dict, schema: dict, new_task: str, renames: dict[str, str] | None = None) -> dict:
    """Old parameter names to their current ones; a parameter with fixed choices takes the choice the new
    task names (the longest one mentioned), else the choice its value spells in another case."""
    renames = renames or {}
    out = {renames.get(k, k): v for k, v in args.items()}
    lowered = new_task.lower()
    for name, spec in (schema.get("properties") or {}).items():
        choices = [c for c in spec.get("enum") or [] if isinstance(c, str) and c]
        if not choices:
            continue
        named = [c for c in choices if re.search(rf"(?<!\w){re.escape(c.lower())}(?!\w)", lowered)]
        if named:
            out[name] = max(named, key=len)
        elif isinstance(out.get(name), str):
            out[name] = next((c for c in choices if c.lower() == out[name].strip().lower()), out[name])
    return out
