"""Namespaces are tenants: whatever is done in one (writes, reads, search, audit, export, prune, import),
nothing of another is returned or touched, and no memory ever changes namespace."""
from __future__ import annotations

import json
import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select, text, update
from sqlalchemy.exc import DBAPIError

from memory_store import UserError, tables
from tests.property.conftest import FAST
from tests.reliability.helpers import fingerprint

SUBJECTS, OBJECTS = ["acme", "globex"], ["Alice", "Bob", "Carol"]
NOTES = ["the launch is in March", "the budget was approved", "the launch is in March!"]

OP = st.one_of(
    st.tuples(st.just("fact"), st.sampled_from(SUBJECTS), st.sampled_from(["ceo", "hq"]), st.sampled_from(OBJECTS),
              st.sampled_from([None, "2019-01-01", "2022-01-01"]), st.sampled_from([1.0, 0.3])),
    st.tuples(st.just("note"), st.sampled_from(NOTES)),
    st.tuples(st.just("retract"), st.integers(0, 50)), st.tuples(st.just("expire"), st.integers(0, 50)),
    st.tuples(st.just("prune"), st.booleans(), st.booleans(), st.booleans(), st.booleans()),
    st.tuples(st.just("policy"), st.sampled_from(["ceo", "hq"]), st.booleans()),
    st.tuples(st.just("import"), st.sampled_from(NOTES)),
    st.tuples(st.just("read"), st.sampled_from(NOTES + ["acme ceo", "Alice"])),
)


def seed(store, ns: str) -> None:
    """The same kinds of memory the other namespace works on: active, superseded, retracted, expired,
    notes (one retracted), a policy; identical texts, so a leak would rank at the top."""
    store.add_fact("acme", "ceo", "Alice", namespace=ns, valid_from="2019-01-01")
    store.add_fact("acme", "ceo", "Bob", namespace=ns, valid_from="2022-01-01")
    store.add_fact("acme", "hq", "Paris", namespace=ns, confidence=0.3)
    store.retract(store.add_fact("globex", "ceo", "Carol", namespace=ns).fact.id, namespace=ns)
    store.expire(store.add_fact("globex", "hq", "Lyon", namespace=ns).fact.id, namespace=ns)
    store.add_notes([{"text": t} for t in NOTES], namespace=ns)
    store.retract_note(store.add_note("a retracted note about the launch", namespace=ns).id, namespace=ns)
    store.set_policy("hq", namespace=ns, ttl="7d")


def rows_of(store) -> dict[tuple[str, int], str]:
    with store.engine.connect() as conn:
        out = {("fact", r.id): r.namespace for r in conn.execute(select(tables.facts.c.id, tables.facts.c.namespace))}
        out |= {("note", r.id): r.namespace for r in conn.execute(select(tables.notes.c.id, tables.notes.c.namespace))}
    return out


def audit_ids(report) -> set[tuple[str, int]]:
    ids = {("fact", i) for c in report.conflicts for i in c["ids"]}
    ids |= {(e["kind"], e["id"]) for e in report.expired_present}
    ids |= {(p[side]["kind"], p[side]["id"]) for p in report.near_duplicates for side in ("a", "b")}
    ids |= {("fact", e["id"]) for e in report.low_confidence + report.at_risk + report.stale_risk}
    return ids


