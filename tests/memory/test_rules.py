"""Pure rule functions: conflict resolution, time parsing, normalisation, audit rules."""
from datetime import UTC, datetime, timedelta

import pytest

from memory_store.audit import at_risk, change_intervals, conflicts
from memory_store.errors import InvalidInputError
from memory_store.normalize import clean_confidence, normalize_name
from memory_store.record_types import Fact
from memory_store.rules import Assertion, PredicatePolicy, resolve, source_rank
from memory_store.timeparse import parse_duration, parse_time

T0 = datetime(2024, 1, 1, tzinfo=UTC)


def a(id, obj, days=0, conf=1.0, source="user"):
    return Assertion(id, obj, T0 + timedelta(days=days), conf, source)


def test_same_value_validates_instead_of_adding():
    d = resolve(a(None, "ALICE "), [a(1, "alice")], PredicatePolicy())
    assert d.action == "validate" and d.validate_id == 1


def test_latest_valid_from_wins_and_old_news_goes_to_history():
    assert resolve(a(None, "Bob", 10), [a(1, "Alice", 0)], PredicatePolicy()).action == "supersede"
    d = resolve(a(None, "Carol", -10), [a(1, "Alice", 0)], PredicatePolicy())
    assert d.action == "history" and d.winner_id == 1


def test_tie_keeps_both_as_conflict():
    d = resolve(a(None, "Bob", 0), [a(1, "Alice", 0)], PredicatePolicy())
    assert d.action == "conflict" and d.conflict_ids == (1,) and d.supersede_ids == ()


def test_confidence_rule():
    policy = PredicatePolicy(rule="confidence")
    assert resolve(a(None, "Bob", -5, conf=0.9), [a(1, "Alice", 0, conf=0.5)], policy).action == "supersede"
    assert resolve(a(None, "Bob", 5, conf=0.4), [a(1, "Alice", 0, conf=0.5)], policy).action == "history"


def test_source_priority_rule():
    policy = PredicatePolicy(rule="source", source_priority=("registry", "web"))
    assert source_rank("Registry", policy.source_priority) == 2
    assert resolve(a(None, "Bob", -5, source="registry"), [a(1, "Alice", 0, source="web")], policy).action == "supersede"
    assert resolve(a(None, "Bob", 5, source="gossip"), [a(1, "Alice", 0, source="web")], policy).action == "history"


def test_multi_valued_adds():
    policy = PredicatePolicy(functional=False)
    assert resolve(a(None, "tennis"), [a(1, "chess")], policy).action == "add"
    assert resolve(a(None, "Chess"), [a(1, "chess")], policy).action == "validate"


def test_unknown_rule_rejected():
    with pytest.raises(InvalidInputError):
        PredicatePolicy(rule="random")


@pytest.mark.parametrize("text,seconds", [("90s", 90), ("15m", 900), ("2h", 7200), ("7d", 604800), ("1w", 604800)])
def test_durations(text, seconds):
    assert parse_duration(text).total_seconds() == seconds


@pytest.mark.parametrize("bad", ["", "7", "7 days", "-1d", "0s", "1e9999d", "nan", "99999999w"])
def test_bad_durations(bad):
    with pytest.raises(InvalidInputError):
        parse_duration(bad)


def test_times():
    assert parse_time("2024-05-01") == datetime(2024, 5, 1, tzinfo=UTC)
    assert parse_time("2024-05-01T12:00:00+02:00").hour == 10
    for bad in ("yesterday", "2024-13-01", ""):
        with pytest.raises(InvalidInputError):
            parse_time(bad)


def test_normalisation_and_confidence():
    assert normalize_name("  Acme \t Corp ") == "acme corp"
    for bad in (-0.1, 1.5, float("nan"), "x", None):
        with pytest.raises(InvalidInputError):
            clean_confidence(bad)


def _fact(id, obj, status="active", start=0, end=None, validated=None, predicate="on_call"):
    return Fact(id=id, namespace="n", subject="team", predicate=predicate, object=obj, status=status,
                valid_from=T0 + timedelta(days=start), valid_to=T0 + timedelta(days=end) if end is not None else None,
                recorded_at=T0 + timedelta(days=start), retired_at=None, expires_at=None, confidence=1.0,
                source="user", validation_count=0, last_validated_at=validated, supersedes_id=None,
                superseded_by_id=None, in_conflict=False, version=1, created_version=1)


