"""The agent's view of its tools: the environment's published specs kept in the skill registry.

Each spec is registered as a JSON-declared skill (a changed signature becomes a new skill version with
a parameter diff; a deprecated tool is deprecated with its replacement), candidate tools come from the
registry's search, and every call's outcome, usage example and learned usage note goes back to it.
Without a registry (a bare agent) the same calls work over an in-memory index of the specs.

A tool's name is converted here only, once per tool (when the toolbox first sees it): the world's name
("convert_units") is the agent's own everywhere; its registry name ("drift.convert_units") is used for
the registry's calls and mapped back for what comes from the registry or the model trained on it."""
from __future__ import annotations

import logging

import numpy as np

from agentcl.envs.base import ToolSpec
from memory_store.keyword import split_identifier
from skills.openai_format import openai_tool

log = logging.getLogger("agentcl.agent")
FAILING_CALLS = 2  # calls of a tool's current version before its record can demote it (rank_tools)


def spec_text(spec: ToolSpec) -> str:
    params = ", ".join(f"{p.name} ({p.description})" if p.description else p.name for p in spec.parameters)
    return f"{split_identifier(spec.name)}: {spec.description} Parameters: {params}"


def spec_fingerprint(spec: ToolSpec) -> tuple:
    return (spec.name, spec.description, tuple((p.name, p.type, p.required) for p in spec.parameters),
            spec.deprecated, spec.replacement)


class Toolbox:
    def __init__(self, *, registry=None, embedder=None, source: str = "env"):
        # `source`: the world's name, used as the registry prefix and origin of its tools.
        self.registry = registry
        self.embedder = embedder
        self.source = source
        self.specs: dict[str, ToolSpec] = {}
        self._fingerprints: dict[str, tuple] = {}
        self._vectors: dict[str, np.ndarray] = {}
        self._skills: dict[str, str] = {}  # world name -> registry name
        self._tools: dict[str, str] = {}  # registry name -> world name

    def sync(self, specs: list[ToolSpec]) -> list[str]:
        """Bring the registry up to date with what the world publishes; returns names that changed."""
        changed = []
        current = {s.name: s for s in specs}
        for name, spec in current.items():
            fp = spec_fingerprint(spec)
            if self._fingerprints.get(name) == fp:
                continue
            changed.append(name)
            self._fingerprints[name] = fp
            self.specs[name] = spec
            self.skill_name(name)
            self._vectors.pop(name, None)
            if self.registry is not None:
                self._register(spec)
        for name in [n for n in self.specs if n not in current]:
            self.specs.pop(name)
            self._fingerprints.pop(name, None)
        return changed

    def skill_name(self, tool: str) -> str:
        """The registry name of a world tool, made once: the world's tools live in the registry under the
        world's prefix ("drift.convert_units"), so they never collide with built-in or plug-in skills."""
        skill = self._skills.get(tool)
        if skill is None:
            skill = self._skills[tool] = f"{self.source}.{tool}"
            self._tools[skill] = tool
        return skill

    def tool_name(self, skill: str) -> str:
        """The world's name of a registry name (a name that is no registry name of a tool is returned as
        given: a model trained without a registry learnt the world's names)."""
        return self._tools.get(skill, skill)

    def _register(self, spec: ToolSpec) -> None:
        try:
            tool = openai_tool(self.skill_name(spec.name), spec.description, spec.json_schema())
            self.registry.register_spec(tool["function"], executor=None, origin=self.source)
            if spec.deprecated:
                self.registry.deprecate(self.skill_name(spec.name),
                                        replacement=self.skill_name(spec.replacement) if spec.replacement else None)
        except Exception as exc:  # noqa: BLE001 - the registry only aids learning; the tools still work
            log.warning("could not register tool %s in the skill registry: %s", spec.name, exc)

    def usable(self) -> list[ToolSpec]:
        return [s for s in self.specs.values() if not s.deprecated]

    def candidates(self, text: str, *, k: int = 3, exclude: tuple[str, ...] = ()) -> list[tuple[str, float]]:
        names = [s.name for s in self.usable() if s.name not in exclude]
        if not names:
            return []
        if self.registry is not None:
            try:
                hits = self.registry.search(text, k=len(self.specs) + 20)
                wanted = set(names)
                ranked = [(self._tools[h.name], float(h.score)) for h in hits if self._tools.get(h.name) in wanted]
                if ranked:
                    return ranked[:k]
            except Exception as exc:  # noqa: BLE001 - the registry only aids learning
                log.warning("skill search failed, using the local index: %s", exc)
        return self._local_search(text, names)[:k]

    def rank_tools(self, text: str, *, exclude: tuple[str, ...] = ()) -> list[str]:
        """Every usable tool (but `exclude`) for a task text, best first: by the registry's search score
        (which already weighs this namespace's successful and failed usage examples), except that a tool
        whose current version mostly fails (at least FAILING_CALLS calls, under half right) goes below
        those that do not; tools the search did not return follow. Without a registry: the local index."""
        names = [s.name for s in self.usable() if s.name not in exclude]
        if len(names) <= 1:
            return names
        scores = dict(self.candidates(text, k=len(names), exclude=exclude))
        failing = self._failing(names)
        return sorted(names, key=lambda n: (n in failing, n not in scores, -scores.get(n, 0.0), names.index(n)))

    def _failing(self, names: list[str]) -> set[str]:
        """Tools whose current version's call record in the registry is mostly failures."""
        if self.registry is None or not callable(getattr(self.registry, "stats", None)):
            return set()
        out = set()
        for name in names:
            try:
                rows = [r for r in self.registry.stats(self.skill_name(name)) if r.get("current")]
            except Exception as exc:  # noqa: BLE001 - the registry only aids learning
                log.warning("no call record for %s: %s", name, exc)
                continue
            if rows and rows[0].get("calls", 0) >= FAILING_CALLS and (rows[0].get("success_rate") or 0.0) < 0.5:
                out.add(name)
        return out

    def _local_search(self, text: str, names: list[str]) -> list[tuple[str, float]]:
        missing = [n for n in names if n not in self._vectors]
        if missing:
            vecs = self.embedder.encode([spec_text(self.specs[n]) for n in missing])
            self._vectors.update(zip(missing, vecs))
        query = self.embedder.encode([text])[0]
        scored = [(n, float(self._vectors[n] @ query)) for n in names]
        return sorted(scored, key=lambda x: -x[1])

    def record(self, name: str, *, ok: bool, error_kind: str | None = None, latency_ms: float = 0.0,
               task: str | None = None, args: dict | None = None) -> None:
        if self.registry is None or name not in self.specs:
            return
        try:
            record = getattr(self.registry, "record_call", None)
            if record is not None:
                record(self.skill_name(name), ok=ok, error_kind=error_kind, latency_ms=latency_ms)
            if ok and task:
                self.registry.add_example(self.skill_name(name), task, dict(args or {}))
        except Exception as exc:  # noqa: BLE001 - the registry only aids learning
            log.warning("could not record the outcome of %s: %s", name, str(exc).strip().split("\n")[0])

    def note(self, name: str, text: str) -> None:
        if self.registry is None or name not in self.specs:
            return
        try:
            self.registry.add_note(self.skill_name(name), text)
        except Exception as exc:  # noqa: BLE001 - the registry only aids learning
            log.warning("could not attach a usage note to %s: %s", name, exc)
