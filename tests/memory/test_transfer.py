"""Issue 15 items 14, 15 and 19: export writes only regular files (through a symlink, atomically), imports
are idempotent, and a note import is streamed in batches inside one transaction whose version record
does not hold every row. On SQLite and on the real PostgreSQL server."""
from __future__ import annotations

import json
import os

import numpy as np
import pytest
from sqlalchemy import select

from memory_store import UserError, tables
from tests.reliability.helpers import assert_clean_error, fingerprint, run_cli

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _conversation(path, n: int, *, start: int = 0) -> None:
    path.write_text("".join(json.dumps({"id": f"m{i}", "speaker": "ann" if i % 2 else "bob", "thread": f"t{i % 3}",
                                        "text": f"message {i} about the launch", "time": "2024-05-01T10:00:00Z"}) + "\n"
                            for i in range(start, n)))


def _seed(store) -> None:
    store.add_fact("acme", "ceo", "Alice", valid_from="2020-01-01")
    store.add_fact("acme", "ceo", "Bob", valid_from="2022-01-01")
    store.retract(store.add_fact("globex", "hq", "Lyon").fact.id)
    store.retract_note(store.add_note("a retracted note").id)
    store.add_note("the launch is in March")
    store.set_policy("hq", ttl="7d")
    store.add_alias("acme corp", "acme")


def test_export_writes_through_a_symlink(store, tmp_path):
    store.add_note("exported note")
    target = tmp_path / "real.jsonl"
    target.write_text("old content\n")
    os.chmod(target, 0o640)
    link = tmp_path / "link.jsonl"
    link.symlink_to(target)
    assert store.export_jsonl(link) == 1
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert json.loads(target.read_text())["text"] == "exported note"
    assert oct(target.stat().st_mode & 0o777) == oct(0o640)
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix == ".tmp") == []


def test_export_refuses_what_is_not_a_regular_file(db_url, home, embedder, tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    (tmp_path / "dir").mkdir()
    targets = [fifo, tmp_path / "dir"] + ([os.devnull] if os.geteuid() == 0 else [])
    for target in targets:
        line = assert_clean_error(run_cli(["memory", "export", str(target)], db=db_url, home=home))
        assert "not a regular file" in line
    assert fifo.is_fifo() and (tmp_path / "dir").is_dir() and list((tmp_path / "dir").iterdir()) == []
    if os.geteuid() == 0:
        assert not os.path.isfile(os.devnull)


def test_export_then_import_into_the_same_store_adds_nothing(db_url, home, embedder, tmp_path):
    from memory_store import MemoryStore

    with MemoryStore.open(db_url, home=home, embedder=embedder) as store:
        _seed(store)
        before = fingerprint(store)
    out = tmp_path / "mem.jsonl"
    cli = lambda *a: run_cli(list(a), db=db_url, home=home)  # noqa: E731  (the README's own commands)
    assert cli("memory", "export", str(out)).code == 0
    result = cli("memory", "import", str(out), "--json")
    assert result.code == 0, result.err
    report = result.json()
    assert report["version"] is None and report["facts"] == report["notes"] == 0
    assert report["skipped"] == {"facts": 3, "notes": 2, "policies": 1, "aliases": 1}
    with MemoryStore.open(db_url, home=home, embedder=embedder) as store:
        assert fingerprint(store) == before
    copied = cli("memory", "import", str(out), "-n", "copy", "--json").json()  # another namespace: a copy
    assert copied["notes"] == 2 and copied["skipped"]["notes"] == 0


def test_a_conversation_imported_twice_is_stored_once(store, tmp_path):
    path = tmp_path / "chat.jsonl"
    _conversation(path, 20)
    first = store.import_jsonl(path, format="conversation", namespace="chat")
    assert first["notes"] == 20 and first["skipped"]["notes"] == 0
    before = fingerprint(store)
    again = store.import_jsonl(path, format="conversation", namespace="chat")
    assert again["notes"] == 0 and again["skipped"]["notes"] == 20 and fingerprint(store) == before
    _conversation(path, 25, start=15)  # overlapping: 15..19 known, 20..24 new
    path.write_text(path.read_text() + json.dumps({"id": "m24", "text": "a repeated id in one file"}) + "\n")
    more = store.import_jsonl(path, format="conversation", namespace="chat")
    assert more["notes"] == 5 and more["skipped"]["notes"] == 6
    assert len(store.notes(namespace="chat")) == 25
    assert store.import_jsonl(path, format="conversation", namespace="other")["notes"] == 10  # per namespace


def test_streamed_import_batches_one_version_no_inline_rows(store, tmp_path):
    path = tmp_path / "chat.jsonl"
    _conversation(path, 40)
    seen = []
    report = store.import_jsonl(path, format="conversation", namespace="small", batch_size=7,
                                progress=lambda stage, done, total: seen.append((stage, done, total)))
    assert report["notes"] == 40 and store.current_version() == report["version"]
    assert seen[-1] == ("writing", 40, 40) and ("embedding", 7, 40) in seen
    record = store.log(namespace="small")[-1]
    assert not record.after and record.affected == [
        {"kind": "note", "first_id": record.affected[0]["first_id"], "last_id": record.affected[0]["first_id"] + 39,
         "count": 40}]
    # The vectors are those of one big batch: thread context carries over from batch to batch.
    store.import_jsonl(path, format="conversation", namespace="big", batch_size=512)
    with store.engine.connect() as conn:
        vec = {ns: np.vstack([np.frombuffer(r[0], dtype=np.float32) for r in conn.execute(
            select(tables.notes.c.embedding).where(tables.notes.c.namespace == ns).order_by(tables.notes.c.id))])
            for ns in ("small", "big")}
    assert np.allclose(vec["small"], vec["big"], atol=1e-5)
    assert store.search("message 17 about the launch", namespace="small", k=1)[0].text == "message 17 about the launch"
    # Reverting to before the import retracts exactly those notes; reverting to it brings them back.
    store.revert(report["version"] - 1, namespace="small")
    assert store.notes(namespace="small") == [] and len(store.notes(namespace="big")) == 40
    store.revert(report["version"], namespace="small")
    assert len(store.notes(namespace="small")) == 40


def test_a_bad_line_after_many_good_ones_writes_nothing(store, tmp_path):
    path = tmp_path / "chat.jsonl"
    _conversation(path, 30)
    path.write_text(path.read_text() + '{"id": "x", "speaker": "ann"}\n')
    before = fingerprint(store)
    with pytest.raises(UserError, match="line 31: missing field 'text'"):
        store.import_jsonl(path, format="conversation", namespace="chat", batch_size=4)
    assert fingerprint(store) == before and not list(store.home.glob(".import-*"))


def test_exported_ids_beyond_sql_integers_are_simply_new_rows(store, tmp_path):
    path = tmp_path / "big-ids.jsonl"
    path.write_text(json.dumps({"type": "note", "text": "a note", "id": 2 ** 40}) + "\n" +
                    json.dumps({"type": "fact", "subject": "a", "predicate": "b", "object": "c", "id": 2 ** 40}) + "\n")
    report = store.import_jsonl(path)
    assert report["notes"] == 1 and report["facts"] == 1