def test_at_risk_uses_learned_change_interval():
    history = [_fact(1, "a", "superseded", 0, 7), _fact(2, "b", "superseded", 7, 14), _fact(3, "c", "active", 14)]
    intervals = change_intervals(history)
    assert intervals["on_call"] == timedelta(days=7)
    assert at_risk([history[2]], intervals, T0 + timedelta(days=20)) == []
    risky = at_risk([history[2]], intervals, T0 + timedelta(days=22))
    assert [r["id"] for r in risky] == [3]


def test_conflicts_only_for_functional_predicates():
    facts = [_fact(1, "a"), _fact(2, "b")]
    assert len(conflicts(facts, {})) == 1
    assert conflicts(facts, {"on_call": False}) == []


# -- world time: scheduled values (issue 16) -------------------------------------------------------
NOW = T0 + timedelta(days=100)


def test_future_value_is_scheduled_and_closes_the_current_window_at_its_start():
    d = resolve(a(None, "Bob", 200), [a(1, "Alice", 0)], PredicatePolicy(), now=NOW)
    assert d.action == "schedule" and d.close_ids == (1,) and d.supersede_ids == () and d.valid_to is None


def test_value_for_now_ends_where_a_scheduled_value_begins():
    alice = Assertion(1, "Alice", T0, 1.0, "user", valid_to=T0 + timedelta(days=200))
    bob = a(2, "Bob", 200)
    d = resolve(a(None, "Carol", 100), [alice, bob], PredicatePolicy(), now=NOW)
    assert d.action == "supersede" and d.supersede_ids == (1,) and d.valid_to == T0 + timedelta(days=200)


def test_without_now_every_row_counts_as_in_effect():
    assert resolve(a(None, "Bob", 200), [a(1, "Alice", 0)], PredicatePolicy()).action == "supersede"


def test_scheduled_value_between_two_others_gets_both_edges():
    alice = Assertion(1, "Alice", T0, 1.0, "user", valid_to=T0 + timedelta(days=300))
    d = resolve(a(None, "Bob", 200), [alice, a(2, "Dan", 300)], PredicatePolicy(), now=NOW)
    assert d.action == "schedule" and d.close_ids == (1,) and d.valid_to == T0 + timedelta(days=300)


def test_scheduled_same_value_after_its_window_closed_is_a_new_row():
    alice = Assertion(1, "Alice", T0, 1.0, "user", valid_to=T0 + timedelta(days=200))
    bob = a(2, "Bob", 200)
    assert resolve(a(None, "alice", 300), [alice, bob], PredicatePolicy(), now=NOW).action == "schedule"
    assert resolve(a(None, "alice", 150), [alice, bob], PredicatePolicy(), now=NOW).action == "validate"


def test_scheduled_tie_is_a_conflict_and_a_beaten_scheduled_value_is_history():
    d = resolve(a(None, "Eve", 200), [a(1, "Alice", 0), a(2, "Bob", 200)], PredicatePolicy(), now=NOW)
    assert d.action == "conflict" and d.conflict_ids == (2,)
    policy = PredicatePolicy(rule="confidence")
    d = resolve(a(None, "Bob", 200, conf=0.2), [a(1, "Alice", 0, conf=0.9)], policy, now=NOW)
    assert d.action == "history" and d.winner_id == 1


def test_status_at_follows_world_time():
    from memory_store.rules import status_at, valid_at

    start, end = T0, T0 + timedelta(days=10)
    assert status_at("active", start, end, None, T0 - timedelta(days=1)) == "scheduled"
    assert status_at("active", start, end, None, T0 + timedelta(days=5)) == "active"
    assert status_at("active", start, end, None, end) == "superseded"
    assert status_at("active", start, None, end, end) == "expired"
    assert status_at("retracted", start, None, None, T0) == "retracted"
    assert valid_at("superseded", start, end, None, T0 + timedelta(days=5))
    assert not valid_at("superseded", start, end, None, end)
    assert not valid_at("retracted", start, None, None, T0)
