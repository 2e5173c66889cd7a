"""Every branch of conflict resolution (memory_store/rules.py), with several active values in the slot.

Each case asserts the whole Decision (action, superseded ids, conflict ids, validated id, winner), so a
branch that picks the right action but forgets an id fails here. Pure functions: no store."""
from datetime import UTC, datetime, timedelta

import pytest

from memory_store.errors import InvalidInputError
from memory_store.rules import (
    RULES,
    Assertion,
    Decision,
    PredicatePolicy,
    compare,
    precedence_key,
    resolve,
    same_value,
    source_rank,
)

T0 = datetime(2024, 1, 1, tzinfo=UTC)
LATEST = PredicatePolicy()
CONFIDENCE = PredicatePolicy(rule="confidence")
SOURCE = PredicatePolicy(rule="source", source_priority=("registry", "web"))


def a(id, obj, days=0, conf=1.0, source="user"):
    return Assertion(id, obj, T0 + timedelta(days=days), conf, source)


# -- confidence ------------------------------------------------------------------------------------
def test_confidence_new_value_ties_one_active_and_beats_another():
    active = [a(1, "Alice", conf=0.5), a(2, "Bob", conf=0.7)]
    assert resolve(a(None, "Carol", conf=0.7), active, CONFIDENCE) == \
        Decision("conflict", supersede_ids=(1,), conflict_ids=(2,))


def test_confidence_new_value_beats_every_active_one():
    active = [a(1, "Alice", conf=0.5), a(2, "Bob", days=9, conf=0.6)]  # recency does not matter here
    assert resolve(a(None, "Carol", conf=0.9), active, CONFIDENCE) == Decision("supersede", supersede_ids=(1, 2))


def test_confidence_beaten_by_several_goes_to_history_behind_the_strongest():
    active = [a(1, "Alice", conf=0.9), a(2, "Bob", conf=0.95), a(3, "Dan", conf=0.2)]
    # it beats Dan, but an active value beats it: old news, nothing is superseded
    assert resolve(a(None, "Carol", days=5, conf=0.5), active, CONFIDENCE) == Decision("history", winner_id=2)


def test_confidence_tie_falls_back_to_recency():
    active = [a(1, "Alice", days=0, conf=0.7)]
    assert resolve(a(None, "Bob", days=1, conf=0.7), active, CONFIDENCE) == Decision("supersede", supersede_ids=(1,))
    assert resolve(a(None, "Bob", days=-1, conf=0.7), active, CONFIDENCE) == Decision("history", winner_id=1)
    assert resolve(a(None, "Bob", days=0, conf=0.7), active, CONFIDENCE) == Decision("conflict", conflict_ids=(1,))


def test_confidence_compared_to_nine_decimals():
    # float noise below 1e-9 is a tie (then recency), a real difference is not
    assert resolve(a(None, "Bob", conf=0.3000000001), [a(1, "Alice", conf=0.3)], CONFIDENCE) == \
        Decision("conflict", conflict_ids=(1,))
    assert resolve(a(None, "Bob", conf=0.300000002), [a(1, "Alice", conf=0.3)], CONFIDENCE) == \
        Decision("supersede", supersede_ids=(1,))


# -- source ----------------------------------------------------------------------------------------
def test_source_new_value_ties_one_active_and_beats_another():
    active = [a(1, "Alice", source="web"), a(2, "Bob", source="registry")]
    assert resolve(a(None, "Carol", source="Registry"), active, SOURCE) == \
        Decision("conflict", supersede_ids=(1,), conflict_ids=(2,))


def test_source_new_value_beats_every_active_one():
    active = [a(1, "Alice", days=3, source="web"), a(2, "Bob", days=3, source="gossip")]
    assert resolve(a(None, "Carol", source="registry"), active, SOURCE) == Decision("supersede", supersede_ids=(1, 2))


def test_source_beaten_by_several_goes_to_history_behind_the_most_trusted():
    active = [a(1, "Alice", source="web"), a(2, "Bob", source="registry"), a(3, "Dan", source="gossip")]
    assert resolve(a(None, "Carol", days=5, source="blog"), active, SOURCE) == Decision("history", winner_id=2)


