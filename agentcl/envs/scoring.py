"""Metrics of a run, as pure functions over the environment's graded step records.

Rates are floats in [0, 1], or None when nothing was there to measure (never a misleading 0).
Records of several episodes may be mixed; steps restart at 0 in each episode, so the measures that
depend on order (tool recovery, revisits) are computed per episode.
"""
from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from typing import Any

from .base import StepRecord, ToolChange


def _records(records: Iterable[StepRecord | dict[str, Any]]) -> list[StepRecord]:
    return [r if isinstance(r, StepRecord) else StepRecord.from_dict(r) for r in records]


def _rate(flags: Sequence[bool]) -> float | None:
    return sum(flags) / len(flags) if flags else None


def _episodes(records: list[StepRecord]) -> dict[int, list[StepRecord]]:
    out: dict[int, list[StepRecord]] = {}
    for r in records:
        out.setdefault(r.episode, []).append(r)
    return {e: sorted(rs, key=lambda r: r.step) for e, rs in sorted(out.items())}


def success_rate(records: Iterable[StepRecord | dict]) -> float | None:
    return _rate([r.correct for r in _records(records)])


def success_rate_by_phase(records: Iterable[StepRecord | dict]) -> dict[str, float | None]:
    """Phase name -> success rate, phases in the order they first appear."""
    by_phase: dict[str, list[bool]] = {}
    for r in _records(records):
        by_phase.setdefault(r.phase, []).append(r.correct)
    return {phase: _rate(flags) for phase, flags in by_phase.items()}


def stale_answer_rate(records: Iterable[StepRecord | dict]) -> float | None:
    """Share of fact questions answered with a value that was true earlier but not at question time."""
    return _rate([r.stale for r in _records(records) if r.kind == "fact"])


def tool_changes(records: Iterable[StepRecord | dict], changes: Iterable[ToolChange | dict]
                 ) -> list[dict[str, Any]]:
    """One entry per (episode, change): `recovery_tasks` = tasks of the changed tool's operation from the
    change on that failed before the first success (0: no task lost), None when none succeeded;
    `tasks_after` = how many such tasks there were at all."""
    changes = [c if isinstance(c, ToolChange) else ToolChange(**c) for c in changes]
    out = []
    for episode, recs in _episodes(_records(records)).items():
        for change in changes:
            after = [r for r in recs if r.operation == change.operation and r.step >= change.step]
            first = next((i for i, r in enumerate(after) if r.correct), None)
            out.append({"episode": episode, "tool": change.tool, "step": change.step, "kind": change.kind,
                        "operation": change.operation, "detail": change.detail,
                        "recovery_tasks": first, "recovered": first is not None, "tasks_after": len(after),
                        "first_success_step": after[first].step if first is not None else None})
    return out


def median_recovery_tasks(entries: Iterable[dict[str, Any]]) -> float | None:
    """Median of `recovery_tasks` over changes followed by at least one task. A change never recovered
    from counts as all its `tasks_after` (a lower bound), so failures are not hidden."""
    values = [e["recovery_tasks"] if e["recovered"] else e["tasks_after"] for e in entries if e["tasks_after"]]
    return float(statistics.median(values)) if values else None


def revisit_rates(records: Iterable[StepRecord | dict]) -> tuple[float | None, float | None]:
    """(revisit_success_rate, revisit_baseline_rate): success on tasks asked again in a later phase than
    the one they first appeared in, and the success the same tasks had in that first phase."""
    revisited: list[bool] = []
    baseline: list[bool] = []
    for recs in _episodes(_records(records)).values():
        phase_order: dict[str, int] = {}
        for r in recs:
            phase_order.setdefault(r.phase, len(phase_order))
        first_phase: dict[str, int] = {}
        for r in recs:
            first_phase.setdefault(r.task_id, phase_order[r.phase])
        again = {r.task_id for r in recs if phase_order[r.phase] > first_phase[r.task_id]}
        for r in recs:
            if r.task_id not in again:
                continue
            (revisited if phase_order[r.phase] > first_phase[r.task_id] else baseline).append(r.correct)
    return _rate(revisited), _rate(baseline)


def lookups(records: Iterable[StepRecord | dict]) -> int:
    return sum(r.lookups for r in _records(records))


def score_run(records: Iterable[StepRecord | dict], changes: Iterable[ToolChange | dict] = ()
              ) -> dict[str, Any]:
    """All metrics in one JSON-able dict (the environment part of `agentcl run --json`)."""
    recs = _records(records)
    entries = tool_changes(recs, changes)
    revisit, baseline = revisit_rates(recs)
    return {
        "episodes": len({r.episode for r in recs}),
        "tasks": len(recs),
        "success_rate": success_rate(recs),
        "fact_success_rate": _rate([r.correct for r in recs if r.kind == "fact"]),
        "tool_success_rate": _rate([r.correct for r in recs if r.kind == "tool"]),
        "success_rate_by_phase": success_rate_by_phase(recs),
        "stale_answer_rate": stale_answer_rate(recs),
        "tool_changes": entries,
        "median_recovery_tasks": median_recovery_tasks(entries),
        "revisit_success_rate": revisit,
        "revisit_baseline_rate": baseline,
        "lookups": lookups(recs),
    }
