"""What a skill is (spec + executor) and what a call returns. Plain dataclasses, no I/O."""
from __future__ import annotations

import hashlib
import inspect
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from memory_store.errors import InvalidInputError

from .nesting import check_value
from .param_schema import normalize_schema, schema_from_function

# Error kinds a call can end in; statistics count failures by these.
ERROR_KINDS = ("invalid_args", "timeout", "exception", "oversize", "unavailable", "disabled", "not_found",
               "mismatch", "crashed")
# mismatch: a composite's verification returned another result than expected;
# crashed: the skill ended its worker process (os._exit, a segfault) before it returned


@dataclass
class Skill:
    """A registrable skill: a name, a description, a parameters schema and (optionally) an executor."""

    name: str
    description: str
    parameters: dict
    executor: Callable[..., Any] | None = None
    version: str | None = None  # an explicit version label; otherwise versions are numbered
    tags: list[str] = field(default_factory=list)
    examples: list[str] = field(default_factory=list)  # example tasks the author wrote
    kind: str = "python"  # python | json | http | composite
    source: str = ""  # source text (python) or spec JSON; changes make a new version
    definition: dict | None = None  # data for http executors and composite steps
    wants_context: bool = False

    def __post_init__(self) -> None:
        self.name = (self.name or "").strip()
        if not self.name or len(self.name) > 128 or any(c.isspace() for c in self.name):
            raise InvalidInputError(f"bad skill name {self.name!r}: non-empty, no spaces, at most 128 characters")
        self.parameters = normalize_schema(self.parameters)
        self.description = (self.description or "").strip()
        self.tags = [str(t) for t in self.tags]
        self.examples = [str(e) for e in self.examples]

    def fingerprint(self) -> str:
        """Changes in signature, description or source change this, and so make a new version."""
        payload = json.dumps({"d": self.description, "p": self.parameters, "s": self.source,
                              "v": self.version, "def": self.definition, "k": self.kind},
                             sort_keys=True, default=str)
        return hashlib.sha256(payload.encode()).hexdigest()[:16]


@dataclass
class CallError:
    """A structured failure the agent can learn from (never raised at the agent)."""

    kind: str
    message: str
    unknown: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    expected: list[str] = field(default_factory=list)
    invalid: dict[str, str] = field(default_factory=dict)
    did_you_mean: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class CallResult:
    skill: str
    version: int | None
    ok: bool
    result: Any = None
    error: CallError | None = None
    latency_ms: float = 0.0

    def to_dict(self) -> dict:
        return {"skill": self.skill, "version": self.version, "ok": self.ok, "result": self.result,
                "error": self.error.to_dict() if self.error else None, "latency_ms": round(self.latency_ms, 3)}


def skill_from_function(func: Callable, *, name: str | None = None, description: str | None = None,
                        version: str | None = None, tags=(), examples=()) -> Skill:
    doc_description, parameters = schema_from_function(func)
    try:
        source = inspect.getsource(func)
    except (OSError, TypeError):
        source = getattr(func, "__qualname__", repr(func))
    return Skill(name=name or func.__name__, description=description or doc_description or func.__name__,
                 parameters=parameters, executor=func, version=version, tags=list(tags),
                 examples=list(examples), kind="python", source=source,
                 wants_context="context" in inspect.signature(func).parameters)


def skill_from_spec(spec: dict, executor: Callable[..., Any] | None = None, *, version: str | None = None,
                    tags=(), examples=(), kind: str | None = None, definition: dict | None = None) -> Skill:
    """A skill from an OpenAI-style function spec ({"type": "function", "function": {...}} or the inner dict)."""
    if not isinstance(spec, dict):
        raise InvalidInputError(f"a function spec must be a JSON object, got {type(spec).__name__}")
    check_value(spec, "function spec")  # the schema walks below recurse
    inner = spec.get("function") if isinstance(spec.get("function"), dict) else spec
    if not isinstance(inner.get("name"), str):
        raise InvalidInputError("a function spec needs a string 'name'")
    return Skill(name=inner["name"], description=str(inner.get("description") or ""),
                 parameters=inner.get("parameters"), executor=executor,
                 version=version or inner.get("version"), tags=list(tags or inner.get("tags") or []),
                 examples=list(examples or inner.get("examples") or []),
                 kind=kind or ("json" if executor is None else "python"),
                 source=json.dumps(inner, sort_keys=True), definition=definition)
