"""Volatility learned from history: the pure estimate, and the store reads + audit that feed and show it."""
from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest

from memory_store.volatility import (
    DEFAULT_PRIOR_INTERVAL,
    Span,
    namespace_rate,
    period_of,
    ranked_by_risk,
    should_verify,
    stale_probability,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)
DAY = timedelta(days=1)


def _chain(subject, predicate, lifetimes_days, *, how="superseded", start=T0):
    """Consecutive spans of one slot lasting the given days, the last one left open."""
    spans, t = [], start
    for d in lifetimes_days:
        spans.append(Span(subject, predicate, t, t + d * DAY, how))
        t += d * DAY
    spans.append(Span(subject, predicate, t))
    return spans, t


def test_no_history_uses_the_global_prior_and_grows_with_age():
    now = T0 + 10 * DAY
    fresh = stale_probability([], subject="Acme", predicate="ceo", validated_at=now, now=now)
    old = stale_probability([], subject="Acme", predicate="ceo", validated_at=T0, now=now)
    assert fresh.p_changed == 0.0
    rate = 1 / DEFAULT_PRIOR_INTERVAL.total_seconds()
    assert old.p_changed == pytest.approx(1 - math.exp(-rate * 10 * 86400))
    assert old.model == "memoryless"


def test_a_volatile_predicate_is_riskier_than_a_stable_one_with_the_same_age():
    volatile, end_v = _chain("Acme", "on duty", [4, 6, 5, 3, 7])
    stable = [Span("Acme", "headquarters", T0)]  # 25 days, never changed
    now = T0 + 25 * DAY
    spans = volatile + stable
    p_vol = stale_probability(spans, subject="Acme", predicate="on duty", validated_at=now - 3 * DAY, now=now)
    p_stable = stale_probability(spans, subject="Acme", predicate="headquarters", validated_at=now - 3 * DAY, now=now)
    # the stable predicate borrows this fast namespace's rate a little (25 days of its own exposure is short)
    assert p_vol.p_changed > 0.3 > 0.06 > p_stable.p_changed
    assert p_vol.p_changed > 5 * p_stable.p_changed
    assert p_vol.slot_changes == 5 and p_stable.slot_changes == 0


def test_a_slot_without_history_borrows_its_predicates_rate():
    other, _ = _chain("Globex", "ceo", [5, 5, 7, 4])
    now = T0 + 30 * DAY
    spans = other + [Span("Acme", "ceo", now - 2 * DAY)]
    borrowed = stale_probability(spans, subject="Acme", predicate="ceo", validated_at=now - 2 * DAY, now=now)
    alone = stale_probability([Span("Acme", "ceo", now - 2 * DAY)], subject="Acme", predicate="ceo",
                              validated_at=now - 2 * DAY, now=now)
    assert borrowed.p_changed > 2 * alone.p_changed
    assert borrowed.predicate_changes == 4 and borrowed.slot_changes == 0


def test_a_new_predicate_borrows_the_namespaces_own_change_rate_not_a_fixed_prior():
    now = T0 + 300 * DAY
    # a slow world: 20 values over 300 days, 2 changes seen (one per ~3000 days of exposure)
    slow = [Span(f"org{i}", "cfo", T0) for i in range(18)] + _chain("org18", "cfo", [150, 100])[0]
    # a fast one: the same exposure, 30 changes
    fast = [Span(f"org{i}", "cfo", T0) for i in range(10)]
    for i in range(10, 20):
        fast += _chain(f"org{i}", "cfo", [100, 100, 50])[0]
    kw = {"subject": "Acme", "predicate": "ceo", "validated_at": now - 30 * DAY, "now": now}
    p_slow, p_fast = stale_probability(slow, **kw).p_changed, stale_probability(fast, **kw).p_changed
    p_prior = 1 - math.exp(-30 / DEFAULT_PRIOR_INTERVAL.days)  # the fixed prior alone (no history at all)
    assert p_slow < 0.05 < p_prior
    assert p_fast > 3 * p_slow
    assert namespace_rate(slow, now) < 1 / (1000 * 86400)


def test_values_with_a_lifetime_are_left_out_of_the_namespace_rate():
    now = T0 + 200 * DAY
    stable = [Span(f"org{i}", "cfo", T0) for i in range(10)]
    rotation, _ = _chain("payments team", "on-call", [7] * 25, how="expired")
    assert namespace_rate(stable + rotation, now) == pytest.approx(namespace_rate(stable, now))


