"""Issue 15 item 2: a revert is exact even while another PROCESS writes notes into the same namespace.
Every note written before the revert's version is undone (the state at the target had none of them),
every note written after it stays, on SQLite and on the real PostgreSQL server. The revert revives
pruned notes, so it has embedding work to do: before the fix that ran before the write transaction and
the other process's notes of that gap stayed active."""
from __future__ import annotations

import time
from datetime import timedelta

from memory_store import MemoryStore
from memory_store.timeparse import utcnow

REVIVED = 300


def test_revert_is_exact_with_a_concurrent_writer(backends, home, embedder, crew, tmp_path):
    stores = [MemoryStore.open(url, home=home, embedder=embedder) for url in backends]
    try:
        targets = []
        for store in stores:
            soon = (utcnow() + timedelta(seconds=2)).isoformat()
            store.add_notes([{"text": f"old note {i} about the launch plan", "expires_at": soon}
                             for i in range(REVIVED)], namespace="t")
            targets.append(store.current_version())
        time.sleep(2.5)
        for store in stores:
            assert len(store.prune(namespace="t", expired=True, older_than=0)["notes"]) == REVIVED
        stop = tmp_path / "stop"
        crew.start("notes_until_stopped", urls=backends, home=str(home), ns="t", stop=str(stop))
        crew.release()
        while len(crew.acks()) < 5 * len(backends):  # the writer is running
            time.sleep(0.05)
        records = [store.revert(target, namespace="t") for store, target in zip(stores, targets)]
        time.sleep(0.5)
        stop.write_text("stop")
        crew.wait()
        for db, (store, record) in enumerate(zip(stores, records)):
            written = {a["id"]: a["version"] for a in crew.acks() if a["db"] == db}
            assert any(v < record.version for v in written.values()), "the writer never overlapped the revert"
            status = {n.id: n.status for n in store.notes(namespace="t", status="all")}
            left = [i for i, v in written.items() if v < record.version and status[i] != "retracted"]
            assert not left, f"{len(left)} notes written before the revert survived it"
            assert all(status[i] == "active" for i, v in written.items() if v > record.version)
            old = [n for n in store.notes(namespace="t") if n.text.startswith("old note")]
            assert len(old) == REVIVED
    finally:
        for store in stores:
            store.close()
