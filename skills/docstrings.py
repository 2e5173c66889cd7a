"""Parameter descriptions from Google-, numpy- or Sphinx-style docstrings. Pure functions."""
from __future__ import annotations

import inspect
import re

_GOOGLE_SECTION = re.compile(r"^(Args|Arguments|Parameters|Params|Keyword Args|Keyword Arguments)\s*:\s*$")
_ANY_SECTION = re.compile(r"^(Returns?|Yields?|Raises?|Examples?|Notes?|See Also|Attributes|Warnings?|"
                          r"References|Todo)\s*:?\s*$")
_GOOGLE_ITEM = re.compile(r"^(\*{0,2}\w+)\s*(\([^)]*\))?\s*:\s*(.*)$")
_NUMPY_ITEM = re.compile(r"^(\w+)\s*(:\s*.*)?$")
_SPHINX_ITEM = re.compile(r"^:param\s+(?:[\w\[\], .|]+\s+)?(\w+)\s*:\s*(.*)$")


def parse_docstring(doc: str | None) -> tuple[str, dict[str, str]]:
    """(description, {param: description}). The description is the text before the first section."""
    text = inspect.cleandoc(doc or "")
    if not text:
        return "", {}
    lines = text.splitlines()
    params: dict[str, str] = {}
    summary: list[str] = []
    i = 0
    in_summary = True
    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        nxt = lines[i + 1].strip() if i + 1 < len(lines) else ""
        if _GOOGLE_SECTION.match(stripped):
            in_summary = False
            i = _read_google(lines, i + 1, params)
            continue
        if stripped in ("Parameters", "Other Parameters") and nxt and set(nxt) == {"-"}:
            in_summary = False
            i = _read_numpy(lines, i + 2, params)
            continue
        sphinx = _SPHINX_ITEM.match(stripped)
        if sphinx:
            in_summary = False
            params[sphinx.group(1)] = sphinx.group(2).strip()
        elif _ANY_SECTION.match(stripped) or (nxt and set(nxt) == {"-"}) or stripped.startswith(":"):
            in_summary = False
        elif in_summary:
            summary.append(stripped)
        i += 1
    description = " ".join(s for s in summary if s).strip()
    return description, params


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _read_google(lines: list[str], i: int, params: dict[str, str]) -> int:
    base = None
    current = None
    while i < len(lines):
        line = lines[i]
        if not line.strip():
            i += 1
            continue
        ind = _indent(line)
        if base is None:
            if ind == 0:
                return i
            base = ind
        if ind < base:
            return i
        if ind == base:
            match = _GOOGLE_ITEM.match(line.strip())
            if not match:
                return i
            current = match.group(1).lstrip("*")
            params[current] = match.group(3).strip()
        elif current:
            params[current] = (params[current] + " " + line.strip()).strip()
        i += 1
    return i


def _read_numpy(lines: list[str], i: int, params: dict[str, str]) -> int:
    current = None
    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        nxt = lines[i + 1].strip() if i + 1 < len(lines) else ""
        if stripped and nxt and set(nxt) == {"-"}:
            return i  # next section header
        if not stripped:
            i += 1
            continue
        if _indent(line) == 0:
            match = _NUMPY_ITEM.match(stripped)
            if not match:
                return i
            current = match.group(1)
            params.setdefault(current, "")
        elif current:
            params[current] = (params[current] + " " + stripped).strip()
        i += 1
    return i
