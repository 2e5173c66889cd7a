"""Where each field of a JSON document starts, so a schema error can name its line.

`json` reports lines only for syntax errors; this walks an already valid document once more and records
the offset of every key (objects) and element (arrays), keyed by the same path tuples pydantic reports.
"""
from __future__ import annotations

import json
import re
from json.decoder import scanstring

_WS = re.compile(r"[ \t\n\r]*")
_DECODER = json.JSONDecoder()


def locate(text: str) -> dict[tuple, int]:
    """Map of path (tuple of keys/indices) -> character offset, for a syntactically valid JSON text."""
    positions: dict[tuple, int] = {}

    def skip(idx: int) -> int:
        return _WS.match(text, idx).end()

    def value(idx: int, path: tuple) -> int:
        idx = skip(idx)
        positions.setdefault(path, idx)
        ch = text[idx]
        if ch == "{":
            idx = skip(idx + 1)
            if text[idx] == "}":
                return idx + 1
            while True:
                idx = skip(idx)
                start = idx
                key, idx = scanstring(text, idx + 1)
                positions.setdefault(path + (key,), start)
                idx = skip(idx)  # now at ':'
                idx = skip(value(idx + 1, path + (key,)))
                if text[idx] == ",":
                    idx += 1
                    continue
                return idx + 1  # '}'
        if ch == "[":
            idx = skip(idx + 1)
            if text[idx] == "]":
                return idx + 1
            i = 0
            while True:
                idx = skip(value(idx, path + (i,)))
                i += 1
                if text[idx] == ",":
                    idx += 1
                    continue
                return idx + 1  # ']'
        _, end = _DECODER.raw_decode(text, idx)
        return end

    try:
        value(0, ())
    except (ValueError, IndexError):  # not valid JSON: callers report the syntax error instead
        pass
    return positions


def line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def format_path(path: tuple) -> str:
    """('entities', 0, 'facts', 'ceo') -> 'entities[0].facts.ceo'."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out
