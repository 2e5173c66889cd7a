"""Crashes: a writer SIGKILLed mid-batch, a lost or corrupt search cache, a consolidation killed mid-run.
SQL is the truth; the cache catches up or is rebuilt; every acknowledged write survives."""
from __future__ import annotations

import logging
import random
import time
from collections import Counter

import pytest
from sqlalchemy import select

from memory_store import MemoryStore, tables
from memory_store.integrity import check_integrity

BATCH = 4


def _seed(url, home, embedder) -> None:
    """One note, searched once so the cache exists, and closed so it is saved at version 1."""
    with MemoryStore.open(url, home=home, embedder=embedder) as store:
        store.add_note("the very first note, written before the crash", namespace="crash")
        assert store.search("first note", namespace="crash", k=1)
    assert any(p.suffix == ".faiss" for p in store.index_dir.iterdir())


def test_sigkill_mid_batch_keeps_acknowledged_writes(backends, home, embedder, crew):
    for url in backends:
        _seed(url, home, embedder)
    crew.start("batches", urls=backends, home=str(home), batch=BATCH)
    crew.release()
    deadline = time.monotonic() + 120
    while len(crew.acks()) < 6 * len(backends):
        assert crew.procs[0][0].is_alive(), crew.error(0)
        assert time.monotonic() < deadline, "the writer made no progress"
        time.sleep(0.02)
    time.sleep(random.uniform(0, 0.3))  # somewhere inside the next batch or fact
    crew.procs[0][0].kill()  # SIGKILL: no cleanup, no index save, maybe an open transaction
    crew.procs[0][0].join(timeout=30)
    acks = crew.acks()

    for db, url in enumerate(backends):
        mine = [a for a in acks if a["db"] == db]
        with MemoryStore.open(url, home=home, embedder=embedder) as store:
            with store.engine.connect() as conn:
                notes = {r.id: r.text for r in conn.execute(select(tables.notes.c.id, tables.notes.c.text))}
                facts = {r.id: r for r in conn.execute(select(tables.facts))}
            # Every acknowledged write is there.
            for a in mine:
                if a["kind"] == "note":
                    assert all(notes.get(i) == t for i, t in zip(a["ids"], a["texts"])), a
                else:
                    assert facts[a["id"]].object == a["object"], a
            # A batch is all or nothing, even the one the kill interrupted.
            per_batch = Counter(int(t.split()[2]) for t in notes.values() if t.startswith("crash batch"))
            assert set(per_batch.values()) <= {BATCH}, per_batch
            # The log: the seed, one version per acknowledged write, at most one write committed unacknowledged.
            versions = [r.version for r in store.log(full=False, all_namespaces=True)]
            assert versions == list(range(1, len(versions) + 1))
            assert len(versions) - 1 - len(mine) in (0, 1)
            # The cache was saved at version 1 and catches up from the log to what SQL holds.
            report = check_integrity(store, ["crash"])
            assert report["ok"], report
            assert store.index("crash").applied_version == versions[-1]
            assert sum(1 for f in facts.values() if f.status == "active") == 1
            # The writer's lock died with it: a new write goes through at once.
            assert store.add_note("after the crash", namespace="crash").version == versions[-1] + 1


def _build(url, home, embedder) -> MemoryStore:
    store = MemoryStore.open(url, home=home, embedder=embedder)
    store.add_notes([{"text": "The launch is planned for March"}, {"text": "The budget was approved"}])
    store.add_fact("acme", "ceo", "Alice")
    store.search("launch", k=1)
    store.close()
    return store


@pytest.mark.parametrize("damage", ["delete_faiss", "corrupt_faiss", "truncate_npz", "corrupt_json"])
def test_damaged_index_is_rebuilt_with_a_warning(tmp_path, home, embedder, caplog, damage):
    db_url = f"sqlite:///{tmp_path / 'memory.db'}"  # the cache is the same code on every backend
    old = _build(db_url, home, embedder)
    files = {p.suffix: p for p in old.index_dir.iterdir()}
    if damage == "delete_faiss":
        files[".faiss"].unlink()
    elif damage == "corrupt_faiss":
        files[".faiss"].write_bytes(b"\x00garbage" * 10)
    elif damage == "truncate_npz":
        files[".npz"].write_bytes(files[".npz"].read_bytes()[:40])
    else:
        files[".json"].write_text("{not json")
    with caplog.at_level(logging.WARNING, logger="memory_store"), \
            MemoryStore.open(db_url, home=home, embedder=embedder) as store:
        assert store.search("when is the launch", k=1)[0].text == "The launch is planned for March"
        assert check_integrity(store, ["default"])["ok"]
    assert any("rebuilding from SQL" in r.getMessage() for r in caplog.records), caplog.text
    # Saved again on close: the next open loads it without complaint.
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="memory_store"), \
            MemoryStore.open(db_url, home=home, embedder=embedder) as store:
        assert len(store.search("budget", k=5)) == 3
    assert not caplog.records


def test_deleted_index_directory_is_rebuilt(db_url, home, embedder):
    old = _build(db_url, home, embedder)
    for p in old.index_dir.iterdir():
        p.unlink()
    with MemoryStore.open(db_url, home=home, embedder=embedder) as store:
        assert {r.text for r in store.search("launch budget", kind="note", k=5)} == {
            "The launch is planned for March", "The budget was approved"}
        assert check_integrity(store, ["default"])["ok"]


def test_leftover_temporary_index_files_are_ignored(tmp_path, home, embedder):
    """A crash during save leaves *.tmp files beside the last good ones (save is write-then-rename)."""
    db_url = f"sqlite:///{tmp_path / 'memory.db'}"
    old = _build(db_url, home, embedder)
    for p in list(old.index_dir.iterdir()):
        p.with_name(p.name + ".tmp").write_bytes(b"half written")
    with MemoryStore.open(db_url, home=home, embedder=embedder) as store:
        assert store.search("when is the launch", k=1)[0].text == "The launch is planned for March"
        assert check_integrity(store)["ok"]


def test_cache_of_a_recreated_database_is_not_reused(tmp_path, home, embedder, monkeypatch):
    import memory_store.db

    url = f"sqlite:///{tmp_path / 'memory.db'}"
    with MemoryStore.open(url, home=home, embedder=embedder) as store:
        store.add_notes([{"text": "apples are red"}, {"text": "bananas are yellow"}])
        store.search("fruit", k=1)  # the cache is built and saved on close
    (tmp_path / "memory.db").unlink()  # a user resets the database; the cache directory stays
    monkeypatch.setattr(memory_store.db, "_migrated", set())
    with MemoryStore.open(url, home=home, embedder=embedder) as store:
        store.add_notes([{"text": "the rocket launch is in March"}, {"text": "the board approved the budget"}])
        store.add_note("one more write, so the cache is behind")
        report = check_integrity(store, ["default"])
        assert report["ok"], report["index"]
        assert store.search("rocket launch", k=1)[0].text == "the rocket launch is in March"
