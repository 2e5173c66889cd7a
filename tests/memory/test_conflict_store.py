"""Conflict resolution through MemoryStore on SQLite and PostgreSQL: several active values in one slot
and a new one that ties one and beats another. Every row's status, links and conflict flag after the write."""


def _row(store, fact_id):
    f = store.get_fact(fact_id)
    return f.status, f.in_conflict, f.superseded_by_id, f.supersedes_id


def _two_active(store, first: dict, second: dict, *, predicate="ceo"):
    """Two values of one slot, both active: a tie under the default rule (same valid_from)."""
    a = store.add_fact("acme", predicate, "Alice", valid_from="2024-01-01", **first)
    b = store.add_fact("acme", predicate, "Bob", valid_from="2024-01-01", **second)
    assert b.action == "conflict" and _row(store, a.fact.id) == ("active", True, None, None)
    return a.fact.id, b.fact.id


def test_confidence_rule_new_value_ties_one_and_beats_another(store):
    store.set_policy("ceo", rule="confidence")
    alice, bob = _two_active(store, {"confidence": 0.7}, {"confidence": 0.7})
    store.adjust_confidence(alice, -0.2)  # Alice 0.5, Bob 0.7: both still active
    carol = store.add_fact("acme", "ceo", "Carol", valid_from="2024-01-01", confidence=0.7)
    assert carol.action == "conflict" and carol.superseded == [alice]
    c = carol.fact.id
    assert _row(store, alice) == ("superseded", False, c, None)
    assert store.get_fact(alice).valid_to == store.get_fact(c).valid_from
    assert _row(store, bob) == ("active", True, None, None)
    assert _row(store, c) == ("active", True, None, alice)
    assert sorted(f.object for f in store.facts()) == ["Bob", "Carol"]
    [conflict] = store.audit().conflicts
    assert sorted(conflict["values"]) == ["Bob", "Carol"] and sorted(conflict["ids"]) == [bob, c]


def test_source_rule_new_value_ties_one_and_beats_another(store):
    alice, bob = _two_active(store, {"source": "web"}, {"source": "registry"})
    store.set_policy("ceo", rule="source", source_priority=["registry", "web"])
    carol = store.add_fact("acme", "ceo", "Carol", valid_from="2024-01-01", source="registry")
    assert carol.action == "conflict" and carol.superseded == [alice]
    c = carol.fact.id
    assert _row(store, alice) == ("superseded", False, c, None)
    assert _row(store, bob) == ("active", True, None, None)
    assert _row(store, c) == ("active", True, None, alice)
    assert sorted(f.object for f in store.facts()) == ["Bob", "Carol"]


def test_new_value_beaten_by_one_active_value_is_history_behind_the_strongest(store):
    store.set_policy("ceo", rule="confidence")
    alice, bob = _two_active(store, {"confidence": 0.9}, {"confidence": 0.9})
    store.adjust_confidence(bob, 0.05)  # Bob 0.95 is the strongest active value
    dan = store.add_fact("acme", "ceo", "Dan", valid_from="2025-01-01", confidence=0.5)
    assert dan.action == "history" and dan.superseded == []
    assert _row(store, dan.fact.id) == ("superseded", False, bob, None)
    assert _row(store, alice) == ("active", True, None, None)
    assert _row(store, bob) == ("active", True, None, None)


def test_new_value_beating_every_active_one_supersedes_them_all_and_clears_the_conflict(store):
    alice, bob = _two_active(store, {}, {})
    carol = store.add_fact("acme", "ceo", "Carol", valid_from="2025-01-01")
    assert carol.action == "superseded" and carol.superseded == [alice, bob]
    c = carol.fact.id
    assert _row(store, alice) == ("superseded", False, c, None)
    assert _row(store, bob) == ("superseded", False, c, None)
    assert _row(store, c) == ("active", False, None, alice)
    assert [f.object for f in store.facts()] == ["Carol"] and store.audit().conflicts == []
