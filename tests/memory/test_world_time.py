"""World time (validity) queries, scheduled values, and as-of reads from fact_states (issue 16).
Run on SQLite and PostgreSQL (the `store` fixture)."""
from __future__ import annotations

import random

from sqlalchemy import delete, select

from memory_store import tables
from memory_store.log_replay import fact_from_snapshot, rows_as_of
from memory_store.states import backfill


def objects(facts):
    return [(f.object, f.status) for f in facts]


def test_future_value_is_scheduled_and_the_current_value_stays_until_then(store):
    store.add_fact("z", "ceo", "Alice", valid_from="2020-01-01")
    reply = store.add_fact("z", "ceo", "Bob", valid_from="2099-01-01")
    assert reply.action == "scheduled" and reply.fact.status == "scheduled"
    assert store.current("z", "ceo").object == "Alice"
    assert objects(store.facts()) == [("Alice", "active")]
    assert store.facts()[0].valid_to.year == 2099  # her window closes when Bob starts
    assert store.current("z", "ceo", at="2099-02-01").object == "Bob"
    assert objects(store.facts(valid_at="2099-02-01")) == [("Bob", "scheduled")]
    assert objects(store.facts(status="scheduled")) == [("Bob", "scheduled")]
    assert objects(store.history("z", "ceo")) == [("Alice", "active"), ("Bob", "scheduled")]
    hits = store.search("who is the ceo of z", k=5, kind="fact")
    assert [h.text for h in hits] == ["z ceo Alice"]
    later = store.search("who is the ceo of z", k=5, kind="fact", valid_at="2099-02-01")
    assert [(h.text, h.status) for h in later] == [("z ceo Bob", "scheduled")]


def test_scheduled_value_becomes_current_by_itself_when_its_time_comes(store):
    from datetime import UTC, datetime

    world = [datetime(2030, 1, 1, tzinfo=UTC)]
    store.clock = lambda: world[0]
    store.add_fact("z", "ceo", "Alice")
    store.add_fact("z", "ceo", "Bob", valid_from="2031-01-01")
    assert store.current("z", "ceo").object == "Alice"
    assert [h.text for h in store.search("ceo of z", kind="fact")] == ["z ceo Alice"]
    world[0] = datetime(2031, 6, 1, tzinfo=UTC)  # no write in between
    assert store.current("z", "ceo").object == "Bob"
    assert objects(store.history("z", "ceo")) == [("Alice", "superseded"), ("Bob", "active")]
    assert [(h.text, h.status) for h in store.search("ceo of z", kind="fact")] == [("z ceo Bob", "active")]
    # the next write to the slot materialises Alice's closed window
    store.add_fact("z", "ceo", "Bob")
    assert store.get_fact(store.history("z", "ceo")[0].id).retired_at is not None


def test_valid_at_answers_who_was_true_then(store):
    store.add_fact("acme", "ceo", "Dana", valid_from="2019-01-01")
    store.add_fact("acme", "ceo", "Erin", valid_from="2021-06-01")
    store.add_fact("acme", "cfo", "Finn", valid_from="2022-01-01")
    assert store.facts(as_of="2021-03-01") == []  # both recorded today: system time knows nothing then
    assert objects(store.facts(valid_at="2021-03-01")) == [("Dana", "superseded")]
    assert store.current("acme", "ceo", at="2021-03-01").object == "Dana"
    assert store.current("acme", "cfo", at="2021-03-01") is None
    hits = store.search("ceo of acme", kind="fact", valid_at="2021-03-01")
    assert [h.text for h in hits] == ["acme ceo Dana"]


def test_as_of_combines_with_valid_at(store):
    first = store.add_fact("z", "ceo", "Alice", valid_from="2020-01-01").version
    store.add_fact("z", "ceo", "Bob", valid_from="2099-01-01")
    # at version 1 the store believed Alice forever; now it knows Bob takes over in 2099
    assert objects(store.facts(as_of=first, valid_at="2099-02-01")) == [("Alice", "active")]
    assert objects(store.facts(valid_at="2099-02-01")) == [("Bob", "scheduled")]


def test_fact_that_arrives_expired_is_reported_expired(store):
    reply = store.add_fact("y", "role", "temp", valid_from="2026-03-29", ttl="1d")
    assert reply.fact.status == "expired"
    assert store.facts() == [] and objects(store.facts(status="expired")) == [("temp", "expired")]
    assert objects(store.facts(valid_at="2026-03-29T12:00:00Z")) == [("temp", "expired")]
    assert store.facts(valid_at="2026-03-31") == []


def test_search_valid_at_includes_notes_written_by_then(store):
    store.add_note("the offsite is in Lisbon")
    assert store.search("offsite", kind="note", valid_at="2000-01-01") == []
    assert len(store.search("offsite", kind="note", valid_at="2999-01-01")) == 1


def test_as_of_reads_equal_a_replay_of_the_log_and_the_backfill(store):
    """fact_states answers every version exactly as replaying the version log's after-images does, and
    the migration's backfill (the replay done once) rebuilds the same table."""
    rng = random.Random(3)
    for _ in range(40):
        subject = f"s{rng.randrange(4)}"
        roll = rng.random()
        if roll < 0.6:
            store.add_fact(subject, "role", f"v{rng.randrange(5)}", valid_from=f"20{10 + rng.randrange(15)}-01-01")
        elif roll < 0.8 and store.facts():
            store.adjust_confidence(rng.choice(store.facts()).id, -0.1)
        elif store.facts():
            store.retract(rng.choice(store.facts()).id)
    store.add_note("a note in between")
    latest = store.current_version()

    def replay(version):
        log = store.log(namespace="default", until=version, shared=True)
        return sorted((f.to_dict() for f in (fact_from_snapshot(s) for s in
                       rows_as_of(log, version, "fact").values() if s)), key=lambda d: d["id"])

    def indexed(version):
        return [f.to_dict() for f in store.facts_as_of(version, namespace="default")]

    for version in range(0, latest + 1):
        assert indexed(version) == replay(version), version
    with store.engine.begin() as conn:
        before = conn.execute(select(tables.fact_states).order_by("fact_id", "from_version")).all()
        conn.execute(delete(tables.fact_states))
        backfill(conn)
        after = conn.execute(select(tables.fact_states).order_by("fact_id", "from_version")).all()
    assert [tuple(r) for r in after] == [tuple(r) for r in before]
