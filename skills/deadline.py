"""Running one skill call with a deadline. A hung skill is abandoned in its daemon thread: the agent
gets a `timeout` error and goes on. Exceptions and oversize results become structured errors."""
from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any

from .spec import CallError

DEFAULT_TIMEOUT_S = 10.0
DEFAULT_MAX_RESULT_CHARS = 100_000


def result_size(value: Any) -> int:
    """Characters of the result as JSON (what an agent would have to read)."""
    try:
        return len(json.dumps(value, default=str, ensure_ascii=False))
    except (TypeError, ValueError, RecursionError):
        return len(str(value))


def run_with_deadline(func: Callable[..., Any], kwargs: dict, *, timeout_s: float = DEFAULT_TIMEOUT_S,
                      max_result_chars: int = DEFAULT_MAX_RESULT_CHARS) -> tuple[Any, CallError | None, float]:
    """(result, error, latency_ms). Never raises for anything the skill does."""
    box: dict[str, Any] = {}
    done = threading.Event()

    def target() -> None:
        try:
            box["result"] = func(**kwargs)
        except BaseException as exc:  # the skill's failure is data, not our crash
            box["exc"] = exc
        finally:
            done.set()

    start = time.perf_counter()
    worker = threading.Thread(target=target, name=f"skill-{getattr(func, '__name__', 'call')}", daemon=True)
    worker.start()
    finished = done.wait(timeout_s)
    latency_ms = (time.perf_counter() - start) * 1000
    if not finished:
        return None, CallError(kind="timeout", message=f"no result within {timeout_s:g}s (call abandoned)"), latency_ms
    if "exc" in box:
        exc = box["exc"]
        first = str(exc).splitlines()[0] if str(exc) else ""
        return None, CallError(kind="exception", message=f"{exc.__class__.__name__}: {first}"[:500]), latency_ms
    result = box.get("result")
    size = result_size(result)
    if size > max_result_chars:
        return None, CallError(kind="oversize",
                               message=f"result is {size} characters, over the limit of {max_result_chars}"), latency_ms
    return result, None, latency_ms
