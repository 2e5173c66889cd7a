"""`@skill`: turn a typed, documented function into a registrable Skill (the function stays callable)."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from .spec import Skill, skill_from_function

ATTRIBUTE = "__agentcl_skill__"


def skill(func: Callable | None = None, *, name: str | None = None, description: str | None = None,
          version: str | None = None, tags: Sequence[str] = (), examples: Sequence[str] = ()) -> Any:
    """Use as `@skill` or `@skill(name=..., version="2", tags=[...], examples=["task text", ...])`.

    Name, description and the parameters' JSON Schema come from the signature and the docstring
    (Google, numpy or Sphinx style). A parameter named `context` is injected by the registry
    (a SkillContext) and is not part of the schema."""

    def wrap(f: Callable) -> Callable:
        setattr(f, ATTRIBUTE, skill_from_function(f, name=name, description=description, version=version,
                                                   tags=tags, examples=examples))
        return f

    return wrap(func) if func is not None else wrap


def as_skill(obj: Any) -> Skill | None:
    """The Skill behind a decorated function or a Skill itself; None for anything else."""
    if isinstance(obj, Skill):
        return obj
    found = getattr(obj, ATTRIBUTE, None)
    return found if isinstance(found, Skill) else None
