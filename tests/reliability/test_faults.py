"""Faults a user meets: a search cache whose vectors were damaged, a full disk, a corrupted SQLite file,
AGENTCL_HOME pointing at a file, a connection pool of one. Each ends in correct answers or in one line
naming what failed (exit 2), never a traceback, on SQLite and on the PostgreSQL server. Every fault is
real: bytes overwritten on disk, a tmpfs filled to the last byte, a real pool limit."""
from __future__ import annotations

import logging
import os
import subprocess
import uuid

import numpy as np
import pytest

from memory_store import MemoryStore
from memory_store.integrity import check_integrity
from tests.reliability.helpers import assert_clean_error, fingerprint, run_cli

pytestmark = pytest.mark.usefixtures("one_torch_thread")

NOTES = ["The launch is planned for March", "The budget was approved", "Dana prefers morning meetings",
         "The office moves to Lyon in May", "Invoices are paid on the first Monday"]


def _seeded(url, home, embedder) -> MemoryStore:
    """A store with NOTES whose search cache was built and saved (on close)."""
    with MemoryStore.open(url, home=home, embedder=embedder) as store:
        store.add_notes([{"text": t} for t in NOTES])
        assert store.search("launch", k=1)
    return store


# -- 5: damaged vectors in an intact cache file ------------------------------------------------------
def test_damaged_vectors_in_an_intact_cache_are_rebuilt_with_a_warning(db_url, home, embedder, caplog):
    old = _seeded(db_url, home, embedder)
    (faiss_file,) = [p for p in old.index_dir.iterdir() if p.suffix == ".faiss"]
    data = bytearray(faiss_file.read_bytes())
    # An IndexFlat file ends with its vectors: the last two become random floats, the structure stays.
    noise = np.random.default_rng(0).standard_normal(2 * embedder.dim).astype(np.float32).tobytes()
    data[-len(noise):] = noise
    faiss_file.write_bytes(bytes(data))
    with caplog.at_level(logging.WARNING, logger="memory_store"), \
            MemoryStore.open(db_url, home=home, embedder=embedder) as store:
        for text in NOTES[-2:]:  # the damaged rows are found again by their own text
            assert store.search(text, k=1)[0].text == text
        assert check_integrity(store, ["default"])["ok"]
    assert any("rebuilding from SQL" in r.getMessage() for r in caplog.records), caplog.text
    caplog.clear()  # the rebuilt cache was saved on close, and the next open takes it without complaint
    with caplog.at_level(logging.WARNING, logger="memory_store"), \
            MemoryStore.open(db_url, home=home, embedder=embedder) as store:
        assert store.search(NOTES[-1], k=1)[0].text == NOTES[-1]
    assert not caplog.records, caplog.text


def test_a_cache_that_does_not_match_sql_is_rebuilt(db_url, home, embedder, caplog):
    """Intact files (checksums right) whose vectors are not SQL's: the spot check against SQL finds it."""
    from memory_store.index_cache import index_file_name
    from memory_store.vector_index import NamespaceIndex

    old = _seeded(db_url, home, embedder)
    name = index_file_name("default")
    idx = NamespaceIndex.load(old.index_dir, name, dim=embedder.dim, model=embedder.name)
    vectors = idx.index.reconstruct_n(0, idx.index.ntotal)
    idx.index.reset()
    idx.index.add(np.ascontiguousarray(vectors[::-1]))  # every row gets another row's vector
    idx.save(old.index_dir, name, embedder.name)
    with caplog.at_level(logging.WARNING, logger="memory_store"), \
            MemoryStore.open(db_url, home=home, embedder=embedder) as store:
        assert store.search(NOTES[0], k=1)[0].text == NOTES[0]
    assert any("does not match SQL" in r.getMessage() for r in caplog.records), caplog.text


