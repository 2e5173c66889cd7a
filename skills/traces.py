"""Call traces: the successful top-level calls made in this thread while a trace is open, the material
composite skills are mined from. The registry's calls report here; `SkillRegistry.trace` opens one."""
from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

_traces = threading.local()  # the call recorders open in this thread


def record_in_traces(name: str, args: Any, result: Any) -> None:
    """Called by the registry after each successful top-level call."""
    for trace in getattr(_traces, "open", []):
        trace.append((name, dict(args), result))


@contextmanager
def trace() -> Iterator[list[tuple[str, dict, Any]]]:
    """Record the successful calls of this thread while the block runs, as (skill, args, result)."""
    calls: list[tuple[str, dict, Any]] = []
    stack = _traces.__dict__.setdefault("open", [])
    stack.append(calls)
    try:
        yield calls
    finally:
        stack.remove(calls)
