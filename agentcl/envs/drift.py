"""DriftWorld: a world whose facts and tools change while an agent works in it.

Driven by a scenario file (see SCENARIO.md). For one seed the task stream and the feedback coin flips
are fixed, so runs are reproducible and comparable; the world keeps ground truth for scoring.
"""
from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from memory_store.errors import InvalidInputError
from memory_store.timeparse import iso

from .base import (
    Action,
    BaseEnvironment,
    Correction,
    Feedback,
    Observation,
    ParamSpec,
    StepRecord,
    ToolCall,
    ToolChange,
    ToolResult,
    ToolSpec,
)
from .grading import grade_fact
from .operations import OPERATIONS, outputs_match
from .scenario import Scenario, load_scenario
from .tasks import Task, build_stream, nothing_to_ask, unanswerable_step
from .timeline import FactTimeline
from .toolbook import ToolBook, check_arguments


class DriftWorld(BaseEnvironment):
    """Facts that change at given steps (or rotate), tools whose signatures drift, tasks in phases."""

    name = "drift"

    def __init__(self, scenario: str | Path | dict[str, Any] | Scenario | None = None, *,
                 seed: int | None = None, text_only: bool = False) -> None:
        self.scenario = load_scenario(scenario)
        # text_only: observations carry no structured `query`/`request`; the agent grounds the text itself.
        self.text_only = bool(text_only)
        self.timeline = FactTimeline(self.scenario)
        self.toolbook = ToolBook(self.scenario)
        stuck = unanswerable_step(self.scenario, self.timeline, self.toolbook)
        if stuck is not None:  # a scenario that cannot finish is refused when loaded, not mid-run
            raise InvalidInputError(nothing_to_ask(self.scenario, *stuck))
        self.default_seed = self.scenario.seed if seed is None else seed
        self.seed = self.default_seed
        self.episode = -1
        self.lookups = 0  # across all episodes, tasks and practice
        self.practice_calls = 0
        self._records: list[StepRecord] = []
        self._stream: list[tuple[str, Task]] = []
        self._step = 0
        self._attempt = 0
        self._task_lookups = 0

    # --- the protocol -----------------------------------------------------------------------------
    def reset(self, seed: int | None = None) -> Observation:
        self.seed = self.default_seed if seed is None else seed
        self.episode += 1
        self._stream = build_stream(self.scenario, self.timeline, self.toolbook, self.seed)
        self._step, self._attempt, self._task_lookups = 0, 0, 0
        return self.observe()  # type: ignore[return-value]

    @property
    def step_index(self) -> int:
        return self._step

    @property
    def horizon(self) -> int:
        return len(self._stream) if self._stream else self.scenario.horizon

    def observe(self) -> Observation | None:
        """The current task, or None when the episode is over (or not started)."""
        if self._step >= len(self._stream):
            return None
        phase, task = self._stream[self._step]
        return Observation(step=self._step, phase=phase, task_id=task.task_id, kind=task.kind, text=task.text,
                           time=iso(self.scenario.time_at(self._step)),
                           query=None if self.text_only else task.query,
                           request=None if self.text_only else task.request,
                           attempt=self._attempt, notices=self.timeline.notices_at(self._step))

    def tools(self) -> list[ToolSpec]:
        return [*self.toolbook.specs(self._step), self.lookup_spec()]

    def lookup_spec(self) -> ToolSpec:
        spec = self.scenario.lookup
        return ToolSpec(spec.name, f"{spec.description} Cost per call: {spec.cost:g}.",
                        (ParamSpec("subject", "string", "the entity, e.g. 'Acme'"),
                         ParamSpec("predicate", "string", "the attribute, e.g. 'ceo'")))

    def truth(self, subject: str, predicate: str, *, step: int | None = None) -> str | None:
        return self.timeline.value(subject, predicate, self._step if step is None else step)

    def ground_truth(self) -> dict[str, list[dict]]:
        return self.timeline.ground_truth()

    def tool_changes(self) -> list[ToolChange]:
        return self.toolbook.changes()

    def records(self) -> list[StepRecord]:
        return list(self._records)

    def stats(self) -> dict[str, Any]:
        """Counters across all episodes, practice calls included (task records count only in-task lookups)."""
        return {"episodes": self.episode + 1, "lookups": self.lookups, "practice_calls": self.practice_calls,
                "lookup_cost": self.lookups * self.scenario.lookup.cost}

    def execute_tool(self, call: ToolCall) -> ToolResult:
        """A practice call outside any task (not graded; lookups still cost and are counted)."""
        self.practice_calls += 1
        if call.name == self.scenario.lookup.name:
            self.lookups += 1
            return self._lookup(call)
        return self.toolbook.execute(call, self._step)[0]

    def step(self, action: Action) -> Feedback:
        if self._step >= len(self._stream):
            raise RuntimeError("the episode is over (or was never started): call reset() first")
        phase, task = self._stream[self._step]
        self._attempt += 1
        call = action.tool_call
        if call is not None and call.name == self.scenario.lookup.name:
            self.lookups += 1
            self._task_lookups += 1
            result = self._lookup(call)
            if self._attempt < self.scenario.max_actions_per_task:
                return Feedback(self._step, task.task_id, None, "lookup result" if result.ok else "lookup failed",
                                task_done=False, tool_result=result, next_observation=self.observe(),
                                cost=self.scenario.lookup.cost)
            return self._finish(phase, task, False, "action budget for this task is spent", tool_result=result,
                                cost=self.scenario.lookup.cost, action=action)
        if task.kind == "fact":
            return self._grade_fact(phase, task, action)
        return self._grade_tool(phase, task, action)

    # --- grading ----------------------------------------------------------------------------------
    def _grade_fact(self, phase: str, task: Task, action: Action) -> Feedback:
        assert task.query is not None
        slot = self.timeline.slot(task.query.subject, task.query.predicate)
        truth = self.timeline.value_of(slot.spec, self._step)
        if action.answer is None:
            return self._finish(phase, task, False, "this question needs an answer, not a tool call",
                                action=action, expected=truth)
        correct, stale = grade_fact(action.answer, truth, earlier=self.timeline.earlier_values(slot, self._step),
                                    all_values=self.timeline.all_values(slot))
        correction = None
        if correct:
            message = "correct"
        elif self._coin("correction") < self.scenario.feedback.correction_probability:
            correction = Correction(slot.subject, slot.predicate, truth)
            message = f"wrong: the {slot.predicate} of {slot.subject} is {truth}"
        else:
            message = "wrong"
        return self._finish(phase, task, correct, message, correction=correction, action=action,
                            expected=truth, stale=stale)

    def _grade_tool(self, phase: str, task: Task, action: Action) -> Feedback:
        assert task.request is not None
        expected = OPERATIONS[task.request.operation].func(**task.request.inputs)
        if action.tool_call is None:
            return self._finish(phase, task, False, "this task needs a tool call, not a text answer",
                                action=action, expected=expected)
        result, operation = self.toolbook.execute(action.tool_call, self._step)
        if not result.ok:
            message = f"tool error: {result.error['message']}"  # type: ignore[index]
            if self.scenario.retry_tool_errors and self._attempt < self.scenario.max_actions_per_task:
                return Feedback(self._step, task.task_id, None, message, task_done=False, tool_result=result,
                                next_observation=self.observe())
            return self._finish(phase, task, False, message, tool_result=result, action=action, expected=expected)
        correct = operation == task.request.operation and outputs_match(result.output, expected)
        message = "correct" if correct else (
            "wrong: that tool does not do this task" if operation != task.request.operation else "wrong result")
        return self._finish(phase, task, correct, message, tool_result=result, action=action, expected=expected)

    def _finish(self, phase: str, task: Task, correct: bool, message: str, *, action: Action,
                expected: Any = None, stale: bool = False, correction: Correction | None = None,
                tool_result: ToolResult | None = None, cost: float = 0.0) -> Feedback:
        call = action.tool_call
        self._records.append(StepRecord(
            episode=self.episode, step=self._step, phase=phase, task_id=task.task_id, kind=task.kind,
            correct=correct, answer=action.answer if call is None else f"{call.name}({call.arguments})",
            tool=call.name if call else None, operation=task.operation,
            subject=task.query.subject if task.query else None,
            predicate=task.query.predicate if task.query else None, expected=expected, stale=stale,
            lookups=self._task_lookups, actions=self._attempt,
            error=(tool_result.error or {}).get("code") if tool_result and not tool_result.ok else None))
        step = self._step
        self._step, self._attempt, self._task_lookups = self._step + 1, 0, 0
        return Feedback(step, task.task_id, correct, message, task_done=True, correction=correction,
                        tool_result=tool_result, next_observation=self.observe(), cost=cost)

    def _coin(self, what: str) -> float:
        """A seeded draw per (seed, episode step, purpose): independent of the agent's actions."""
        return random.Random(f"{self.seed}:{self._step}:{what}").random()

    def _iso_at(self, step: int | None) -> str | None:
        """The time of a step past the horizon (a rotation's end) may lie beyond year 9999: then unknown."""
        try:
            return None if step is None else iso(self.scenario.time_at(step))
        except (OverflowError, ValueError):
            return None

    def _lookup(self, call: ToolCall) -> ToolResult:
        name = self.scenario.lookup.name
        error = check_arguments(name, ["subject", "predicate"], call.arguments)
        if error:
            return ToolResult(name, False, error=error)
        subject, predicate = str(call.arguments["subject"]), str(call.arguments["predicate"])
        slot = self.timeline.slot(subject, predicate)
        if slot is None:
            return ToolResult(name, False, error={"code": "not_found",
                                                  "message": f"no fact {predicate!r} of {subject!r}"})
        until = self.timeline.valid_until(slot, self._step)
        return ToolResult(name, True, output={
            "subject": slot.subject, "predicate": slot.predicate,
            "value": self.timeline.value_of(slot.spec, self._step),
            "valid_until": self._iso_at(until),
            "valid_until_step": until})