@settings(FAST, max_examples=12)  # each example seeds two namespaces
@given(ops=st.lists(OP, min_size=1, max_size=8))
def test_nothing_crosses_namespaces(store, tmp_path, ops):
    victim, mine = f"v-{uuid.uuid4().hex[:10]}", f"a-{uuid.uuid4().hex[:10]}"
    seed(store, victim)
    seed(store, mine)
    untouched = fingerprint(store, victim)
    born = rows_of(store)
    mine_ids = lambda: {k for k, ns in rows_of(store).items() if ns == mine}
    for op in ops:
        if op[0] == "fact":
            store.add_fact(op[1], op[2], op[3], valid_from=op[4], confidence=op[5], namespace=mine)
        elif op[0] == "note":
            store.add_note(op[1], namespace=mine)
        elif op[0] in ("retract", "expire"):
            facts = store.facts(namespace=mine, status="all")  # (some may have been pruned)
            fact = facts[op[1] % len(facts)]
            if fact.status == "active":
                getattr(store, op[0])(fact.id, namespace=mine)
        elif op[0] == "prune":
            expired, superseded, retracted, dry = op[1:]
            if expired or superseded or retracted:
                ids = mine_ids()
                plan = store.prune(namespace=mine, expired=expired, superseded=superseded, retracted=retracted,
                                   older_than=0, dry_run=dry)
                assert {("fact", i) for i in plan["facts"]} | {("note", i) for i in plan["notes"]} <= ids
        elif op[0] == "policy":
            store.set_policy(op[1], namespace=mine, functional=op[2])
        elif op[0] == "import":  # a file naming the other namespace, imported into mine
            path = tmp_path / "in.jsonl"
            path.write_text(json.dumps({"type": "note", "text": op[1], "namespace": victim}) + "\n" +
                            json.dumps({"type": "fact", "subject": "acme", "predicate": "ceo", "object": "Zed",
                                        "namespace": victim}) + "\n")
            store.import_jsonl(path, namespace=mine)
        else:
            ids = mine_ids()
            hits = store.search(op[1], namespace=mine, k=50, status="all")
            assert hits, "the seeded notes of this namespace are never pruned: a search must find them"
            assert all(h.namespace == mine and (h.kind, h.id) in ids for h in hits)
            facts = store.facts(namespace=mine, status="all")
            assert {("fact", f.id) for f in facts} == {k for k in ids if k[0] == "fact"}  # all mine, only mine
            history = store.history("acme", "ceo", namespace=mine)
            slot = [f for f in facts if (f.subject, f.predicate) == ("acme", "ceo")]
            assert [f.id for f in history] == [f.id for f in sorted(slot, key=lambda f: (f.valid_from, f.id))]
            assert audit_ids(store.audit(mine)) <= ids
            log = store.log(namespace=mine)
            assert log and all(r.namespace == mine for r in log)
            out = tmp_path / "out.jsonl"
            store.export_jsonl(out, namespace=mine)
            exported = [json.loads(line) for line in out.read_text().splitlines()]
            assert exported and all(e["namespace"] == mine for e in exported)
    assert fingerprint(store, victim) == untouched
    now = rows_of(store)
    assert all(now[k] == ns for k, ns in born.items() if k in now), "a memory changed namespace"


def test_the_database_refuses_to_move_a_memory(store):
    """Enforced below the API too (migration 0002): no code path can re-home a fact or a note."""
    fact = store.add_fact("acme", "ceo", "Alice", namespace="tenant-a").fact
    note = store.add_note("private note", namespace="tenant-a")
    for table, row_id in ((tables.facts, fact.id), (tables.notes, note.id)):
        with pytest.raises(DBAPIError, match="namespace"), store.engine.begin() as conn:
            conn.execute(update(table).where(table.c.id == row_id).values(namespace="tenant-b"))
        with store.engine.begin() as conn:  # any other column may change (status, ...)
            conn.execute(update(table).where(table.c.id == row_id).values(namespace="tenant-a"))
            conn.execute(text(f"UPDATE {table.name} SET status = status WHERE id = :i"), {"i": row_id})
    assert store.get_fact(fact.id, namespace="tenant-a").namespace == store.get_note(note.id, namespace="tenant-a").namespace == "tenant-a"


def test_writes_never_move_memories(store):
    """Re-asserting a fact or importing an export under another namespace copies; it never moves."""
    fact = store.add_fact("acme", "ceo", "Alice", namespace="tenant-a").fact
    again = store.add_fact("acme", "ceo", "Alice", namespace="tenant-b")
    assert again.action == "inserted" and again.fact.id != fact.id
    assert store.get_fact(fact.id, namespace="tenant-a").validation_count == 0
    with pytest.raises(UserError):
        store.add_fact("acme", "ceo", "Alice", namespace="tenant a")  # not a valid namespace: nothing written
    assert [f.namespace for f in store.facts(namespace="tenant-a", status="all")] == ["tenant-a"]
