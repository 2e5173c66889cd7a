"""SIGTERM while clients are writing: the server stops accepting, finishes what it accepted, saves the search
cache and exits 0; every acknowledged write is in the database once, and the store is consistent."""
from __future__ import annotations

import json
import threading
import time

import pytest

from agentcl.client import Client, ServerError


def test_sigterm_during_writes_loses_no_acknowledged_write(tmp_path, embedder):
    from agentcl_bench.server_process import ServerProcess
    from memory_store import MemoryStore
    from memory_store.integrity import check_integrity

    home, ns = tmp_path / "home", "shutdown"
    db = f"sqlite:///{tmp_path / 'memory.db'}"
    acked: list[int] = []
    failures: list[str] = []
    stop = threading.Event()

    def writer(w: int) -> None:
        with Client(srv.url, namespace=ns, timeout=60) as client:
            i = 0
            while not stop.is_set():
                try:
                    acked.append(client.add_note(f"writer {w} note {i} about the quarterly plan").id)
                except ServerError as exc:  # refused once the server is going away: nothing was written
                    failures.append(str(exc))
                    return
                i += 1

    srv = ServerProcess(home, db=db).start()
    try:
        with Client(srv.url, namespace=ns) as client:
            client.add_note("first note, so the namespace's search cache is loaded")
            assert client.search("first note", k=1)
        threads = [threading.Thread(target=writer, args=(w,)) for w in range(4)]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 120
        while len(acked) < 12 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(acked) >= 12, "the writers made no progress"
        code = srv.stop(timeout=120)  # SIGTERM, with writes in flight
    finally:
        stop.set()
        srv.stop()
    for t in threads:
        t.join(60)
    assert code == 0, srv.log()[-2000:]
    log = srv.log()
    assert "Shutting down" in log and "search caches saved" in log and "Traceback" not in log
    assert all("cannot reach the agentcl server" in f for f in failures)

    with MemoryStore.open(db, home=home, embedder=embedder) as store:
        stored = [n.id for n in store.notes(namespace=ns)]
        last_version = store.current_version()
        report = check_integrity(store, [ns])
        saved = [json.loads(p.read_text()) for p in store.index_dir.glob("*.json")]
    assert set(acked) <= set(stored) and len(set(acked)) == len(acked)
    assert len(stored) - 1 - len(acked) <= 4  # at most one unanswered write per writer, and none half-written
    assert report["ok"], report
    assert [m["version"] for m in saved] == [last_version]  # the cache was saved at the last write


@pytest.fixture(autouse=True)
def _no_stray_server_env(monkeypatch):
    monkeypatch.delenv("AGENTCL_SERVER", raising=False)
    monkeypatch.delenv("AGENTCL_API_KEY", raising=False)
