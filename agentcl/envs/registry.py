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


def accepted_options(factory: Any, optional: dict[str, Any]) -> dict[str, Any]:
    """The options of `optional` that `factory` takes by keyword (all of them with **kwargs, or when its
    signature cannot be read)."""
    try:
        params = inspect.signature(factory).parameters.values()
    except (TypeError, ValueError):
        return dict(optional)
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
        return dict(optional)
    names = {p.name for p in params if p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD,
                                                   inspect.Parameter.KEYWORD_ONLY)}
    return {k: v for k, v in optional.items() if k in names}


def load_environment(name: str, *, optional: dict[str, Any] | None = None, **kwargs: Any) -> Any:
    """Build the environment registered as `name` with keyword options (e.g. scenario=PATH for drift).
    `optional` options (the runner's seed) are passed only to an environment whose constructor takes them:
    one that does not is still seeded through reset(seed=...)."""
    factory = environment_class(name)
    kwargs = {**accepted_options(factory, optional or {}), **kwargs}
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

