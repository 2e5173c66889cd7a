"""Checking call arguments against a parameters schema before a skill runs. Pure functions."""
from __future__ import annotations

import difflib
from typing import Any

from memory_store.errors import InvalidInputError
from memory_store.normalize import json_value

from .nesting import MAX_DEPTH, value_depth
from .spec import CallError

_CHECKS = {
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "array": lambda v: isinstance(v, (list, tuple)),
    "object": lambda v: isinstance(v, dict),
    "null": lambda v: v is None,
}


def json_type(value: Any) -> str:
    """The JSON name of a value's type (what the caller wrote, not Python's name for it)."""
    for name in ("null", "boolean", "integer", "number", "string", "array", "object"):
        if _CHECKS[name](value):
            return name
    return type(value).__name__


def _type_problem(value: Any, schema: dict, where: str) -> str | None:
    expected = schema.get("type")
    if expected:
        kinds = expected if isinstance(expected, list) else [expected]
        if not any(_CHECKS.get(k, lambda v: True)(value) for k in kinds):
            return f"{where}: expected {'/'.join(kinds)}, got {json_type(value)}"
    if "enum" in schema and value not in schema["enum"]:
        return f"{where}: must be one of {schema['enum']}"
    if isinstance(value, (list, tuple)) and isinstance(schema.get("items"), dict):
        for i, item in enumerate(value):
            problem = _type_problem(item, schema["items"], f"{where}[{i}]")
            if problem:
                return problem
    if isinstance(value, dict) and isinstance(schema.get("properties"), dict):
        # Nested objects: required keys, declared types, and unknown keys when the schema closes them.
        props = schema["properties"]
        missing = [k for k in schema.get("required", []) if k not in value]
        if missing:
            return f"{where}: missing {', '.join(f'{where}.{k}' for k in missing)}"
        if schema.get("additionalProperties") is False:
            extra = [k for k in value if k not in props]
            if extra:
                return f"{where}: unknown {', '.join(f'{where}.{k}' for k in extra)}"
        for key, item in value.items():
            if isinstance(props.get(key), dict):
                problem = _type_problem(item, props[key], f"{where}.{key}")
                if problem:
                    return problem
    return None


def validate_args(schema: dict, args: Any, *, renames: dict[str, str] | None = None) -> CallError | None:
    """None when `args` fits; otherwise a CallError naming unknown, missing and expected parameters.

    `renames` maps old parameter names to new ones (learned from version diffs) for 'did you mean'."""
    props = schema.get("properties", {})
    expected = list(props)
    if not isinstance(args, dict):
        return CallError(kind="invalid_args", message=f"arguments must be a JSON object, got {json_type(args)}",
                         expected=expected)
    if value_depth(args) > MAX_DEPTH:  # checking (and recording) them would recurse past Python's limit
        return CallError(kind="invalid_args", message=f"arguments nested more than {MAX_DEPTH} levels deep",
                         expected=expected)
    try:  # one rule for every caller (server, MCP, CLI, agent): NaN, lone surrogates... never reach a skill
        json_value(args, what="arguments", max_depth=MAX_DEPTH)
    except InvalidInputError as exc:
        return CallError(kind="invalid_args", message=str(exc), expected=expected)
    required = schema.get("required", [])
    unknown = [k for k in args if k not in props]
    missing = [k for k in required if k not in args]
    invalid = {}
    for key, value in args.items():
        if key in props:
            problem = _type_problem(value, props[key], key)
            if problem:
                invalid[key] = problem
    if not (unknown or missing or invalid):
        return None
    suggestions = {}
    for key in unknown:
        if renames and key in renames and renames[key] in props:
            suggestions[key] = renames[key]
            continue
        close = difflib.get_close_matches(key, [p for p in expected if p not in args], n=1, cutoff=0.5)
        if close:
            suggestions[key] = close[0]
    parts = []
    if unknown:
        parts.append("unknown " + ", ".join(unknown))
    if missing:
        parts.append("missing " + ", ".join(missing))
    if invalid:
        parts.append("; ".join(invalid.values()))
    if suggestions:
        parts.append("did you mean " + ", ".join(f"{a} -> {b}" for a, b in suggestions.items()))
    message = "; ".join(parts) + f" (expected: {', '.join(expected) or 'no parameters'})"
    return CallError(kind="invalid_args", message=message, unknown=unknown, missing=missing, expected=expected,
                     invalid=invalid, did_you_mean=suggestions)
