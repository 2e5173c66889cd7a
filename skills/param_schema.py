"""JSON Schemas of skill parameters: built from Python signatures, normalised from JSON specs, and diffed.

Pure functions. `normalize_schema` accepts the dialects found in the wild (BFCL writes "type": "dict"
and "float"); anything the registry cannot use raises InvalidInputError with one line."""
from __future__ import annotations

import collections.abc
import difflib
import enum
import inspect
import types
import typing
from collections.abc import Callable
from typing import Any

from memory_store.errors import InvalidInputError

from .docstrings import parse_docstring
from .nesting import check_value

_TYPE_ALIASES = {
    "dict": "object", "object": "object", "map": "object",
    "float": "number", "double": "number", "number": "number",
    "int": "integer", "integer": "integer", "long": "integer",
    "str": "string", "string": "string", "char": "string",
    "bool": "boolean", "boolean": "boolean",
    "list": "array", "array": "array", "tuple": "array", "set": "array",
    "null": "null", "none": "null",
    "any": None,
}
_PY_TYPES = {int: "integer", float: "number", str: "string", bool: "boolean", dict: "object",
             list: "array", tuple: "array", set: "array", frozenset: "array", type(None): "null"}


def _type_schema(annotation: Any) -> dict:
    """JSON Schema for one Python annotation (best effort; unknown types accept anything)."""
    if annotation is inspect.Parameter.empty or annotation is Any:
        return {}
    if annotation in _PY_TYPES:
        return {"type": _PY_TYPES[annotation]}
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return {"type": "string", "enum": [m.value if isinstance(m.value, str) else m.name for m in annotation]}
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Literal:
        kinds = {_PY_TYPES.get(type(a)) for a in args}
        out: dict = {"enum": list(args)}
        if len(kinds) == 1 and None not in kinds:
            out["type"] = kinds.pop()
        return out
    if origin in (typing.Union, types.UnionType):
        non_null = [a for a in args if a is not type(None)]
        if len(non_null) == 1:
            return _type_schema(non_null[0])
        return {"anyOf": [_type_schema(a) for a in non_null]}
    if origin in (list, tuple, set, frozenset, collections.abc.Sequence):
        out = {"type": "array"}
        if args and origin is not tuple and _type_schema(args[0]):
            out["items"] = _type_schema(args[0])
        return out
    if origin is dict:
        return {"type": "object"}
    if origin is not None and origin in _PY_TYPES:
        return {"type": _PY_TYPES[origin]}
    return {}


def schema_from_function(func: Callable, *, skip: tuple[str, ...] = ("context",)) -> tuple[str, dict]:
    """(description, parameters schema) from a typed function and its docstring."""
    description, param_docs = parse_docstring(func.__doc__)
    try:
        hints = typing.get_type_hints(func)
    except Exception:
        hints = {}
    properties: dict[str, dict] = {}
    required: list[str] = []
    for name, param in inspect.signature(func).parameters.items():
        if name in skip or param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        if param.kind is param.POSITIONAL_ONLY:
            # Skills are called with keyword arguments (a JSON object): such a parameter can never be passed.
            if param.default is not param.empty:
                continue
            raise InvalidInputError(f"unusable schema: {getattr(func, '__name__', func)}() has positional-only "
                                    f"parameter {name!r}; skills are called with keyword arguments")
        prop = _type_schema(hints.get(name, param.annotation))
        if param_docs.get(name):
            prop["description"] = param_docs[name]
        if param.default is param.empty:
            required.append(name)
        elif param.default is None or isinstance(param.default, (str, int, float, bool)):
            prop["default"] = param.default
        properties[name] = prop
    return description, {"type": "object", "properties": properties, "required": required}


def _normalize_node(node: Any, where: str) -> dict:
    if not isinstance(node, dict):
        raise InvalidInputError(f"unusable schema at {where}: expected an object, got {type(node).__name__}")
    out = dict(node)
    raw = out.get("type")
    if isinstance(raw, str):
        key = raw.strip().lower()
        if key not in _TYPE_ALIASES:
            raise InvalidInputError(f"unusable schema at {where}: unknown type {raw!r}")
        if _TYPE_ALIASES[key] is None:
            out.pop("type")
        else:
            out["type"] = _TYPE_ALIASES[key]
    elif isinstance(raw, list):
        out["type"] = [_TYPE_ALIASES.get(str(t).lower()) or "string" for t in raw]
    elif raw is not None:
        raise InvalidInputError(f"unusable schema at {where}: 'type' must be a string")
    if "properties" in out:
        props = out["properties"]
        if not isinstance(props, dict):
            raise InvalidInputError(f"unusable schema at {where}: 'properties' must be an object")
        out["properties"] = {str(k): _normalize_node(v, f"{where}.{k}") for k, v in props.items()}
        out.setdefault("type", "object")
    if "items" in out and isinstance(out["items"], dict):
        out["items"] = _normalize_node(out["items"], f"{where}[]")
    if "required" in out:
        req = out["required"]
        if not isinstance(req, list) or not all(isinstance(r, str) for r in req):
            raise InvalidInputError(f"unusable schema at {where}: 'required' must be a list of names")
        missing = [r for r in req if r not in out.get("properties", {})]
        if missing:
            raise InvalidInputError(f"unusable schema at {where}: required {missing} not in properties")
    return out


