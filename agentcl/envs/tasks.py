"""DriftWorld's task stream: which task is asked at each step, fixed by the scenario and the seed alone
(never by the agent's actions), so two runs with one seed see the same stream."""
from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from memory_store.errors import UserError

from .base import FactQuery, TaskKind, ToolRequest
from .operations import OPERATIONS
from .scenario import PhaseSpec, Scenario
from .timeline import FactTimeline, Slot
from .toolbook import ToolBook


@dataclass(frozen=True)
class Task:
    task_id: str
    kind: TaskKind
    text: str
    query: FactQuery | None = None
    request: ToolRequest | None = None

    @property
    def operation(self) -> str | None:
        return self.request.operation if self.request else None


def tool_task_pool(scenario: Scenario, seed: int) -> dict[str, list[Task]]:
    """A fixed set of tasks per operation (revisits ask the same ones again)."""
    pools: dict[str, list[Task]] = {}
    for op_name in sorted({t.operation for t in scenario.tools}):
        op = OPERATIONS[op_name]
        rng = random.Random(f"{seed}:pool:{op_name}")
        tasks, seen = [], set()
        for _ in range(scenario.tool_task_pool * 20):
            if len(tasks) == scenario.tool_task_pool:
                break
            inputs = op.generate(rng)
            key = repr(sorted(inputs.items()))
            if key in seen:
                continue
            seen.add(key)
            tasks.append(Task(f"tool/{op_name}/{len(tasks)}", "tool", op.render(inputs),
                              request=ToolRequest(op_name, inputs)))
        pools[op_name] = tasks
    return pools


def fact_task(slot: Slot) -> Task:
    return Task(slot.task_id, "fact", slot.question, query=FactQuery(slot.subject, slot.predicate))


def _weighted(rng: random.Random, items: list[Any], weights: list[float]) -> Any:
    return rng.choices(items, weights=weights, k=1)[0]


def unanswerable_step(scenario: Scenario, timeline: FactTimeline, toolbook: ToolBook) -> tuple[str, int] | None:
    """(phase name, step) of the first step at which a phase has nothing it may ask, or None. Seed-free:
    a phase without a matching slot asks tool tasks only, and which operations are live changes only at
    a tool's first version or its deprecation, so only those steps are checked."""
    events = sorted({t.introduced_at for t in scenario.tools} |
                    {t.deprecated_at for t in scenario.tools if t.deprecated_at is not None})
    ops = {t.operation for t in scenario.tools}
    start = 0
    for phase in scenario.phases:
        end = start + phase.steps
        if not any(phase.predicates is None or s.predicate in phase.predicates for s in timeline.slots.values()):
            for step in [start, *(e for e in events if start < e < end)]:
                live = toolbook.live_operations(step) & ops
                if not any(phase.operations is None or op in phase.operations for op in live):
                    return phase.name, step
        start = end
    return None


def nothing_to_ask(scenario: Scenario, phase: str, step: int) -> str:
    return (f"scenario {scenario.name!r}: phase {phase!r} has nothing to ask at step {step} "
            "(no fact slot matches and no tool of its operations is live)")


def build_stream(scenario: Scenario, timeline: FactTimeline, toolbook: ToolBook, seed: int
                 ) -> list[tuple[str, Task]]:
    """[(phase name, task)] for every step of the scenario."""
    rng = random.Random(f"{seed}:tasks")
    pools = tool_task_pool(scenario, seed)
    by_id: dict[str, Task] = {t.task_id: t for pool in pools.values() for t in pool}
    by_id.update({s.task_id: fact_task(s) for s in timeline.slots.values()})
    changes_by_op: dict[str, list[int]] = {}
    for change in toolbook.changes():
        changes_by_op.setdefault(change.operation, []).append(change.step)
    stream: list[tuple[str, Task]] = []
    earlier: list[str] = []  # task ids first asked in an earlier phase, in order
    step = 0
    for phase in scenario.phases:
        asked_here: list[str] = []
        for _ in range(phase.steps):
            live = toolbook.live_operations(step)
            task = _pick(rng, phase, step, timeline, pools, live, changes_by_op, earlier, by_id)
            if task is None:
                raise UserError(nothing_to_ask(scenario, phase.name, step))
            stream.append((phase.name, task))
            if task.task_id not in earlier and task.task_id not in asked_here:
                asked_here.append(task.task_id)
            step += 1
        earlier.extend(asked_here)
    return stream


def _pick(rng: random.Random, phase: PhaseSpec, step: int, timeline: FactTimeline,
          pools: dict[str, list[Task]], live: set[str], changes_by_op: dict[str, list[int]],
          earlier: list[str], by_id: dict[str, Task]) -> Task | None:
    def recent(steps: list[int]) -> bool:
        return any(step - phase.recent_window < s <= step for s in steps)

    def tool_ok(task: Task) -> bool:
        return task.kind == "fact" or task.operation in live

    if earlier and rng.random() < phase.revisit_share:
        candidates = [by_id[t] for t in earlier if tool_ok(by_id[t])]
        if candidates:
            return rng.choice(candidates)
    slots = [s for s in timeline.slots.values() if phase.predicates is None or s.predicate in phase.predicates]
    ops = [op for op in sorted(pools) if op in live and (phase.operations is None or op in phase.operations)]
    want_fact = rng.random() < phase.fact_share
    if (want_fact and slots) or not ops:
        if not slots:
            return None
        weights = [phase.recent_change_weight if timeline.changed_within(s, step, phase.recent_window) else 1.0
                   for s in slots]
        return fact_task(_weighted(rng, slots, weights))
    weights = [phase.recent_change_weight if recent(changes_by_op.get(op, [])) else 1.0 for op in ops]
    op = _weighted(rng, ops, weights)
    return rng.choice(pools[op])