def test_source_tie_falls_back_to_recency_and_confidence_is_ignored():
    active = [a(1, "Alice", days=0, conf=1.0, source="web")]
    assert resolve(a(None, "Bob", days=1, conf=0.1, source="web"), active, SOURCE) == \
        Decision("supersede", supersede_ids=(1,))
    assert resolve(a(None, "Bob", days=-1, conf=1.0, source="web"), active, SOURCE) == Decision("history", winner_id=1)


def test_source_rank_orders_listed_sources_and_puts_unlisted_last():
    priority = ("registry", "web")
    assert [source_rank(s, priority) for s in ("registry", " WEB ", "gossip")] == [2, 1, 0]
    assert source_rank("anything", ()) == 0


# -- latest (the default) -------------------------------------------------------------------------
def test_latest_new_value_supersedes_several_tied_active_ones():
    active = [a(1, "Alice"), a(2, "Bob")]
    assert resolve(a(None, "Carol", days=1, conf=0.1), active, LATEST) == Decision("supersede", supersede_ids=(1, 2))
    assert resolve(a(None, "Carol"), active, LATEST) == Decision("conflict", conflict_ids=(1, 2))
    assert resolve(a(None, "Carol", days=-1), active, LATEST) == Decision("history", winner_id=1)


def test_latest_history_names_the_newest_active_value():
    active = [a(1, "Alice", days=2), a(2, "Bob", days=5), a(3, "Dan", days=-9)]
    assert resolve(a(None, "Carol", days=1, source="registry", conf=1.0), active, LATEST) == \
        Decision("history", winner_id=2)


# -- branches before any comparison --------------------------------------------------------------
def test_the_same_value_validates_whatever_its_rank():
    active = [a(1, "Alice", conf=0.9), a(2, "Bob", conf=0.2)]
    assert resolve(a(None, " bob", days=-30, conf=0.1), active, CONFIDENCE) == Decision("validate", validate_id=2)
    assert same_value("Acme  Corp", "acme corp") and not same_value("acme", "acme corp")


def test_multi_valued_adds_without_comparing_and_empty_slot_inserts():
    multi = PredicatePolicy(functional=False, rule="confidence")
    assert resolve(a(None, "Carol", conf=0.1), [a(1, "Alice", conf=0.9)], multi) == Decision("add")
    assert resolve(a(None, "Carol"), [], multi) == Decision("add")
    assert resolve(a(None, "Carol"), [], LATEST) == Decision("insert")


def test_compare_and_precedence_keys():
    old, newer = a(1, "Alice", days=0, conf=0.9, source="web"), a(2, "Bob", days=1, conf=0.5, source="registry")
    assert (compare(newer, old, LATEST), compare(old, newer, LATEST), compare(old, old, LATEST)) == (1, -1, 0)
    assert (compare(newer, old, CONFIDENCE), compare(old, newer, CONFIDENCE)) == (-1, 1)
    assert (compare(newer, old, SOURCE), compare(old, newer, SOURCE)) == (1, -1)
    assert precedence_key(old, LATEST) == (old.valid_from,)
    assert precedence_key(old, CONFIDENCE) == (0.9, old.valid_from)
    assert precedence_key(old, SOURCE) == (1, old.valid_from)


def test_policy_rules():
    assert RULES == ("latest", "confidence", "source")
    for rule in RULES:
        assert PredicatePolicy(rule=rule).rule == rule
    with pytest.raises(InvalidInputError, match="unknown resolution rule"):
        PredicatePolicy(rule="random")


def test_current_value_is_latest_start_then_confidence_then_newest_row():
    from dataclasses import dataclass

    from memory_store import current_value

    @dataclass
    class Row:
        id: int
        valid_from: datetime
        confidence: float

    later = Row(1, T0 + timedelta(days=1), 0.5)
    assert current_value([Row(2, T0, 0.9), later]) is later  # a later start wins over confidence
    surer = Row(3, T0, 0.9)
    assert current_value([Row(4, T0, 0.8), surer]) is surer  # same start: the more confident one
    newer = Row(6, T0, 0.9)
    assert current_value([newer, Row(5, T0, 0.9)]) is newer  # a full tie: the newest row
    assert current_value([]) is None