# -- 6: a full disk ----------------------------------------------------------------------------------
@pytest.fixture
def full_disk(tmp_path):
    """A real 6 MiB tmpfs; `fill()` then takes every free byte, so the next write meets ENOSPC."""
    mount = tmp_path / "small"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=6m", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {done.stderr.decode().strip()}")

    def fill():
        fd = os.open(mount / "filler", os.O_WRONLY | os.O_CREAT)
        try:
            for size in (1 << 20, 4096, 1):  # big blocks, then the last partial ones
                try:
                    while True:
                        os.write(fd, b"\0" * size)
                except OSError:
                    pass
        finally:
            os.close(fd)

    try:
        yield mount, fill
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_full_disk_write_is_one_line_and_a_read_still_answers(db_url, full_disk, embedder, caplog):
    import sqlite3

    mount, fill = full_disk
    home = mount / "home"
    home.mkdir()
    sqlite = not db_url.startswith("postgresql")
    url = f"sqlite:///{home / 'memory.db'}" if sqlite else db_url
    with MemoryStore.open(url, home=home, embedder=embedder) as store:
        store.add_notes([{"text": t} for t in NOTES])
        store.search("launch", k=1)
    with MemoryStore.open(url, home=home, embedder=embedder) as store:
        store.add_note("a note the next search catches up with")  # the saved cache is behind: a search saves it
        before = fingerprint(store)
    # SQLite in WAL mode needs its shared-memory file, which another process using the store (an agent,
    # a server) keeps in place; the last connection to close removes it.
    keeper = sqlite3.connect(home / "memory.db") if sqlite else None
    if keeper is not None:
        keeper.execute("SELECT count(*) FROM notes").fetchone()
    fill()
    note = " ".join(["words that need new pages"] * 3000)
    if sqlite:  # the database is on the full disk: the write fails in one line that says so
        line = assert_clean_error(run_cli(["memory", "add-note", note], db=url, home=home))
        assert "the disk is full" in line and "memory.db" in line, line
    # A file the CLI writes on the full disk (an export): one line, not a traceback.
    line = assert_clean_error(run_cli(["memory", "export", str(mount / "mem.jsonl")], db=url, home=home))
    assert "the disk is full" in line or "No space left on device" in line, line
    with caplog.at_level(logging.WARNING, logger="memory_store"):
        found = run_cli(["memory", "search", "when is the launch", "--json", "-k", "1"], db=url, home=home)
    assert found.code == 0, found.err
    assert found.json()[0]["text"] == NOTES[0]
    assert any("could not save search index" in r.getMessage() for r in caplog.records), caplog.text
    if sqlite:
        keeper.close()  # the last other connection gone: SQLite may need a shared-memory file it cannot make
        again = run_cli(["memory", "search", "when is the launch", "--json", "-k", "1"], db=url, home=home)
        if again.code == 0:
            assert again.json()[0]["text"] == NOTES[0]
        else:
            assert "the disk is full" in assert_clean_error(again)
    else:  # the server's disk is not full: the write succeeds though its cache cannot be saved
        added = run_cli(["memory", "add-note", note, "--json"], db=url, home=home)
        assert added.code == 0, added.err
    (mount / "filler").unlink()
    with MemoryStore.open(url, home=home, embedder=embedder) as store:
        assert (fingerprint(store) == before) is sqlite  # the failed write left nothing behind


