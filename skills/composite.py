"""Composite skills as data: a list of steps, each a skill name and an argument template.

Templates reference the composite's inputs ("{{inputs.city}}") and earlier results ("{{steps.0.result}}",
"{{steps.0.result.temp}}"). A template that is exactly one reference keeps the value's type; references
inside a longer string are formatted into it. No code is generated or evaluated. Pure functions."""
from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from typing import Any

from memory_store.errors import InvalidInputError

_REF = re.compile(r"\{\{\s*([a-zA-Z_][\w.]*)\s*\}\}")


def validate_steps(steps: Any) -> list[dict]:
    if not isinstance(steps, list) or not steps:
        raise InvalidInputError("a composite skill needs a non-empty list of steps")
    out = []
    for i, step in enumerate(steps):
        if not isinstance(step, dict) or not isinstance(step.get("skill"), str):
            raise InvalidInputError(f"step {i}: needs a 'skill' name")
        args = step.get("args", {})
        if not isinstance(args, dict):
            raise InvalidInputError(f"step {i}: 'args' must be an object")
        for ref in _refs(args):
            head = ref.split(".")
            if head[0] == "steps" and (len(head) < 3 or not head[1].isdigit() or int(head[1]) >= i
                                       or head[2] != "result"):
                raise InvalidInputError(f"step {i}: {{{{{ref}}}}} must name an earlier step's result")
            if head[0] not in ("steps", "inputs"):
                raise InvalidInputError(f"step {i}: unknown reference {{{{{ref}}}}} (use inputs.* or steps.N.result)")
        out.append({"skill": step["skill"], "args": args})
    return out


def _refs(value: Any) -> list[str]:
    if isinstance(value, str):
        return _REF.findall(value)
    if isinstance(value, dict):
        return [r for v in value.values() for r in _refs(v)]
    if isinstance(value, list):
        return [r for v in value for r in _refs(v)]
    return []


def _lookup(path: str, inputs: dict, results: list) -> Any:
    parts = path.split(".")
    if parts[0] == "inputs":
        value: Any = inputs
        rest = parts[1:]
    else:
        value = results[int(parts[1])]
        rest = parts[3:]
    for key in rest:
        if isinstance(value, dict) and key in value:
            value = value[key]
        elif isinstance(value, list) and key.isdigit() and int(key) < len(value):
            value = value[int(key)]
        else:
            raise KeyError(f"{{{{{path}}}}} has no value")
    return value


def render(template: Any, inputs: dict, results: list) -> Any:
    """Fill a template with inputs and earlier step results."""
    if isinstance(template, str):
        whole = _REF.fullmatch(template.strip())
        if whole:
            return _lookup(whole.group(1), inputs, results)
        return _REF.sub(lambda m: str(_lookup(m.group(1), inputs, results)), template)
    if isinstance(template, dict):
        return {k: render(v, inputs, results) for k, v in template.items()}
    if isinstance(template, list):
        return [render(v, inputs, results) for v in template]
    return template


def composite_from_trace(calls: Sequence[tuple[str, dict, Any]], *,
                         schemas: dict[str, dict] | None = None) -> tuple[list[dict], dict]:
    """(steps, parameters schema) generalising one successful sequence of (skill, args, result) calls:
    a value equal to an earlier result becomes a reference to it, every other value becomes an input."""
    steps, properties, required = [], {}, []
    for i, (name, args, _result) in enumerate(calls):
        template = {}
        for key, value in args.items():
            earlier = next((j for j in range(i - 1, -1, -1) if calls[j][2] == value and value not in (None, "")), None)
            if earlier is not None:
                template[key] = f"{{{{steps.{earlier}.result}}}}"
                continue
            input_name = key if key not in properties else f"{key}_{i}"
            prop = dict((schemas or {}).get(name, {}).get("properties", {}).get(key, {}))
            prop.setdefault("description", f"{key} of {name}")
            prop.pop("default", None)
            properties[input_name] = prop
            required.append(input_name)
            template[key] = f"{{{{inputs.{input_name}}}}}"
        steps.append({"skill": name, "args": template})
    return steps, {"type": "object", "properties": properties, "required": required}


def repeated_sequences(traces: Sequence[Sequence[str]], *, min_length: int = 2, min_count: int = 2,
                       max_length: int = 5) -> list[tuple[tuple[str, ...], int]]:
    """Contiguous skill-name sequences seen in at least `min_count` traces (longest, then most frequent, first)."""
    counts: Counter = Counter()
    for trace in traces:
        seen = set()
        for n in range(min_length, max_length + 1):
            for start in range(len(trace) - n + 1):
                seen.add(tuple(trace[start:start + n]))
        counts.update(seen)
    found = [(seq, c) for seq, c in counts.items() if c >= min_count]
    return sorted(found, key=lambda item: (-len(item[0]), -item[1], item[0]))
