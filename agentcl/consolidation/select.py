"""Choosing what to consolidate: validated active facts the model has not learned yet (or whose value
changed since), slots whose learned value is no longer current, and new successful skill usages."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from memory_store.rules import current_rank

from .examples import UsageRecord
from .keys import Slot


@dataclass
class FactPlan:
    new: list = field(default_factory=list)        # Facts to learn (validated, value not learned yet)
    changed: dict = field(default_factory=dict)    # Slot -> current Fact (None if no active value now)
    current: dict = field(default_factory=dict)    # Slot -> active Fact, for every slot with one
    superseded_values: dict = field(default_factory=dict)  # Slot -> set of superseded values


def is_validated(fact, *, min_validations: int, trusted_sources: Iterable[str]) -> bool:
    return fact.validation_count >= min_validations or fact.source in set(trusted_sources)


def plan_facts(store, *, namespace: str, learned: dict, min_validations: int,
               trusted_sources: Iterable[str]) -> FactPlan:
    """Compare the store with the slots the model learned (`learned`: Slot -> {"value", ...})."""
    plan = FactPlan()
    current: dict[Slot, Any] = {}
    for fact in store.facts(namespace=namespace, status="all"):
        key = Slot.of(fact)
        if fact.status == "active":
            best = current.get(key)
            if best is None or current_rank(fact) > current_rank(best):
                current[key] = fact
        elif fact.status == "superseded":
            plan.superseded_values.setdefault(key, set()).add(fact.object)
    plan.current = current
    for key, info in learned.items():
        now = current.get(key)
        if now is None or now.object != info["value"]:
            plan.changed[key] = now
    for key, fact in current.items():
        if key in plan.changed:
            if fact is not None:
                plan.new.append(fact)  # the new value replaces the old one, validated or not yet
            continue
        if key in learned:
            continue
        if is_validated(fact, min_validations=min_validations, trusted_sources=trusted_sources):
            plan.new.append(fact)
    plan.new.sort(key=lambda f: f.id)
    return plan


def usage_fingerprint(u: UsageRecord) -> str:
    if u.id is not None:
        return f"id:{u.id}"
    return f"{u.skill}|{u.task}|{sorted(u.args.items())!r}|{u.at}"


def registry_usages(registry, *, namespace: str = "default") -> tuple[list[UsageRecord], set[str]]:
    """(successful usages of usable skills, names of retired skills) from a `skills.SkillRegistry`:
    each call that succeeded with a task is stored there as a usage example. Deprecated or disabled
    skills are retired: their examples leave the replay buffer and the model stops proposing them.
    Other registry-like objects may expose `usages(namespace=...)` instead; None gives nothing."""
    if registry is None:
        return [], set()
    if callable(getattr(registry, "usages", None)):
        try:
            rows = registry.usages(namespace=namespace)
        except TypeError:
            rows = registry.usages()
        return [r for r in map(UsageRecord.coerce, rows) if r.success and r.task and r.skill], set()
    usages, retired = [], set()
    for info in registry.list():
        if info.deprecated or not info.enabled:
            retired.add(info.name)
            continue
        if info.status != "active":  # an unverified candidate (composite) is not a skill yet
            continue
        for ex in registry.examples(info.name, namespace=namespace):
            usages.append(UsageRecord(task=ex.task, skill=info.name, args=dict(ex.args or {}),
                                      at=ex.created_at, id=None))
    usages.sort(key=lambda u: (u.at is None, u.at))
    return [u for u in usages if u.task], retired


@dataclass
class Selection:
    """The select stage's result, shared by both backends."""
    plan: FactPlan
    usages: list = field(default_factory=list)        # new successful usages (not seen by the active model)
    fingerprints: list = field(default_factory=list)  # their fingerprints, to record once learned
    retired: set = field(default_factory=set)         # skills the registry marks deprecated or disabled


def select_stage(store, registry, *, namespace: str, learned: dict, seen: Iterable[str], extra_usages=(),
                 min_validations: int, trusted_sources: Iterable[str]) -> Selection:
    """Validated facts to learn (and learned slots that changed), plus new successful usages from
    `extra_usages` and the registry."""
    plan = plan_facts(store, namespace=namespace, learned=learned, min_validations=min_validations,
                      trusted_sources=trusted_sources)
    from_registry, retired = registry_usages(registry, namespace=namespace)
    seen = set(seen)
    out = Selection(plan, retired=set(retired))
    for u in list(extra_usages) + from_registry:
        fp = usage_fingerprint(u)
        if u.success and u.task and u.skill and fp not in seen:
            seen.add(fp)
            out.usages.append(u)
            out.fingerprints.append(fp)
    return out
