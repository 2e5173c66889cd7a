"""Volatility learned from history: for a remembered value, the probability that it changed since it was
last validated. Pure functions over the value spans the store recorded (no database, no clock).

Two models, chosen by what the history shows:

- **periodic** (a rotation, a weekly on-call): the values that ended lasted about the same time (at least
  two lifetimes, spread under `PERIODIC_CV`). With period T and an unknown phase, a value checked `age`
  ago has changed with probability min(1, age / T). A value whose end is known (`expires_at`) is certain
  until then and gone after.
- **memoryless** otherwise: changes arrive at a rate estimated from the spans, P = 1 - exp(-rate * age).
  Three levels, each pooled with the one above (empirical Bayes): the namespace's own change rate (every
  superseded value over the exposure of every value, outside slots with a natural lifetime, with a weak
  prior of one change per `prior_interval`), a predicate's rate (a Gamma prior of `PREDICATE_PRIOR_WEIGHT`
  changes at the namespace's rate), a slot's rate (`SLOT_PRIOR_WEIGHT` changes at its predicate's). So a
  predicate with little history borrows the rate this namespace's world actually shows rather than a fixed
  guess, a slot borrows from its predicate, and a predicate never seen changing over a long exposure becomes
  nearly stable.

Exposure is the time a value is known to have held (`Span.exposure`): to its last check while it is open
(a check that found it unchanged is the evidence; time nobody looked is none), to its end when it expired,
and half-way from its last check to its supersede. A span ends in a change when it was superseded or
expired."""
from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from datetime import datetime, timedelta

PERIODIC_CV = 0.25  # coefficient of variation of lifetimes under which a slot is treated as a rotation
SLOT_PRIOR_WEIGHT = 2.0  # changes-worth of the predicate's rate in a slot's estimate
PREDICATE_PRIOR_WEIGHT = 1.0  # changes-worth of the namespace's rate in a predicate's estimate
DEFAULT_PRIOR_INTERVAL = timedelta(days=60)  # namespace prior: one change per this long, weight of one change
ENDED = ("superseded", "expired")


@dataclass(frozen=True)
class Span:
    """One remembered value of a slot and how long it held: [start, end), `how` it ended (superseded,
    expired) or None while open."""
    subject: str
    predicate: str
    start: datetime
    end: datetime | None = None
    how: str | None = None
    checked: datetime | None = None  # when the value was last known true (None: unknown, taken as `end` or now)

    def length(self, now: datetime) -> float:
        return max(((self.end or now) - self.start).total_seconds(), 0.0)

    def exposure(self, now: datetime) -> float:
        """Seconds the value is known to have held, as evidence for a change rate: up to its last check while
        it is open (after that nothing was observed), up to its end when it expired (a known end), and up to
        half-way between its last check and its supersede (the change happened somewhere in between)."""
        if self.checked is None:
            return self.length(now)
        checked = min(max(self.checked, self.start), self.end or now)
        known = (checked - self.start).total_seconds()
        if self.how == "superseded" and self.end is not None:
            return known + (self.end - checked).total_seconds() / 2
        if self.how == "expired":
            return self.length(now)
        return known

    @property
    def changed(self) -> bool:
        return self.how in ENDED and self.end is not None


@dataclass(frozen=True)
class Volatility:
    p_changed: float  # probability that the value changed since it was last validated
    model: str  # periodic | memoryless | expiry
    rate_per_day: float | None = None  # memoryless: changes per day
    period_days: float | None = None  # periodic: typical lifetime
    slot_changes: int = 0  # history behind the estimate
    predicate_changes: int = 0

    def to_dict(self) -> dict:
        return {"p_changed": round(self.p_changed, 4), "model": self.model,
                "rate_per_day": None if self.rate_per_day is None else round(self.rate_per_day, 5),
                "period_days": None if self.period_days is None else round(self.period_days, 3),
                "slot_changes": self.slot_changes, "predicate_changes": self.predicate_changes}


