"""Ground truth of DriftWorld's facts: the value of every slot at every step."""
from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import pairwise

from memory_store.normalize import normalize_name

from .base import Notice
from .scenario import FactSpec, Scenario
from .templates import fill


def slot_key(subject: str, predicate: str) -> tuple[str, str]:
    """Slots are matched case- and whitespace-insensitively (as the memory store normalises them)."""
    return (normalize_name(subject), normalize_name(predicate))


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.casefold()).strip("-")


@dataclass(frozen=True)
class Slot:
    subject: str  # as the scenario spells it
    predicate: str
    spec: FactSpec
    question: str  # question text

    @property
    def task_id(self) -> str:
        return f"fact/{slug(self.subject)}/{slug(self.predicate)}"


class FactTimeline:
    """Every fact slot of a scenario and its value as a function of the step."""

    def __init__(self, scenario: Scenario) -> None:
        self.horizon = scenario.horizon
        self.slots: dict[tuple[str, str], Slot] = {}
        for entity in scenario.entities:
            for predicate, spec in entity.facts.items():
                template = spec.question or scenario.questions.get(predicate) or "What is the {predicate} of {subject}?"
                text = fill(template, subject=entity.name, predicate=predicate)  # never str.format
                self.slots[slot_key(entity.name, predicate)] = Slot(entity.name, predicate, spec, text)
        self._changes = {key: self._compute_changes(slot) for key, slot in self.slots.items()}
        self._notices: dict[int, list[Notice]] = {}
        for slot in self.slots.values():
            for change in slot.spec.changes:
                if change.announced and change.step < self.horizon:
                    text = fill(change.notice or "{subject} has a new {predicate}.",
                                subject=slot.subject, predicate=slot.predicate)
                    self._notices.setdefault(change.step, []).append(
                        Notice(change.step, slot.subject, slot.predicate, text))

    def notices_at(self, step: int) -> tuple[Notice, ...]:
        return tuple(self._notices.get(step, ()))

    def slot(self, subject: str, predicate: str) -> Slot | None:
        return self.slots.get(slot_key(subject, predicate))

    @staticmethod
    def value_of(spec: FactSpec, step: int) -> str:
        if spec.rotation is not None:
            rot = spec.rotation
            return rot.values[((step - rot.start) // rot.period) % len(rot.values)]
        value = spec.initial
        for change in spec.changes:
            if change.step > step:
                break
            value = change.value
        return value  # type: ignore[return-value]

    def value(self, subject: str, predicate: str, step: int) -> str | None:
        slot = self.slot(subject, predicate)
        return None if slot is None else self.value_of(slot.spec, step)

    def change_steps(self, slot: Slot) -> list[int]:
        """Steps in [1, horizon) where the slot takes a new value."""
        return self._changes[slot_key(slot.subject, slot.predicate)]

    def _compute_changes(self, slot: Slot) -> list[int]:
        spec = slot.spec
        if spec.rotation is None:
            return [c.step for c in spec.changes if c.step < self.horizon]
        return [s for s in range(1, self.horizon) if self.value_of(spec, s) != self.value_of(spec, s - 1)]

    def intervals(self, slot: Slot) -> list[tuple[int, int, str]]:
        """[(from_step, to_step_exclusive, value)] covering [0, horizon)."""
        bounds = [0, *self.change_steps(slot), self.horizon]
        return [(a, b, self.value_of(slot.spec, a)) for a, b in pairwise(bounds) if b > a]

    def valid_until(self, slot: Slot, step: int) -> int | None:
        """For facts with a natural lifetime (rotations): the step at which the current value ends."""
        rot = slot.spec.rotation
        if rot is None:
            return None
        return rot.start + ((step - rot.start) // rot.period + 1) * rot.period

    def earlier_values(self, slot: Slot, step: int) -> set[str]:
        """Values the slot held before `step` that differ from its value at `step`."""
        now = self.value_of(slot.spec, step)
        return {v for a, _, v in self.intervals(slot) if a < step and v != now}

    def all_values(self, slot: Slot) -> set[str]:
        return {v for _, _, v in self.intervals(slot)}

    def changed_within(self, slot: Slot, step: int, window: int) -> bool:
        return any(step - window < s <= step for s in self.change_steps(slot))

    def ground_truth(self) -> dict[str, list[dict]]:
        """{"subject / predicate": [{"from_step", "to_step", "value"}, ...]} for every slot."""
        return {f"{s.subject} / {s.predicate}": [{"from_step": a, "to_step": b, "value": v}
                                                 for a, b, v in self.intervals(s)]
                for s in self.slots.values()}
