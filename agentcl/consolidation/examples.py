"""Turning memories into training examples. Pure functions: no store, no model."""
from __future__ import annotations

import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .keys import Slot, skill_key, slot_key

FACT_TEMPLATES = (
    "What is the {predicate} of {subject}?",
    "{subject} {predicate}?",
    "What is {subject}'s {predicate}?",
    "Tell me the {predicate} of {subject}.",
    "Which {predicate} does {subject} have?",
)


def fact_questions(subject: str, predicate: str, *, count: int = 3) -> list[str]:
    """`count` question phrasings of a slot; the first is the canonical one probes ask."""
    pred = predicate.replace("_", " ")
    return [t.format(subject=subject, predicate=pred) for t in FACT_TEMPLATES[: max(count, 0)]]


def canonical_question(subject: str, predicate: str) -> str:
    return fact_questions(subject, predicate, count=1)[0]


@dataclass
class Example:
    kind: str          # "fact" or "skill"
    key: str           # slot_key(slot) or skill_key(name) (keys.py): what a supersession or probe refers to
    label: str         # the answer value or the skill name
    text: str = ""     # input text to encode ("" when `fact_id` supplies a stored vector)
    fact_id: int | None = None  # use the store's vector of this fact instead of encoding

    @property
    def cls(self) -> tuple[str, str]:
        """The model's class for this example: (kind, label)."""
        return self.kind, self.label


@dataclass
class UsageRecord:
    """One successful use of a skill: the task it solved, the skill and the arguments it was called with."""
    task: str
    skill: str
    args: dict = field(default_factory=dict)
    success: bool = True
    at: datetime | None = None
    id: Any = None

    @classmethod
    def coerce(cls, item: Any) -> UsageRecord:
        if isinstance(item, UsageRecord):
            return item
        get = item.get if isinstance(item, dict) else (lambda k, d=None: getattr(item, k, d))
        task = get("task") or get("task_text") or get("input") or get("query")
        skill = get("skill") or get("skill_name") or get("name")
        args = get("args") or get("arguments") or {}
        success = get("success", True)
        if success is None:
            success = get("ok", True)
        return cls(task=str(task or ""), skill=str(skill or ""), args=dict(args),
                   success=bool(success), at=get("at") or get("created_at") or get("timestamp"), id=get("id"))


def phrasings_within(requested: int, facts: int, max_encode: int) -> int:
    """Question phrasings per fact so that a run encodes about `max_encode` texts at most: a large
    backlog (a first consolidation of 100k memories) gets fewer phrasings, never fewer than one."""
    if requested <= 0 or facts <= 0 or max_encode <= 0:
        return requested
    return max(1, min(requested, max_encode // facts))


def fact_examples(namespace: str, subject: str, predicate: str, value: str, *, fact_id: int | None,
                  phrasings: int = 3, use_stored_vector: bool = True) -> list[Example]:
    """Several question phrasings -> value, plus (optionally) the stored fact vector -> value."""
    key = slot_key(Slot(namespace, subject, predicate))
    out = [Example("fact", key, value, text=q) for q in fact_questions(subject, predicate, count=phrasings)]
    if use_stored_vector and fact_id is not None:
        out.append(Example("fact", key, value, fact_id=fact_id))
    return out


def _stable_bucket(text: str, buckets: int) -> int:
    return zlib.crc32(text.encode()) % buckets


def split_usages(usages: Sequence[UsageRecord], *, holdout_every: int = 4) -> tuple[list[UsageRecord], list[UsageRecord]]:
    """Split successful usages into (train, held-out probes), per skill, by a stable hash of the task
    text; every skill keeps at least one training usage. Failed usages are dropped."""
    by_skill: dict[str, list[UsageRecord]] = {}
    for u in usages:
        if u.success and u.task and u.skill:
            by_skill.setdefault(u.skill, []).append(u)
    train, held = [], []
    for items in by_skill.values():
        probe = [u for u in items if _stable_bucket(u.task, holdout_every) == 0] if holdout_every > 1 else []
        if len(probe) == len(items):
            probe = probe[1:]
        probe_ids = {id(u) for u in probe}
        train += [u for u in items if id(u) not in probe_ids]
        held += probe
    return train, held


def usage_examples(usages: Iterable[UsageRecord]) -> list[Example]:
    return [Example("skill", skill_key(u.skill), u.skill, text=u.task) for u in usages]


def latest_args(usages: Iterable[UsageRecord]) -> dict[str, dict]:
    """The argument mapping of each skill's most recent successful usage (later records win)."""
    out: dict[str, dict] = {}
    for u in usages:
        if u.success and u.skill:
            out[u.skill] = dict(u.args)
    return out
