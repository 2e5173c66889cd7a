"""Skill code the registry does not own, run in a worker process: the calls of skills from files and
plug-ins, and the import of a skill file when it is added. The worker loads a skill the way the registry
found it (its source reference: "file:<path>" or "entrypoint:<dist>"), and checks that it still has the
registered version's fingerprint before it runs it."""
from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from memory_store.errors import InvalidInputError

from .pool import WorkerDied, WorkerTimeout, pool
from .spec import CallError, Skill

DEFAULT_IMPORT_TIMEOUT_S = 30.0
REMOTE_ORIGINS = ("file:", "entrypoint:")


def import_timeout_s() -> float:
    """Seconds a skill file may take to import (AGENTCL_SKILL_IMPORT_TIMEOUT, default 30)."""
    raw = os.environ.get("AGENTCL_SKILL_IMPORT_TIMEOUT")
    if not raw:
        return DEFAULT_IMPORT_TIMEOUT_S
    try:
        value = float(raw)
    except ValueError:
        raise InvalidInputError(f"AGENTCL_SKILL_IMPORT_TIMEOUT={raw!r} is not a number of seconds") from None
    if value <= 0:
        raise InvalidInputError("AGENTCL_SKILL_IMPORT_TIMEOUT must be positive")
    return value


def runs_in_worker(origin: str, kind: str) -> bool:
    """Python skills from files and plug-ins. Built-ins (the agent's hot path, bounded code that uses the
    caller's open memory store) and functions registered in-process through the API (no reference another
    process could load them by) run in a thread of the caller."""
    return kind == "python" and origin.startswith(REMOTE_ORIGINS)


def load_python_file_in_worker(path: Path) -> list[Skill]:
    """The skills of a Python file, imported in a worker under a deadline: a file that never finishes
    importing, or ends its process, is one InvalidInputError. Each skill's executor runs in a worker."""
    timeout = import_timeout_s()
    try:
        reply = pool().request({"op": "load", "path": str(path)}, timeout)
    except WorkerTimeout:
        raise InvalidInputError(f"{path} did not finish importing within {timeout:g}s "
                                f"(AGENTCL_SKILL_IMPORT_TIMEOUT sets the limit)") from None
    except WorkerDied as exc:
        raise InvalidInputError(f"{path} does not import: its process ended ({exc})") from None
    if "error" in reply:
        raise InvalidInputError(reply["message"])
    return [Skill(**fields, executor=RemoteExecutor(f"file:{path}", fields["name"])) for fields in reply["skills"]]


@dataclass
class RemoteExecutor:
    """Calls one skill in a worker. Also a callable, so that code holding a Skill can still call it."""

    origin: str
    name: str

    def __call__(self, **kwargs: Any) -> Any:
        raise RuntimeError(f"{self.name} runs in a worker process; call it through SkillRegistry.call")

    def run(self, kwargs: dict, *, fingerprint: str, timeout_s: float, max_result_chars: int,
            context: dict | None) -> tuple[Any, CallError | None, float]:
        """(result, error, latency_ms), like deadline.run_with_deadline; never raises for what the skill does."""
        request = {"op": "call", "origin": self.origin, "name": self.name, "fingerprint": fingerprint,
                   "kwargs": kwargs, "max_result_chars": max_result_chars, "context": context}
        start = time.perf_counter()
        try:
            reply = pool().request(request, timeout_s)
        except WorkerTimeout:
            return None, CallError(kind="timeout", message=f"no result within {timeout_s:g}s "
                                                           f"(its worker process was stopped)"), _ms(start)
        except WorkerDied as exc:
            return None, CallError(kind="crashed", message=f"{self.name} ended its worker process "
                                                           f"({exc}) before returning a result"), _ms(start)
        except ValueError as exc:  # a reply that is not JSON
            return None, CallError(kind="exception", message=f"result cannot be returned: "
                                                             f"{exc.__class__.__name__}: {exc}"[:500]), _ms(start)
        if "error" in reply:
            return None, CallError(kind=reply["error"], message=reply["message"]), _ms(start)
        return reply["result"], None, _ms(start)


def _ms(start: float) -> float:
    return (time.perf_counter() - start) * 1000
