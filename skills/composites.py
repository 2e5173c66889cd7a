"""Composite skills in the registry: proposed as data (steps with argument templates), mined from
repeated successful call sequences, and admitted (status active) only after a verifying run succeeds.

A verification with `expected` also checks the result: a mined candidate is replayed with the inputs
of another occurrence of the same sequence and must reproduce what that occurrence produced."""
from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

from memory_store.errors import InvalidInputError
from memory_store.keyword import split_identifier

from . import repo, traces
from .composite_steps import composite_from_trace, inputs_for, repeated_sequences, validate_steps
from .spec import CallError, CallResult, Skill

if TYPE_CHECKING:
    from .calls import Calls
    from .catalog import Catalog
    from .registry_state import RegistryState

_MISSING = object()


def composite_name(names: Sequence[str]) -> str:
    """'convert_units' + 'calculate' -> 'convert_units_then_calculate' (at most 128 characters)."""
    return "_then_".join(split_identifier(n).lower().replace(" ", "_") for n in names)[:128]


class Composites:
    """Composite skills: traces of calls, proposals, verification and mining."""

    def __init__(self, state: RegistryState, catalog: Catalog, calls: Calls):
        self.state = state
        self.catalog = catalog
        self.calls = calls

    def trace(self) -> AbstractContextManager[list[tuple[str, dict, Any]]]:
        """Record the successful calls made through this registry (in this thread) while the block runs:
        one episode's (skill, args, result) sequence, the material `mine_composites` learns from."""
        return traces.trace()

    def propose_composite(self, name: str, description: str, steps: list[dict], parameters: dict | None = None,
                          *, origin: str = "learned", tags: Sequence[str] = ()) -> Any:
        """Store a candidate composite skill (data, not code). It is usable only after verify_composite."""
        steps = validate_steps(steps)
        for i, step in enumerate(steps):
            target = self.catalog.find(step["skill"])
            if target is None:
                raise InvalidInputError(f"step {i}: no skill named {step['skill']!r}")
            if target.kind == "composite":
                raise InvalidInputError(f"step {i}: composites of composites are not supported")
        skill = Skill(name=name, description=description, parameters=parameters, kind="composite",
                      definition={"steps": steps}, tags=list(tags), source="")
        return self.catalog.register_many([skill], origin=origin, status="candidate")[0]

    def verify_composite(self, name: str, args: dict, *, task: str | None = None,
                         expected: Any = _MISSING) -> CallResult:
        """Run a candidate; when it succeeds (and returns `expected`, if given) it is admitted (status
        active) with a note saying how it was verified. A failed verification leaves it a candidate."""
        info = self.catalog.get(name)
        if info.kind != "composite":
            raise InvalidInputError(f"{name} is not a composite skill")
        outcome = self.calls.run(name, args, task=task, timeout_s=None, verifying=True)
        if outcome.ok and expected is not _MISSING and outcome.result != expected:
            outcome = CallResult(outcome.skill, outcome.version, False, result=outcome.result,
                                 latency_ms=outcome.latency_ms, error=CallError(kind="mismatch", message=f"verification expected {expected!r}, "
                                                                          f"got {outcome.result!r}"))
        if outcome.ok and info.status != "active":
            with repo.transaction(self.state.engine) as conn:
                repo.update_skill(conn, info.id, status="active")
                repo.add_note(conn, info.current.id, f"verified v{info.current_version} with arguments {args}"
                              + (f" (result {expected!r} reproduced)" if expected is not _MISSING else ""))
        return outcome

    def mine_composites(self, traces: Sequence[Sequence[tuple[str, dict, Any]]], *, min_count: int = 2,
                        min_length: int = 2, max_length: int = 5, verify: bool = True) -> list[dict]:
        """Candidates from call sequences repeated in at least `min_count` traces (episodes of successful
        (skill, args, result) calls). Each is proposed from its first occurrence and, with `verify`,
        replayed with a second occurrence's inputs: admitted only if it reproduces that result."""
        if min_count < 2:
            raise InvalidInputError("a composite needs a sequence seen at least twice (min_count >= 2)")
        names = [[c[0] for c in trace] for trace in traces]
        known = {s.name: s for s in self.catalog.list()}
        existing = {repr(s.current.definition.get("steps")) for s in known.values()
                    if s.kind == "composite" and s.current.definition}
        taken: list[tuple[str, ...]] = []
        out = []
        for seq, count in repeated_sequences(names, min_length=min_length, min_count=min_count,
                                             max_length=max_length):
            if any(known.get(n) is None or known[n].kind == "composite" for n in seq):
                continue
            if any(_contains(longer, seq) for longer in taken):
                continue  # a part of a sequence already proposed adds nothing
            occurrences = [trace[i:i + len(seq)] for trace, ns in zip(traces, names)
                           for i in _starts(ns, seq)]
            steps, parameters = composite_from_trace(occurrences[0], schemas={
                n: known[n].current.parameters for n in seq})
            if repr(steps) in existing:
                continue
            name = composite_name(seq)
            if name in known and known[name].kind != "composite":
                continue
            description = "Composite: " + ", then ".join(known[n].current.description.rstrip(".") or n for n in seq)
            try:
                self.propose_composite(name, description[:1000], steps, parameters, origin="learned")
            except InvalidInputError as exc:  # e.g. the name is taken by another origin's composite
                out.append({"name": name, "sequence": list(seq), "seen": count, "proposed": False, "error": str(exc)})
                continue
            taken.append(seq)
            entry = {"name": name, "sequence": list(seq), "seen": count, "proposed": True, "steps": steps,
                     "verified": False}
            if verify:
                entry.update(self._verify_mined(name, steps, occurrences))
            out.append(entry)
        return out

    def _verify_mined(self, name: str, steps: list[dict], occurrences: list) -> dict:
        # Prefer an occurrence other than the one the steps were generalised from.
        for occ in occurrences[1:] + occurrences[:1]:
            inputs = inputs_for(steps, [call[1] for call in occ])
            if inputs is None:
                continue
            outcome = self.verify_composite(name, inputs, expected=occ[-1][2])
            return {"verified": outcome.ok, "verified_with": inputs,
                    "error": outcome.error.message if outcome.error else None}
        return {"verified": False, "error": "no occurrence gives every input"}


def _starts(names: list[str], seq: tuple[str, ...]) -> list[int]:
    n = len(seq)
    return [i for i in range(len(names) - n + 1) if tuple(names[i:i + n]) == seq][:1]


def _contains(longer: tuple[str, ...], seq: tuple[str, ...]) -> bool:
    n = len(seq)
    return any(longer[i:i + n] == seq for i in range(len(longer) - n + 1))
