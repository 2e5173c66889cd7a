"""Find environments by name through the `agentcl.envs` entry-point group (plus the builtin ones)."""
from __future__ import annotations

import inspect
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from memory_store.errors import UserError

GROUP = "agentcl.envs"
# Builtins also resolve when the distribution is not installed (running from a source checkout).
_BUILTIN = {"drift": "agentcl.envs.drift:DriftWorld"}


def _entry_points() -> dict[str, EntryPoint]:
    found = {name: EntryPoint(name=name, value=value, group=GROUP) for name, value in _BUILTIN.items()}
    for ep in entry_points(group=GROUP):
        found[ep.name] = ep  # an installed plug-in may override a builtin on purpose
    return found


def available_environments() -> list[str]:
    """Names of every environment that `load_environment` can build, sorted."""
    return sorted(_entry_points())


def environment_class(name: str) -> Any:
    """The class (or factory) registered under `name`; UserError naming the known ones otherwise."""
    eps = _entry_points()
    ep = eps.get(name)
    if ep is None:
        raise UserError(f"unknown environment {name!r}; known: {', '.join(sorted(eps)) or 'none'}")
    try:
        return ep.load()
    except (ImportError, AttributeError) as exc:
        raise UserError(f"environment {name!r} ({ep.value}) cannot be loaded: {exc}") from exc


def load_environment(name: str, **kwargs: Any) -> Any:
    """Build the environment registered as `name` with keyword options (e.g. scenario=PATH for drift)."""
    factory = environment_class(name)
    try:
        inspect.signature(factory).bind(**kwargs)
    except TypeError as exc:
        raise UserError(f"environment {name!r} does not take these options ({', '.join(kwargs)}): {exc}") from None
    except ValueError:  # no introspectable signature: let the call decide
        pass
    env = factory(**kwargs)
    for method in ("reset", "step"):
        if not callable(getattr(env, method, None)):
            raise UserError(f"environment {name!r} has no {method}() method; see agentcl.envs.base.Environment")
    return env

