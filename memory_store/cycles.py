"""Cycles in a slot's history: values that repeat in a fixed order with a regular period (a rotation, a
weekly on-call), detected from the values whose end is known, and the current value predicted from the
cycle and the elapsed time. Pure functions (no database, no clock).

A cycle is believed only on evidence: its length L is the smallest that explains every observed value
(each index k = round((end - anchor) / period) holds the value of k mod L), and it must have been seen
to repeat. How far to believe it is a likelihood ratio against "the slot just draws one of its L values":
each observation that a cycle of length L already fixed (one past the first sighting of its residue)
matched with probability 1 - `SLIP` under the cycle and 1/L by chance; each of the slot's predictions that
came out wrong (`misses`, from the caller's record) matched with probability `SLIP` against 1 - 1/L (a right
one is learnt, so it is an observation). The prior odds come from how the namespace's cycle predictions
have come out so far (`prior_odds`: even before any, empirical Bayes after), P(cycle) = odds / (1 + odds),
and the prediction is right with P(cycle) * (1 - SLIP) + (1 - P(cycle)) / L.

Values that change and later change back, at irregular times, are no cycle: their ends do not fall on a
regular period, so nothing is predicted and the slot's change rate (volatility.py) covers them."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

SLIP = 0.05  # chance a real cycle still breaks at a given step (someone swaps a shift, the rotation is changed)
PERIOD_TOLERANCE = 0.1  # an end may sit this share of a period off the grid and still count
MAX_LENGTH = 12  # longest cycle looked for


@dataclass(frozen=True)
class Cycle:
    values: tuple[str, ...]  # value of index k is values[k % len(values)]
    period: timedelta
    anchor: datetime  # the end of the value of index 0
    confirmations: int  # observations the cycle had already fixed, that matched

    def index_at(self, now: datetime) -> int:
        """Index of the value holding at `now`: the first whose end is after `now`."""
        return int((now - self.anchor) // self.period) + 1

    def end_of(self, index: int) -> datetime:
        return self.anchor + index * self.period


@dataclass(frozen=True)
class Prediction:
    value: str
    valid_until: datetime  # when the predicted value ends
    p_right: float  # probability the prediction is the current value

    def to_dict(self) -> dict:
        return {"value": self.value, "valid_until": self.valid_until.isoformat(), "p_right": round(self.p_right, 4)}


def _key(text: str) -> str:
    return " ".join(text.casefold().split())


def grid_period(ends: list[datetime], *, tolerance: float = PERIOD_TOLERANCE) -> timedelta | None:
    """The period of a regular grid the ends fall on (the smallest gap between distinct ends, every gap a
    whole multiple of it within `tolerance`), None when they do not or there are fewer than two."""
    times = sorted(set(ends))
    gaps = [(b - a).total_seconds() for a, b in zip(times, times[1:])]
    if not gaps:
        return None
    period = min(gaps)
    if period <= 0 or any(abs(g / period - round(g / period)) > tolerance for g in gaps):
        return None
    return timedelta(seconds=period)


def detect_cycle(observed: list[tuple[datetime, str]], *, tolerance: float = PERIOD_TOLERANCE,
                 max_length: int = MAX_LENGTH) -> Cycle | None:
    """The cycle behind `observed` (the end of each value and the value), None when the ends are not on a
    regular grid, no cycle up to `max_length` explains every value, or none has been seen to repeat."""
    period = grid_period([end for end, _ in observed], tolerance=tolerance)
    if period is None:
        return None
    anchor = min(end for end, _ in observed)
    by_index: dict[int, str] = {}
    for end, value in observed:
        k = round((end - anchor) / period)
        if by_index.setdefault(k, value) != value and _key(by_index[k]) != _key(value):
            return None  # two values for one index: not a grid of single values
    distinct = len({_key(v) for v in by_index.values()})
    if distinct < 2:
        return None  # one value, however regular its renewals, is no rotation
    for length in range(max(distinct, 2), min(max_length, len(by_index) - 1) + 1):
        residue: dict[int, str] = {}
        if all(_key(residue.setdefault(k % length, v)) == _key(v) for k, v in sorted(by_index.items())):
            if len(residue) < length:
                continue  # a residue never seen: its value would be a guess
            return Cycle(tuple(residue[i] for i in range(length)), period, anchor,
                         confirmations=len(by_index) - length)
    return None


def p_cycle_right(cycle: Cycle, *, misses: int = 0, prior_odds: float = 1.0, slip: float = SLIP) -> float:
    """Probability that the cycle's prediction is right, from its confirmations, the caller's record of its
    wrong predictions (`misses`) and the prior odds of a cycle against a slot drawing its values at random."""
    chance = 1.0 / len(cycle.values)
    odds = prior_odds * ((1 - slip) / chance) ** cycle.confirmations * (slip / (1 - chance)) ** misses
    belief = odds / (1 + odds)
    return belief * (1 - slip) + (1 - belief) * chance


def prior_odds(hits: int, misses: int) -> float:
    """Prior odds that a slot's cycle holds, from how the predictions of every cycle of the namespace came
    out (`hits` right, `misses` wrong), Laplace-smoothed: even odds before any."""
    return (hits + 1) / (misses + 1)


def predict(observed: list[tuple[datetime, str]], now: datetime, *, misses: int = 0,
            odds: float = 1.0) -> Prediction | None:
    """The value holding at `now` by the cycle in `observed`, with the probability it is right; None when
    no cycle is believed or `now` is before the first end seen."""
    cycle = detect_cycle(observed)
    if cycle is None or now < cycle.anchor:
        return None
    k = cycle.index_at(now)
    return Prediction(cycle.values[k % len(cycle.values)], cycle.end_of(k),
                      p_cycle_right(cycle, misses=misses, prior_odds=odds))
