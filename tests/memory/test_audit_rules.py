"""The audit's pure rules (memory_store/audit.py) on hand-made records: exact outputs and every boundary."""
from datetime import UTC, datetime, timedelta

import numpy as np

from memory_store.audit import (
    NEAR_DUPLICATE_COSINE,
    AuditReport,
    at_risk,
    change_intervals,
    conflicts,
    near_duplicates,
)
from memory_store.record_types import Fact

T0 = datetime(2024, 1, 1, tzinfo=UTC)
DAY = timedelta(days=1)


def fact(id, obj, *, subject="team", predicate="on_call", status="active", start=0.0, end=None, validated=None):
    return Fact(id=id, namespace="n", subject=subject, predicate=predicate, object=obj, status=status,
                valid_from=T0 + start * DAY, valid_to=T0 + end * DAY if end is not None else None,
                recorded_at=T0 + start * DAY, retired_at=None, expires_at=None, confidence=1.0, source="user",
                validation_count=0, last_validated_at=T0 + validated * DAY if validated is not None else None,
                supersedes_id=None, superseded_by_id=None, in_conflict=False, version=1, created_version=1)


def test_conflicts_one_entry_per_slot_with_several_values_sorted_by_slot():
    active = [fact(1, "a", subject="zeta"), fact(2, "b", subject="zeta"), fact(3, "c", subject="alpha"),
              fact(4, "d", subject="alpha"), fact(5, "e", subject="solo"),
              fact(6, "x", predicate="likes"), fact(7, "y", predicate="likes")]
    assert conflicts(active, {"likes": False}) == [
        {"subject": "alpha", "predicate": "on_call", "values": ["c", "d"], "ids": [3, 4]},
        {"subject": "zeta", "predicate": "on_call", "values": ["a", "b"], "ids": [1, 2]},
    ]
    # a predicate without a policy is functional
    assert [c["predicate"] for c in conflicts(active, {})] == ["on_call", "likes", "on_call"]


def test_change_interval_is_the_median_span_of_superseded_values_only():
    facts = [fact(1, "a", status="superseded", start=0, end=1), fact(2, "b", status="superseded", start=1, end=4),
             fact(3, "c", status="superseded", start=4, end=14),
             fact(4, "d", status="superseded", start=14, end=14),  # zero span (same-instant correction): ignored
             fact(5, "e", status="superseded", start=14),  # no end: ignored
             fact(6, "f", status="retracted", start=0, end=30),  # not superseded: ignored
             fact(7, "g", status="active", start=14),
             fact(8, "h", predicate="ceo", status="superseded", start=0, end=100)]
    assert change_intervals(facts) == {"on_call": 3 * DAY, "ceo": 100 * DAY}
    assert change_intervals([fact(1, "a")]) == {}


def test_at_risk_strictly_older_than_the_interval_since_the_last_check():
    intervals = {"on_call": 7 * DAY}
    unknown = fact(1, "x", predicate="hq", start=0)  # no interval learned for hq: never at risk
    exactly = fact(2, "a", start=0)
    revalidated = fact(3, "b", start=0, validated=5)  # checked on day 5: the clock restarts there
    stale = fact(4, "c", start=-1)
    now = T0 + 7 * DAY
    assert at_risk([unknown, exactly, revalidated, stale], intervals, now) == [
        {"id": 4, "subject": "team", "predicate": "on_call", "object": "c", "unchecked_for_s": 8 * 86400.0,
         "typical_change_s": 7 * 86400.0}]
    assert [r["id"] for r in at_risk([revalidated, exactly], intervals, T0 + 12.5 * DAY)] == [3, 2]
    old_check = fact(5, "d", start=3, validated=1)  # validated before valid_from: valid_from counts
    assert at_risk([old_check], intervals, T0 + 9 * DAY) == []


def test_near_duplicates_pairs_each_once_at_or_above_the_threshold():
    v = np.array([[1.0, 0.0], [1.0, 0.0], [0.6, 0.8], [0.0, 1.0]], dtype=np.float32)
    ids = [("note", 10), ("fact", 11), ("note", 12), ("note", 13)]
    texts = ["a", "b", "c", "d"]
    assert near_duplicates(ids, v, texts) == [
        {"a": {"kind": "note", "id": 10, "text": "a"}, "b": {"kind": "fact", "id": 11, "text": "b"}, "cosine": 1.0}]
    at_08 = near_duplicates(ids, v, texts, threshold=0.8)  # cosine 0.8 exactly is a near duplicate
    assert [(p["a"]["id"], p["b"]["id"], p["cosine"]) for p in at_08] == [(10, 11, 1.0), (12, 13, 0.8)]
    assert near_duplicates(ids[:1], v[:1], texts[:1], threshold=-1.0) == []  # one memory: no pair
    assert NEAR_DUPLICATE_COSINE == 0.95
    almost = np.array([[1.0, 0.0], [0.96, 0.28]], dtype=np.float32)  # cosine 0.96 >= the default 0.95
    assert [p["cosine"] for p in near_duplicates(ids[:2], almost, texts[:2])] == [0.96]
    odd = np.array([[1.0, 0.0], [0.96123, (1 - 0.96123 ** 2) ** 0.5]], dtype=np.float32)
    assert [p["cosine"] for p in near_duplicates(ids[:2], odd, texts[:2])] == [0.9612]  # four decimals


def test_near_duplicates_across_the_block_boundary():
    n = 1100  # more than one block of 1024 rows
    rng = np.random.default_rng(0)
    v = rng.normal(size=(n, 64)).astype(np.float32)
    v[1099] = v[1024]  # a pair inside the second block
    v[1030] = v[3]  # a pair across blocks
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    ids = [("note", i) for i in range(n)]
    pairs = near_duplicates(ids, v, [str(i) for i in range(n)])
    assert [(p["a"]["id"], p["b"]["id"]) for p in pairs] == [(3, 1030), (1024, 1099)]


def test_report_total_counts_findings_not_intervals():
    report = AuditReport("n", conflicts=[{}], expired_present=[{}, {}], near_duplicates=[{}], low_confidence=[{}],
                         at_risk=[{}, {}, {}], change_intervals={"on_call": 60.0})
    assert report.total == 8
    assert report.to_dict()["namespace"] == "n" and report.to_dict()["change_intervals"] == {"on_call": 60.0}
    assert AuditReport("n").total == 0
