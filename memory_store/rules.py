"""Conflict resolution inside one slot (namespace, subject, predicate). Pure functions, no I/O.

A new assertion is compared with the slot's active facts under the predicate's policy:
- the same value again            -> validate the active fact (no new row);
- multi-valued predicate          -> add beside the others;
- it beats every active value     -> insert it and supersede them (their validity window closes);
- an active value beats it        -> old news: stored as history (superseded at once), never active;
- a tie the rule cannot break     -> keep both active, flagged as a conflict for the audit.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from .errors import InvalidInputError
from .normalize import normalize_name

RULES = ("latest", "confidence", "source")


@dataclass(frozen=True)
class PredicatePolicy:
    functional: bool = True
    ttl: timedelta | None = None
    rule: str = "latest"
    source_priority: tuple[str, ...] = ()  # first = most trusted

    def __post_init__(self):
        if self.rule not in RULES:
            raise InvalidInputError(f"unknown resolution rule {self.rule!r}; use one of {', '.join(RULES)}")


@dataclass(frozen=True)
class Assertion:
    """The minimal view of a fact the rules need."""

    id: int | None
    object: str
    valid_from: datetime
    confidence: float
    source: str


@dataclass(frozen=True)
class Decision:
    action: str  # validate | add | insert | supersede | history | conflict
    validate_id: int | None = None
    supersede_ids: tuple[int, ...] = ()
    conflict_ids: tuple[int, ...] = ()
    winner_id: int | None = None  # for history: the active fact that beat the new one


def same_value(a: str, b: str) -> bool:
    return normalize_name(a) == normalize_name(b)


def source_rank(source: str, priority: tuple[str, ...]) -> int:
    """Higher is more trusted; sources not listed rank below every listed one."""
    normalized = [normalize_name(s) for s in priority]
    name = normalize_name(source)
    return len(normalized) - normalized.index(name) if name in normalized else 0


def precedence_key(fact: Assertion, policy: PredicatePolicy) -> tuple:
    """What the rule compares. Each rule falls back to recency, so only true ties are ties."""
    if policy.rule == "confidence":
        return (round(fact.confidence, 9), fact.valid_from)
    if policy.rule == "source":
        return (source_rank(fact.source, policy.source_priority), fact.valid_from)
    return (fact.valid_from,)


def compare(new: Assertion, old: Assertion, policy: PredicatePolicy) -> int:
    """1 if `new` takes precedence over `old`, -1 if `old` does, 0 for a tie."""
    a, b = precedence_key(new, policy), precedence_key(old, policy)
    return (a > b) - (a < b)


def resolve(new: Assertion, active: list[Assertion], policy: PredicatePolicy) -> Decision:
    same = [a for a in active if same_value(a.object, new.object)]
    if same:
        return Decision("validate", validate_id=same[0].id)
    if not policy.functional:
        return Decision("add")
    if not active:
        return Decision("insert")
    outcomes = [(a, compare(new, a, policy)) for a in active]
    beaten_by = [a for a, c in outcomes if c < 0]
    if beaten_by:
        winner = max(beaten_by, key=lambda a: precedence_key(a, policy))
        return Decision("history", winner_id=winner.id)
    tied = tuple(a.id for a, c in outcomes if c == 0)
    beaten = tuple(a.id for a, c in outcomes if c > 0)
    if tied:
        return Decision("conflict", supersede_ids=beaten, conflict_ids=tied)
    return Decision("supersede", supersede_ids=beaten)


def expiry_from_ttl(valid_from: datetime, ttl: timedelta | None) -> datetime | None:
    return valid_from + ttl if ttl else None
