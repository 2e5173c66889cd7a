"""Several writer PROCESSES on one store (SQLite and PostgreSQL), some racing on the same functional
slots: no lost or duplicated write, one active value per slot, a gap-free version log with exactly one
version per acknowledged write, and a search cache equal to SQL."""
from __future__ import annotations

from collections import Counter, defaultdict

from sqlalchemy import select

from memory_store import MemoryStore, tables
from memory_store.integrity import check_integrity

WORKERS = 3
WRITES = 15


def test_concurrent_writers_lose_nothing(backends, home, embedder, crew):
    for url in backends:
        MemoryStore.open(url, home=home, embedder=embedder).close()  # schema created once, up front
    for _ in range(WORKERS):
        crew.start("mixed", urls=backends, home=str(home), n=WRITES)
    crew.release()
    crew.wait()
    acks = crew.acks()
    assert len(acks) == WORKERS * WRITES * len(backends)
    for db, url in enumerate(backends):
        check_store(url, home, embedder, [a for a in acks if a["db"] == db])


def check_store(url, home, embedder, acks):
    store = MemoryStore.open(url, home=home, embedder=embedder)
    try:
        # One version per acknowledged write, each write its own version, and nothing else in the log.
        log = store.log(full=False, all_namespaces=True)
        assert [r.version for r in log] == list(range(1, len(acks) + 1))
        assert sorted(a["version"] for a in acks) == [r.version for r in log]

        with store.engine.connect() as conn:
            facts = {r.id: r for r in conn.execute(select(tables.facts))}
            notes = {r.id: r for r in conn.execute(select(tables.notes))}

        # Notes: every acknowledged note is there, once, with its text; nothing unacknowledged appeared.
        note_acks = [(i, t) for a in acks if a["kind"] == "note" for i, t in zip(a["ids"], a["texts"])]
        assert sorted(i for i, _ in note_acks) == sorted(notes)
        assert all(notes[i].text == t for i, t in note_acks)
        assert max(Counter(n.text for n in notes.values()).values()) == 1

        # Facts: every acknowledged value is stored exactly once in its slot.
        fact_acks = [a for a in acks if a["kind"] == "fact"]
        for a in fact_acks:
            row = facts[a["id"]]
            assert (row.namespace, row.subject, row.predicate, row.object) == (
                a["ns"], a["subject"], a["predicate"], a["object"])
        stored = Counter((r.namespace, r.subject, r.predicate, r.object) for r in facts.values())
        assert max(stored.values()) == 1, [k for k, c in stored.items() if c > 1]
        assert set(stored) == {(a["ns"], a["subject"], a["predicate"], a["object"]) for a in fact_acks}

        # Re-asserting the same value validates the one row: n assertions -> 1 row, n-1 validations.
        for wid in range(WORKERS):
            colours = [a for a in fact_acks if a["op"] == "colour" and a["subject"] == f"worker {wid}"]
            if colours:
                assert [a["action"] for a in colours] == ["inserted"] + ["validated"] * (len(colours) - 1)
                assert facts[colours[0]["id"]].validation_count == len(colours) - 1

        # Racing writers on one functional slot: exactly one active value, the last one written.
        by_slot = defaultdict(list)
        for a in fact_acks:
            by_slot[(a["ns"], a["subject"], a["predicate"])].append(a)
        for (ns, subject, predicate), writes in by_slot.items():
            active = [r for r in facts.values() if (r.namespace, r.subject, r.predicate) == (ns, subject, predicate)
                      and r.status == "active"]
            last = max(writes, key=lambda a: a["version"])
            assert [r.object for r in active] == [last["object"]], (subject, predicate)
            assert store.current(subject, predicate, namespace=ns).object == last["object"]
        contested = by_slot[("ns-a", "acme", "ceo")]
        assert len({a["object"].split("-")[0] for a in contested}) == WORKERS  # every worker raced there

        report = check_integrity(store, ["ns-a", "ns-b"])
        assert report["ok"], report
        assert report["index"]["ns-a"]["sql_rows"] + report["index"]["ns-b"]["sql_rows"] == len(facts) + len(notes)
        assert store.search("worker 1 writes note number 1", namespace="ns-b", k=1)[0].text == \
            "worker 1 writes note number 1"
    finally:
        store.close()