def normalize_schema(schema: Any) -> dict:
    """A parameters schema the registry can validate against: an object with properties."""
    if schema is None:
        return {"type": "object", "properties": {}, "required": []}
    check_value(schema, "parameters")  # _normalize_node recurses
    out = _normalize_node(schema, "parameters")
    if out.get("type") != "object":
        raise InvalidInputError(f"unusable schema: parameters must be an object, got type {out.get('type')!r}")
    out.setdefault("properties", {})
    out.setdefault("required", [])
    return out


def diff_parameters(old: dict, new: dict) -> dict:
    """Readable difference between two parameter schemas, with likely renames paired up."""
    old_p, new_p = old.get("properties", {}), new.get("properties", {})
    removed = [p for p in old_p if p not in new_p]
    added = [p for p in new_p if p not in old_p]
    renamed: dict[str, str] = {}
    for gone in list(removed):
        best = _best_rename(gone, old_p[gone], [a for a in added if a not in renamed.values()], new_p)
        if best:
            renamed[gone] = best
    removed = [p for p in removed if p not in renamed]
    added = [p for p in added if p not in renamed.values()]
    changed = {}
    for p in old_p:
        target = renamed.get(p, p)
        if target in new_p and old_p[p].get("type") != new_p[target].get("type"):
            changed[target] = f"{old_p[p].get('type', 'any')} -> {new_p[target].get('type', 'any')}"
    old_req, new_req = set(old.get("required", [])), set(new.get("required", []))
    now_required = sorted(p for p in new_req if p not in {renamed.get(o, o) for o in old_req})
    now_optional = sorted(renamed.get(p, p) for p in old_req if renamed.get(p, p) not in new_req and
                          renamed.get(p, p) in new_p)
    return {"added": added, "removed": removed, "renamed": renamed, "type_changed": changed,
            "now_required": now_required, "now_optional": now_optional}


def _best_rename(old_name: str, old_prop: dict, candidates: list[str], new_props: dict) -> str | None:
    """A removed parameter and an added one are a rename when their descriptions or names match well."""
    best, best_score = None, 0.0
    for cand in candidates:
        if old_prop.get("type") and new_props[cand].get("type") and old_prop.get("type") != new_props[cand].get("type"):
            continue
        name_sim = difflib.SequenceMatcher(None, old_name, cand).ratio()
        d1, d2 = old_prop.get("description", ""), new_props[cand].get("description", "")
        desc_sim = difflib.SequenceMatcher(None, d1, d2).ratio() if d1 and d2 else 0.0
        score = max(name_sim, desc_sim)
        if score > best_score:
            best, best_score = cand, score
    if best is None:
        return None
    # Exactly one removed and one added of the same type is a rename even when the names differ.
    if best_score >= 0.6 or len(candidates) == 1:
        return best
    return None


# Stored fields of a version, compared to say what changed besides the parameters.
VERSION_FIELDS = ("description", "label", "kind", "definition")


def changed_fields(old: dict, new: dict, *, fingerprint_changed: bool) -> list[str]:
    """Which of description/label/kind/definition differ; 'source' when only the (unstored) source can have."""
    changed = [f for f in VERSION_FIELDS if old.get(f) != new.get(f)]
    if old.get("parameters") != new.get("parameters"):
        changed.insert(0, "parameters")
    if fingerprint_changed and not changed:
        changed.append("source")
    return changed


def describe_diff(diff: dict) -> str:
    """One line for people: 'renamed to -> recipient; added cc; removed bcc; changed description'."""
    parts = []
    if diff.get("renamed"):
        parts.append("renamed " + ", ".join(f"{a} -> {b}" for a, b in diff["renamed"].items()))
    for key, label in (("added", "added"), ("removed", "removed"), ("now_required", "now required"),
                       ("now_optional", "now optional")):
        if diff.get(key):
            parts.append(f"{label} " + ", ".join(diff[key]))
    if diff.get("type_changed"):
        parts.append("type " + ", ".join(f"{k}: {v}" for k, v in diff["type_changed"].items()))
    if not parts:
        parts.append("no parameter change")
    others = [f for f in diff.get("changed", []) if f != "parameters"]
    if others:
        parts.append("changed " + ", ".join(others))
    return "; ".join(parts)
