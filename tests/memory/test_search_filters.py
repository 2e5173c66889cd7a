"""Search filters apply before ranking: a filtered query returns k results when k exist, never a row the
filter excludes; expired, superseded and retracted memories stay out unless asked for. SQLite and
PostgreSQL (the `store` fixture), small data."""
from __future__ import annotations

from datetime import timedelta

import pytest

from memory_store.errors import InvalidInputError
from memory_store.timeparse import utcnow

STRONG = [f"The quarterly sales report for region {i} shows strong growth" for i in range(40)]
WEAK = ["Lunch with Dana was nice", "The printer on floor two jams", "Buy oat milk", "Call the plumber",
        "Renew the passport"]


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture
def filled(store):
    """40 notes that match the query well, 5 that do not; only the 5 carry a metadata tag, a speaker,
    and an old time."""
    old = (utcnow() - timedelta(days=30)).isoformat()
    store.add_notes([{"text": t} for t in STRONG] +
                    [{"text": t, "metadata": {"tag": "misc"}, "speaker": "Dana", "occurred_at": old} for t in WEAK])
    return store


def test_metadata_filter_returns_k_when_k_exist(filled):
    got = filled.search("quarterly sales report growth", k=5, metadata={"tag": "misc"})
    assert sorted(r.text for r in got) == sorted(WEAK)
    assert len(filled.search("quarterly sales report growth", k=3, metadata={"tag": "misc"})) == 3
    assert filled.search("quarterly sales report growth", k=5, metadata={"tag": "nothing"}) == []


def test_column_filter_and_time_filter_apply_before_ranking(filled):
    by_speaker = filled.search("quarterly sales report growth", k=10, metadata={"speaker": "Dana"})
    assert len(by_speaker) == 5 and {r.metadata["speaker"] for r in by_speaker} == {"Dana"}
    before = (utcnow() - timedelta(days=1)).isoformat()
    old = filled.search("quarterly sales report growth", k=10, until=before)
    assert sorted(r.text for r in old) == sorted(WEAK)
    recent = filled.search("quarterly sales report growth", k=50, since=before)
    assert len(recent) == 40 and not {r.text for r in recent} & set(WEAK)


def test_unfiltered_query_ranks_the_strong_matches_first(filled):
    got = filled.search("quarterly sales report growth", k=10)
    assert len(got) == 10 and all(r.text in STRONG for r in got)


def test_kind_filter(store):
    store.add_fact("acme", "headquarters", "Lisbon")
    store.add_note("Acme moved its headquarters last year")
    assert [r.kind for r in store.search("acme headquarters", kind="fact", k=5)] == ["fact"]
    assert [r.kind for r in store.search("acme headquarters", kind="note", k=5)] == ["note"]
    assert {r.kind for r in store.search("acme headquarters", k=5)} == {"fact", "note"}


def test_expired_superseded_and_retracted_are_excluded_unless_asked(store):
    store.add_fact("acme", "ceo", "Alice", valid_from="2024-01-01")
    store.add_fact("acme", "ceo", "Bob", valid_from="2025-01-01")
    past = (utcnow() - timedelta(seconds=5)).isoformat()
    store.add_note("the gate code is 4412", ttl="1s", occurred_at=past)
    gone = store.add_note("the gate code was 9001 before")
    store.retract_note(gone.id)
    default = store.search("acme ceo gate code", k=20)
    texts = " ".join(r.text for r in default)
    assert "Bob" in texts and "Alice" not in texts and "4412" not in texts and "9001" not in texts
    assert all(r.status == "active" for r in default)
    assert "Alice" in " ".join(r.text for r in store.search("acme ceo", k=20, include_superseded=True))
    assert "4412" in " ".join(r.text for r in store.search("gate code", k=20, include_expired=True))
    retracted = store.search("gate code", k=20, status="retracted")
    assert [r.id for r in retracted] == [gone.id]
    assert len(store.search("acme ceo gate code", k=20, status="all")) == 4


def test_namespaces_never_leak(store):
    store.add_notes([{"text": f"secret plan number {i}"} for i in range(5)], namespace="a")
    store.add_note("a public note about plans", namespace="b")
    got = store.search("secret plan", k=10, namespace="b")
    assert [r.namespace for r in got] == ["b"]
    own = store.search("secret plan", k=10, namespace="a")
    assert sorted(r.text for r in own) == [f"secret plan number {i}" for i in range(5)]
    assert {r.namespace for r in own} == {"a"}


@pytest.mark.parametrize("kwargs", [{"kind": ["x"]}, {"kind": "both"}, {"k": 0}, {"k": True}, {"k": 1001},
                                    {"status": "gone"}, {"status": ["active"]}, {"since": "yesterday"},
                                    {"metadata": "tag=misc"}])
def test_bad_search_arguments_are_one_clear_error(store, kwargs):
    with pytest.raises(InvalidInputError) as err:
        store.search("q", **kwargs)
    assert "\n" not in str(err.value) and len(str(err.value)) < 200


def test_long_bad_value_is_cut_short_in_the_error(store):
    with pytest.raises(InvalidInputError) as err:
        store.search("q", kind="x" * 100_000)
    assert len(str(err.value)) < 200


def test_nul_in_a_column_filter_matches_nothing(store):
    store.add_note("hello", speaker="Ann")
    assert store.search("hello", metadata={"speaker": "Ann\x00"}, k=3)[0].text == "hello"
    assert store.search("hello", metadata={"speaker": "Bo\x00b"}, k=3) == []