def _key(text: str) -> str:
    return " ".join(text.casefold().split())


def period_of(spans: list[Span]) -> float | None:
    """Typical lifetime in seconds when ended values lasted about the same time (>= 2 of them), else None."""
    lengths = [(s.end - s.start).total_seconds() for s in spans if s.changed]
    lengths = [x for x in lengths if x > 0]
    if len(lengths) < 2:
        return None
    mean = statistics.fmean(lengths)
    return statistics.median(lengths) if statistics.pstdev(lengths) <= PERIODIC_CV * mean else None


def change_rate(spans: list[Span], now: datetime, *, prior_rate: float, prior_weight: float) -> float:
    """Changes per second: (changes + prior_weight) / (exposure + prior_weight / prior_rate)."""
    changes = sum(1 for s in spans if s.changed)
    exposure = sum(s.exposure(now) for s in spans)
    return (changes + prior_weight) / (exposure + prior_weight / prior_rate)


def namespace_rate(spans: list[Span], now: datetime, *, prior_interval: timedelta = DEFAULT_PRIOR_INTERVAL) -> float:
    """Changes per second over the whole history given (one namespace): superseded values over the exposure
    of every value, leaving out predicates whose values expire (rotations, known lifetimes: their ends are
    not evidence of how often other values change), pooled with one change per `prior_interval`."""
    lifetimes = {_key(s.predicate) for s in spans if s.how == "expired"}
    pool = [s for s in spans if _key(s.predicate) not in lifetimes]
    return change_rate(pool, now, prior_rate=1.0 / max(prior_interval.total_seconds(), 1.0), prior_weight=1.0)


def stale_probability(spans: list[Span], *, subject: str, predicate: str, validated_at: datetime, now: datetime,
                      expires_at: datetime | None = None,
                      prior_interval: timedelta = DEFAULT_PRIOR_INTERVAL) -> Volatility:
    """P(the slot's value changed since `validated_at`), from the history `spans` of one namespace (all its
    slots: the slot's own, its predicate's and the namespace's rate are picked out). `expires_at`: the
    value's known end, if any."""
    if expires_at is not None:
        return Volatility(1.0 if now >= expires_at else 0.0, "expiry")
    age = max((now - validated_at).total_seconds(), 0.0)
    pred = [s for s in spans if _key(s.predicate) == _key(predicate)]
    slot = [s for s in pred if _key(s.subject) == _key(subject)]
    slot_changes = sum(1 for s in slot if s.changed)
    pred_changes = sum(1 for s in pred if s.changed)
    period = period_of(slot) or (period_of(pred) if slot_changes < 2 else None)
    if period is not None:
        return Volatility(min(1.0, age / period), "periodic", period_days=period / 86400,
                          slot_changes=slot_changes, predicate_changes=pred_changes)
    ns_rate = namespace_rate(spans, now, prior_interval=prior_interval)
    pred_rate = change_rate(pred, now, prior_rate=ns_rate, prior_weight=PREDICATE_PRIOR_WEIGHT)
    rate = change_rate(slot, now, prior_rate=pred_rate, prior_weight=SLOT_PRIOR_WEIGHT)
    return Volatility(1.0 - math.exp(-rate * age), "memoryless", rate_per_day=rate * 86400,
                      slot_changes=slot_changes, predicate_changes=pred_changes)


def should_verify(p_changed: float, *, stale_cost: float, lookup_cost: float) -> bool:
    """Verify (look the value up) when the expected cost of answering stale exceeds the lookup's cost."""
    return p_changed * stale_cost > lookup_cost


def ranked_by_risk(items: list[tuple[object, Volatility]]) -> list[tuple[object, Volatility]]:
    """Items with their volatility, riskiest first (ties: the order given)."""
    return sorted(items, key=lambda item: -item[1].p_changed)
