"""Building a thin facade over services: a facade method that forwards to the service owning it.

`MemoryStore` (store.py) and `skills.SkillRegistry` are such facades: each public method is the owning
service's method, with the same signature and docstring (functools.wraps), so `help()` and
`inspect.signature` show the real thing."""
from __future__ import annotations

import functools
from collections.abc import Callable


def forward(service: str, method: Callable) -> Callable:
    """A facade method calling `method` on the service held in the facade's attribute `service`."""
    name = method.__name__

    @functools.wraps(method)
    def call(self, *args, **kwargs):
        return getattr(getattr(self, service), name)(*args, **kwargs)

    return call


def attribute_of(holder: str, name: str, *, settable: bool = False) -> property:
    """A facade property reading (and, if settable, writing) attribute `name` of the object in `holder`."""
    getter = lambda self: getattr(getattr(self, holder), name)  # noqa: E731
    setter = (lambda self, value: setattr(getattr(self, holder), name, value)) if settable else None  # noqa: E731
    return property(getter, setter)
