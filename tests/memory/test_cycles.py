"""Cycles in a slot's history (memory_store/cycles.py): detection, prediction, and how far to believe it."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from memory_store.cycles import SLIP, detect_cycle, grid_period, p_cycle_right, predict, prior_odds

T0 = datetime(2026, 1, 1, tzinfo=UTC)
DAY = timedelta(days=1)
PEOPLE = ("Ana", "Ben", "Chloe")


def _seen(indexes, *, period_days=5, people=PEOPLE):
    """The rotation's values seen at the given indexes: (end of the value, the value)."""
    return [(T0 + k * period_days * DAY, people[k % len(people)]) for k in indexes]


def test_a_rotation_seen_to_repeat_is_a_cycle():
    cycle = detect_cycle(_seen([0, 1, 2, 3]))
    assert cycle is not None
    assert cycle.values == PEOPLE and cycle.period == 5 * DAY and cycle.anchor == T0
    assert cycle.confirmations == 1  # index 3 was fixed by index 0 and matched


def test_no_cycle_before_a_repeat_nor_from_one_value():
    assert detect_cycle(_seen([0, 1, 2])) is None  # three values, none repeated: length 3 is a guess
    assert detect_cycle(_seen([0])) is None
    assert detect_cycle([(T0, "Ana"), (T0 + 5 * DAY, "Ana"), (T0 + 10 * DAY, "Ana")]) is None  # never changes


def test_gaps_in_what_was_seen_are_fine_when_the_ends_sit_on_the_grid():
    cycle = detect_cycle(_seen([0, 2, 4, 5, 7]))
    assert cycle is not None and cycle.values == PEOPLE and cycle.period == 5 * DAY


def test_values_out_of_order_or_ends_off_the_grid_are_no_cycle():
    order = ["Ana", "Ben", "Chloe", "Ben", "Ana", "Chloe"]  # no fixed order of length <= 5 explains it
    assert detect_cycle([(T0 + k * 5 * DAY, v) for k, v in enumerate(order)]) is None
    irregular = [(T0, "Ana"), (T0 + 5 * DAY, "Ben"), (T0 + 12 * DAY, "Ana"), (T0 + 14 * DAY, "Ben")]
    assert grid_period([e for e, _ in irregular]) is None
    assert detect_cycle(irregular) is None


def test_a_change_back_at_irregular_times_is_not_a_cycle():
    """A value that changes and later changes back (A, B, A at days 0, 9, 40) is left to the change rate."""
    assert detect_cycle([(T0, "HQ Oslo"), (T0 + 9 * DAY, "HQ Lyon"), (T0 + 40 * DAY, "HQ Oslo")]) is None


def test_a_longer_cycle_with_a_repeated_value():
    order = ("Ana", "Ben", "Ana", "Chloe")  # Ana twice a round: length 4, three distinct values
    cycle = detect_cycle([(T0 + k * DAY, order[k % 4]) for k in range(6)])
    assert cycle is not None and cycle.values == order


def test_prediction_is_the_value_holding_now_and_its_end():
    seen = _seen([0, 1, 2, 3])  # ends on days 0, 5, 10, 15
    p = predict(seen, T0 + 16 * DAY)  # the value ending on day 20: index 4
    assert p.value == PEOPLE[4 % 3] and p.valid_until == T0 + 20 * DAY
    assert predict(seen, T0 + 20 * DAY).value == PEOPLE[5 % 3]  # an end belongs to the next value
    assert predict(seen, T0 + 47 * DAY).value == PEOPLE[10 % 3]  # far ahead: elapsed time, not the count seen
    assert predict(seen, T0 - DAY) is None  # before anything was seen
    assert predict(_seen([0, 1, 2]), T0 + 16 * DAY) is None


def test_more_confirmations_more_belief_and_misses_undo_it():
    one, three = detect_cycle(_seen(range(4))), detect_cycle(_seen(range(6)))
    assert p_cycle_right(one) < p_cycle_right(three) < 1 - SLIP
    assert p_cycle_right(three, misses=1) < p_cycle_right(three)
    assert p_cycle_right(three, misses=3) < 0.5
    # the chance level is the floor: a cycle with no belief left predicts like a random pick of its values
    assert p_cycle_right(one, misses=20) == pytest.approx(1 / 3, abs=1e-3)


def test_a_namespace_whose_cycles_held_lends_belief_to_a_new_one():
    cycle = detect_cycle(_seen(range(4)))
    assert prior_odds(0, 0) == 1.0
    assert p_cycle_right(cycle, prior_odds=prior_odds(4, 0)) > p_cycle_right(cycle) > \
        p_cycle_right(cycle, prior_odds=prior_odds(0, 4))
    assert predict(_seen(range(4)), T0 + 16 * DAY, odds=prior_odds(4, 0)).p_right > \
        predict(_seen(range(4)), T0 + 16 * DAY).p_right


def test_the_same_value_twice_at_one_index_is_fine_two_values_are_not():
    seen = _seen([0, 1, 2, 3]) + [(T0 + 5 * DAY, " ben ")]  # learnt twice (a lookup, a confirmed prediction)
    assert detect_cycle(seen) is not None
    assert detect_cycle(_seen([0, 1, 2, 3]) + [(T0 + 5 * DAY, "Dana")]) is None