# -- 7: a corrupted SQLite file ----------------------------------------------------------------------
def test_corrupted_sqlite_file_is_one_line_naming_the_database(tmp_path, home, embedder):
    db = tmp_path / "memory.db"
    url = f"sqlite:///{db}"
    with MemoryStore.open(url, home=home, embedder=embedder) as store:
        store.add_notes([{"text": f"{t} (copy {i})"} for i in range(40) for t in NOTES])
        for i in range(60):
            store.add_fact(f"company{i}", "ceo", f"Person {i}")
    import sqlite3

    with sqlite3.connect(db) as conn:  # fold the WAL into the file, as a clean shutdown would
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        page = conn.execute("PRAGMA page_size").fetchone()[0]
    data = bytearray(db.read_bytes())
    rng = np.random.default_rng(1)
    for number in range(3, len(data) // page, 4):  # every fourth page from the third overwritten: b-trees break
        data[number * page:(number + 1) * page] = rng.integers(0, 256, page, dtype=np.uint8).tobytes()
    db.write_bytes(bytes(data))
    for args in (["memory", "facts"], ["memory", "add-note", "after the damage"], ["memory", "log"],
                 ["memory", "search", "launch"], ["memory", "add-fact", "acme", "ceo", "Zed"],
                 ["memory", "audit"], ["memory", "history", "company3", "ceo"]):
        line = assert_clean_error(run_cli(args, db=url, home=home))
        assert str(db) in line, (args, line)


# -- 8: AGENTCL_HOME is a file -----------------------------------------------------------------------
@pytest.mark.parametrize("args", [["init"], ["memory", "facts"], ["memory", "search", "launch"], ["skills", "list"],
                                  ["consolidate", "status"]])
def test_home_that_is_a_file_is_one_line(tmp_path, monkeypatch, capfd, args):
    from cli.main import main

    home = tmp_path / "not-a-dir"
    home.write_text("a file, not a directory")
    monkeypatch.setenv("AGENTCL_HOME", str(home))
    monkeypatch.delenv("AGENTCL_DB_URL", raising=False)
    with pytest.raises(SystemExit) as exit_:
        main(args)
    out, err = capfd.readouterr()
    assert exit_.value.code == 2, (out, err)
    assert err.count("\n") == 1 and err.startswith("error: ") and "Traceback" not in err, err
    assert "not a directory" in err, err
    assert home.read_text() == "a file, not a directory"


def test_a_file_where_the_cache_directory_goes_is_one_line(tmp_path):
    """A file-system fault below AGENTCL_HOME (here `index` is a file): the CLI's OSError line, exit 2."""
    home = tmp_path / "home"
    home.mkdir()
    (home / "index").write_text("not a directory")
    line = assert_clean_error(run_cli(["memory", "search", "launch"], db=f"sqlite:///{home / 'memory.db'}", home=home))
    assert str(home / "index") in line, line


# -- 17: one connection per operation ----------------------------------------------------------------
def _one_connection_store(url, home, embedder) -> MemoryStore:
    from memory_store.config import database_url
    from memory_store.db import make_engine, migrate

    engine = make_engine(url, pool_size=1, max_overflow=0, pool_timeout=3)
    migrate(engine)
    return MemoryStore(engine, url=database_url(url, home), home=home, embedder=embedder)


def test_every_search_works_with_a_pool_of_one_connection(db_url, home, embedder):
    _seeded(db_url, home, embedder)  # a saved cache: the first search below loads it
    store = _one_connection_store(db_url, home, embedder)
    try:
        store.add_note("Dana moved the launch review to Friday", metadata={"topic": "launch"})  # cache behind SQL
        assert store.search("launch review", k=1)[0].text == "Dana moved the launch review to Friday"
        hits = store.search_many(["launch", "budget"], k=2, metadata={"topic": "launch"})
        assert [h.text for h in hits[0]] == ["Dana moved the launch review to Friday"]
        assert store.search("budget", k=1, kind="note")[0].text == "The budget was approved"
        other = f"fresh-{uuid.uuid4().hex[:6]}"  # a namespace never loaded: load or rebuild on first search
        store.add_notes([{"text": t} for t in NOTES], namespace=other)
        store.cache.indexes.pop(other, None)
        assert store.search("morning meetings", namespace=other, k=1)[0].text == NOTES[2]
        assert check_integrity(store, ["default", other])["ok"]
    finally:
        store.close()


def test_an_exhausted_pool_is_one_line(db_url, home, embedder, monkeypatch):
    """Every connection taken (here held by the test): the CLI's error is one line naming the database."""
    import contextlib

    store = _one_connection_store(db_url, home, embedder)
    monkeypatch.setattr("cli.memory_cmd.open_store", lambda **kw: contextlib.nullcontext(store))
    try:
        with store.engine.connect():  # the only connection of the pool, held
            line = assert_clean_error(run_cli(["memory", "search", "launch"], db=db_url, home=home))
        assert line.startswith("error: database ") and "QueuePool limit" in line, line
    finally:
        store.close()