def test_exposure_counts_only_time_a_value_was_known_to_hold():
    now = T0 + 30 * DAY
    checked = T0 + 10 * DAY
    assert Span("a", "ceo", T0, checked=checked).exposure(now) == 10 * 86400  # unobserved since day 10
    assert Span("a", "ceo", T0).exposure(now) == 30 * 86400  # no check recorded: all of it, as before
    # superseded on day 30, last known true on day 10: the change came in between, half-way on average
    assert Span("a", "ceo", T0, now, "superseded", checked).exposure(now) == 20 * 86400
    assert Span("a", "on-call", T0, now, "expired", checked).exposure(now) == 30 * 86400  # a known end
    # the same history, values never re-checked: no evidence of stability, so the rate stays higher
    seen = [Span(f"org{i}", "cfo", T0, checked=now) for i in range(10)]
    unseen = [Span(f"org{i}", "cfo", T0, checked=T0) for i in range(10)]
    assert namespace_rate(unseen, now) > 5 * namespace_rate(seen, now)


def test_matching_is_case_and_space_insensitive():
    spans, end = _chain("Acme", "CEO", [2, 2, 9, 1])
    a = stale_probability(spans, subject=" acme", predicate="ceo", validated_at=end, now=end + 3 * DAY)
    assert a.slot_changes == 4


def test_regular_lifetimes_make_a_rotation_with_uniform_phase():
    spans, end = _chain("payments team", "on-call", [7, 7, 7, 7], how="expired")
    assert period_of(spans) == 7 * 86400
    v = stale_probability(spans, subject="payments team", predicate="on-call", validated_at=end, now=end + 2 * DAY)
    assert v.model == "periodic" and v.p_changed == pytest.approx(2 / 7)
    late = stale_probability(spans, subject="payments team", predicate="on-call", validated_at=end, now=end + 9 * DAY)
    assert late.p_changed == 1.0


def test_irregular_lifetimes_are_not_a_rotation():
    spans, _ = _chain("Acme", "ceo", [2, 30, 5])
    assert period_of(spans) is None


def test_a_known_end_is_certain_before_and_gone_after():
    now = T0 + 5 * DAY
    kw = {"subject": "t", "predicate": "on-call", "validated_at": T0}
    assert stale_probability([], now=now, expires_at=now + DAY, **kw).p_changed == 0.0
    assert stale_probability([], now=now, expires_at=now, **kw).p_changed == 1.0


def test_long_exposure_without_change_makes_a_predicate_nearly_stable():
    now = T0 + 400 * DAY
    spans = [Span(f"org{i}", "headquarters", T0) for i in range(10)]
    v = stale_probability(spans, subject="org1", predicate="headquarters", validated_at=now - 30 * DAY, now=now)
    assert v.p_changed < 0.02


def test_decision_rule_and_ranking():
    assert should_verify(0.2, stale_cost=10, lookup_cost=1)
    assert not should_verify(0.1, stale_cost=10, lookup_cost=1)  # equal expected costs: answer from memory
    assert not should_verify(0.5, stale_cost=10, lookup_cost=6)
    assert should_verify(0.01, stale_cost=1000, lookup_cost=1)
    low = stale_probability([], subject="a", predicate="b", validated_at=T0, now=T0 + DAY)
    high = stale_probability([], subject="a", predicate="b", validated_at=T0, now=T0 + 40 * DAY)
    assert [v for _, v in ranked_by_risk([("low", low), ("high", high)])] == [high, low]


def test_store_spans_and_audit_show_the_probability(store):
    from memory_store.change_history import value_spans

    clock = {"now": T0}
    store.clock = lambda: clock["now"]
    for day, value in [(0, "Ana Silva"), (5, "Ben Okafor"), (9, "Chloe Moreau"), (15, "Dmitri Petrov")]:
        clock["now"] = T0 + day * DAY
        store.add_fact("payments", "lead", value, namespace="ns-a", valid_from=clock["now"])
    clock["now"] = T0 + 3 * DAY
    store.add_fact("Acme", "headquarters", "Berlin", namespace="ns-a", valid_from=T0)
    store.add_fact("payments", "lead", "Someone Else", namespace="ns-b", valid_from=T0)  # another namespace
    clock["now"] = T0 + 25 * DAY
    spans = value_spans(store.reads, "ns-a", predicate="lead")
    assert [s.how for s in spans] == ["superseded", "superseded", "superseded", None]
    assert {s.subject for s in value_spans(store.reads, "ns-a")} == {"payments", "acme"}
    report = store.audit("ns-a")
    by_subject = {r["subject"]: r for r in report.stale_risk}
    assert set(by_subject) == {"payments", "acme"}  # ns-b is never read
    assert by_subject["payments"]["p_changed"] > by_subject["acme"]["p_changed"]
    assert report.stale_risk[0]["subject"] == "payments"
    assert all("p_changed" in r for r in report.at_risk)
