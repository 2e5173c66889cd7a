"""Conflict resolution inside one slot (namespace, subject, predicate). Pure functions, no I/O.

A new assertion is compared with the slot's active facts under the predicate's policy:
- the same value again            -> validate the active fact (no new row);
- multi-valued predicate          -> add beside the others;
- it beats every active value     -> insert it and supersede them (their validity window closes);
- an active value beats it        -> old news: stored as history (superseded at once), never active;
- a tie the rule cannot break     -> keep both active, flagged as a conflict for the audit.

World time: a value whose validity starts after `now` is *scheduled*, not current. It does not retire
the current value; it closes that value's window at its own start (`close_ids`), and the status each row
has at any world time is computed on read (`status_at`), like expiry. A value asserted for now, while a
value is scheduled later, ends where the scheduled one begins (`valid_to`).
"""
from __future__ import annotations

from collections.abc import Iterable
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
    valid_to: datetime | None = None  # where the row's window is already closed (a scheduled successor)


@dataclass(frozen=True)
class Decision:
    action: str  # validate | add | insert | supersede | history | conflict | schedule
    validate_id: int | None = None
    supersede_ids: tuple[int, ...] = ()
    conflict_ids: tuple[int, ...] = ()
    winner_id: int | None = None  # for history: the active fact that beat the new one
    close_ids: tuple[int, ...] = ()  # schedule: rows whose validity window now ends at the new start
    valid_to: datetime | None = None  # the new row's window ends where a scheduled value begins


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


def resolve(new: Assertion, active: list[Assertion], policy: PredicatePolicy,
            now: datetime | None = None) -> Decision:
    """What to do with `new` given the slot's stored-active rows. `now` (world time) tells scheduled
    rows (valid_from > now) from rows in effect; without it every row counts as in effect."""
    start = new.valid_from
    same = [a for a in active if same_value(a.object, new.object) and not _ended_before(a, start, now)]
    if same:
        return Decision("validate", validate_id=same[0].id)
    if not policy.functional:
        return Decision("add")
    if now is None:
        in_effect, scheduled = list(active), []
    else:
        in_effect = [a for a in active if a.valid_from <= now]
        scheduled = [a for a in active if a.valid_from > now]
    if now is not None and start > now:
        return _schedule(new, in_effect + scheduled, policy)
    # A value already in effect (or asserted for the past): scheduled rows keep their own start, and
    # the new value's window ends at the first of them.
    valid_to = min((a.valid_from for a in scheduled if a.valid_from > start), default=None)
    if not in_effect:
        return Decision("insert", valid_to=valid_to)
    outcomes = [(a, compare(new, a, policy)) for a in in_effect]
    beaten_by = [a for a, c in outcomes if c < 0]
    if beaten_by:
        winner = max(beaten_by, key=lambda a: precedence_key(a, policy))
        return Decision("history", winner_id=winner.id)
    tied = tuple(a.id for a, c in outcomes if c == 0)
    beaten = tuple(a.id for a, c in outcomes if c > 0)
    if tied:
        return Decision("conflict", supersede_ids=beaten, conflict_ids=tied, valid_to=valid_to)
    return Decision("supersede", supersede_ids=beaten, valid_to=valid_to)


def _ended_before(row: Assertion, start: datetime, now: datetime | None) -> bool:
    """A same-valued row does not absorb a scheduled assertion that starts after the row's window ends."""
    return now is not None and start > now and row.valid_to is not None and row.valid_to <= start


def _schedule(new: Assertion, rows: list[Assertion], policy: PredicatePolicy) -> Decision:
    """`new` starts in the future. Against the rows whose window is open at its start: beaten by one ->
    old news (history); a tie at the same start -> conflict; otherwise their windows close at its
    start. A row scheduled later still takes over at its own start (the new window ends there)."""
    start = new.valid_from
    open_at = [a for a in rows if a.valid_from <= start and (a.valid_to is None or a.valid_to > start)]
    later = [a for a in rows if a.valid_from > start]
    valid_to = min((a.valid_from for a in later), default=None)
    outcomes = [(a, compare(new, a, policy)) for a in open_at]
    beaten_by = [a for a, c in outcomes if c < 0]
    if beaten_by:
        winner = max(beaten_by, key=lambda a: precedence_key(a, policy))
        return Decision("history", winner_id=winner.id)
    tied = tuple(a.id for a, c in outcomes if c == 0)
    if tied:
        return Decision("conflict", conflict_ids=tied, valid_to=valid_to)
    return Decision("schedule", close_ids=tuple(a.id for a, c in outcomes if c > 0), valid_to=valid_to)


def status_at(status: str, valid_from: datetime, valid_to: datetime | None, expires_at: datetime | None,
              at: datetime) -> str:
    """The status a stored row has at world time `at`. Only stored-active rows change with time: not
    started yet -> scheduled; window closed by a successor -> superseded; past its expiry -> expired."""
    if status != "active":
        return status
    if valid_from > at:
        return "scheduled"
    if valid_to is not None and valid_to <= at:
        return "superseded"
    if expires_at is not None and expires_at <= at:
        return "expired"
    return "active"


def valid_at(status: str, valid_from: datetime, valid_to: datetime | None, expires_at: datetime | None,
             at: datetime) -> bool:
    """Whether a row's validity window contains world time `at` (a retracted row never was valid)."""
    return (status != "retracted" and valid_from <= at and (valid_to is None or valid_to > at)
            and (expires_at is None or expires_at > at))


def current_rank(fact) -> tuple:
    """How the current value of a slot is chosen among its active rows (several only after a conflict or
    for a multi-valued predicate): the latest valid_from, then the highest confidence, then the newest row."""
    return (fact.valid_from, fact.confidence, fact.id)


def current_value(facts: Iterable):
    """The current value of a slot among its active facts (current_rank), None when there are none."""
    return max(facts, key=current_rank, default=None)
