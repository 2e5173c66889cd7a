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


def _earlier_result(calls: Sequence[tuple[str, dict, Any]], i: int, value: Any) -> str | None:
    """A template for `value` in terms of an earlier step's result, or None.

    The value equal to a result becomes "{{steps.j.result}}"; a string containing a result's text (an
    expression such as "5000.0 / 2") gets the reference in its place. A wrong guess is caught when the
    candidate is verified, which is why candidates are not usable before that."""
    for j in range(i - 1, -1, -1):
        result = calls[j][2]
        if isinstance(result, bool) or result in (None, ""):
            continue
        if result == value and not isinstance(value, bool):
            return f"{{{{steps.{j}.result}}}}"
        text = str(result)
        if (isinstance(value, str) and isinstance(result, (int, float, str)) and len(text) >= 3
                and text in value and text != value):
            return value.replace(text, f"{{{{steps.{j}.result}}}}")
    return None


def composite_from_trace(calls: Sequence[tuple[str, dict, Any]], *,
                         schemas: dict[str, dict] | None = None) -> tuple[list[dict], dict]:
    """(steps, parameters schema) generalising one successful sequence of (skill, args, result) calls:
    a value built from an earlier result becomes a reference to it, every other value becomes an input."""
    steps, properties, required = [], {}, []
    for i, (name, args, _result) in enumerate(calls):
        template = {}
        for key, value in args.items():
            reference = _earlier_result(calls, i, value)
            if reference is not None:
                template[key] = reference
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


def inputs_for(steps: list[dict], args_seen: Sequence[dict]) -> dict | None:
    """The composite's inputs that reproduce one occurrence of its calls (args per step), or None when an
    input cannot be read off (the occurrence lacks an argument, or two steps disagree on one input)."""
    inputs: dict[str, Any] = {}
    for step, seen in zip(steps, args_seen):
        for key, template in step["args"].items():
            whole = _REF.fullmatch(template.strip()) if isinstance(template, str) else None
            if not whole or not whole.group(1).startswith("inputs."):
                continue
            name = whole.group(1).split(".", 1)[1]
            if key not in seen or (name in inputs and inputs[name] != seen[key]):
                return None
            inputs[name] = seen[key]
    return inputs


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
