"""Calling skills: validate, find the executor, run with a deadline, record stats and usage examples.
A call never raises at the agent: every failure is a CallResult with a structured CallError."""
from __future__ import annotations

import difflib
import threading
from typing import TYPE_CHECKING, Any

from . import repo
from .composite_steps import render
from .deadline import run_with_deadline
from .http import HttpExecutor
from .records import SkillInfo
from .remote import RemoteExecutor, runs_in_worker
from .spec import CallError, CallResult
from .traces import record_in_traces
from .validate import validate_args

if TYPE_CHECKING:
    from .catalog import Catalog
    from .registry_state import RegistryState

_local = threading.local()  # composite nesting depth of the current thread
MAX_COMPOSITE_DEPTH = 4
# Failures kept as evidence against the tool for similar tasks. Wrong arguments, a disabled or missing
# executor say nothing about whether the tool suits the task.
AGAINST_THE_TOOL = ("exception", "timeout")


class CompositeStepError(RuntimeError):
    pass


def renames_of(info: SkillInfo) -> dict[str, str]:
    """Old parameter name -> its name in the current version, followed through every rename."""
    renames: dict[str, str] = {}
    for version in info.versions:
        for before, after in ((version.diff or {}).get("renamed") or {}).items():
            for key, value in list(renames.items()):
                if value == before:
                    renames[key] = after
            renames[before] = after
    return renames


class Calls:
    """Calling skills and recording outcomes: validation, executor lookup, deadlines, statistics."""

    def __init__(self, state: RegistryState, catalog: Catalog):
        self.state = state
        self.catalog = catalog

    def call(self, name: str, args: dict | None = None, *, task: str | None = None,
             timeout_s: float | None = None) -> CallResult:
        """Call the current version of `name`. With `task` (the task text), a success is kept as a usage example."""
        return self.run(name, {} if args is None else args, task=task, timeout_s=timeout_s, verifying=False)

    def run(self, name: str, args: Any, *, task: str | None, timeout_s: float | None,
            verifying: bool) -> CallResult:
        """A call; `verifying` (a composite's verification, composites.py) also runs a candidate."""
        info = self.catalog.find(name)
        if info is None:
            close = difflib.get_close_matches(name, [s.name for s in self.catalog.list()], n=3, cutoff=0.6)
            return CallResult(name, None, False, error=CallError(
                kind="not_found", message=f"no skill named {name!r}" + (f"; did you mean {', '.join(close)}?"
                                                                      if close else ""),
                did_you_mean={name: close[0]} if close else {}))
        version = info.current
        notes = list(version.notes)
        if info.deprecated:
            notes.insert(0, f"{name} is deprecated" + (f"; use {info.replacement}" if info.replacement else ""))
        if not info.enabled or (info.status != "active" and not verifying):
            why = "disabled" if not info.enabled else f"a {info.status} (not yet verified)"
            return self._finish(info, task, args, None, CallError(kind="disabled", message=f"{name} is {why}",
                                                                   notes=notes), 0.0)
        error = validate_args(version.parameters, args, renames=renames_of(info))
        if error is not None:
            error.notes = notes
            return self._finish(info, task, args, None, error, 0.0)
        executor, wants_context = self._executor(info)
        if executor is None:
            return self._finish(info, task, args, None, CallError(
                kind="unavailable", message=f"{name} v{version.version} has no executor in this process "
                                            f"(origin {info.origin})", notes=notes), 0.0)
        if isinstance(executor, RemoteExecutor):
            result, error, latency = executor.run(dict(args), fingerprint=version.fingerprint,
                                                  timeout_s=timeout_s or self.state.timeout_s,
                                                  max_result_chars=self.state.max_result_chars,
                                                  context=self._context_spec())
        else:
            kwargs = dict(args)
            if wants_context:
                kwargs["context"] = self.state.context
            result, error, latency = run_with_deadline(executor, kwargs, timeout_s=timeout_s or self.state.timeout_s,
                                                       max_result_chars=self.state.max_result_chars)
        if error is not None:
            error.notes = notes
        return self._finish(info, task, args, result, error, latency)

    def _finish(self, info: SkillInfo, task, args, result, error: CallError | None, latency: float) -> CallResult:
        version = info.current
        with repo.transaction(self.state.engine) as conn:
            repo.record_call(conn, version.id, ok=error is None, error_kind=error.kind if error else None,
                             latency_ms=latency)
            if task and isinstance(args, dict) and (error is None or error.kind in AGAINST_THE_TOOL):
                repo.add_example(conn, version.id, str(task), args, namespace=self.state.context.namespace,
                                 ok=error is None)
        if error is None and getattr(_local, "depth", 0) == 0:
            record_in_traces(info.name, args, result)  # steps inside a composite are not the agent's calls
        return CallResult(info.name, version.version, error is None, result=result, error=error, latency_ms=latency)

    def _context_spec(self) -> dict:
        """What a worker needs to build this registry's SkillContext (it opens the memory store itself)."""
        ws = self.state.context.workspace
        return {"namespace": self.state.context.namespace, "workspace": str(ws) if ws else None, "url": self.state.url,
                "home": str(self.state.home) if self.state.home else None}

    def _executor(self, info: SkillInfo):
        """(callable, wants_context) for the current version, or (None, False). Skill code from files and
        plug-ins runs in a worker process that loads it by its origin (skills/remote.py)."""
        current = info.current
        if runs_in_worker(info.origin, current.kind):
            return RemoteExecutor(info.origin, info.name), False
        live = self.state.live.get(info.name)
        if live is not None and live.fingerprint() == current.fingerprint:
            return live.executor, live.wants_context
        if current.kind == "http" and current.definition and "http" in current.definition:
            return HttpExecutor.from_definition(current.definition["http"]), False
        if current.kind == "composite":
            steps = (current.definition or {}).get("steps", [])
            return (lambda **inputs: self._run_composite(steps, inputs)), False
        return None, False

    def _run_composite(self, steps: list[dict], inputs: dict) -> Any:
        depth = getattr(_local, "depth", 0)
        if depth >= MAX_COMPOSITE_DEPTH:
            raise CompositeStepError("composite skills nested too deeply")
        results: list = []
        for i, step in enumerate(steps):
            args = render(step["args"], inputs, results)
            _local.depth = depth + 1
            try:
                outcome = self.call(step["skill"], args)
            finally:
                _local.depth = depth
            if not outcome.ok:
                raise CompositeStepError(f"step {i} ({step['skill']}) failed: {outcome.error.kind}: "
                                         f"{outcome.error.message}")
            results.append(outcome.result)
        return results[-1] if results else None

    def record_call(self, name: str, *, ok: bool, error_kind: str | None = None, latency_ms: float = 0.0,
                    task: str | None = None, args: dict | None = None) -> None:
        """Record the outcome of a call made outside the registry (e.g. a tool of the environment)."""
        info = self.catalog.get(name)
        if not ok and error_kind is None:
            error_kind = "exception"
        with repo.transaction(self.state.engine) as conn:
            repo.record_call(conn, info.current.id, ok=ok, error_kind=error_kind, latency_ms=latency_ms)
            if task and isinstance(args, dict) and (ok or error_kind != "invalid_args"):
                repo.add_example(conn, info.current.id, str(task), args, namespace=self.state.context.namespace, ok=ok)

    def stats(self, name: str | None = None) -> list[dict]:
        """Per-version outcome statistics (all skills, or one)."""
        skills = [self.catalog.get(name)] if name else self.catalog.list()
        return [{"name": s.name, "version": v.version, "label": v.label, "current": v.version == s.current_version,
                 **v.stats.to_dict()} for s in skills for v in s.versions]
