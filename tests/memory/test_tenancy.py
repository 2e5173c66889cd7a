"""Issue 15 items 1 and 4: revert, log and every call by id act on one namespace (default `default`);
another namespace's rows are neither shown nor changed, and another namespace's id is "no such fact".
On SQLite and on the real PostgreSQL server, through the API and through the CLI."""
from __future__ import annotations

import pytest

from memory_store import NotFoundError
from tests.reliability.helpers import assert_clean_error, fingerprint, run_cli

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_revert_acts_on_one_namespace_and_says_what_changed(store):
    from memory_store.revert import revert_summary

    store.add_fact("acme", "ceo", "Alice")  # v1 (default)
    store.add_fact("globex", "ceo", "Carol", namespace="tenant-b")  # v2
    store.add_fact("acme", "ceo", "Bob")  # v3 (default)
    store.add_note("a note of tenant b", namespace="tenant-b")  # v4
    other = fingerprint(store, "tenant-b")
    record = store.revert("v1")
    assert record.namespace == "default" and fingerprint(store, "tenant-b") == other
    assert store.current("acme", "ceo").object == "Alice"
    assert store.current("globex", "ceo", namespace="tenant-b").object == "Carol"
    summary = revert_summary(record)
    assert {(c["what"], c["from"], c["to"]) for c in summary["changes"]} == {
        ("acme ceo Bob", "active", "retracted"), ("acme ceo Alice", "superseded", "active")}
    store.revert("v2", namespace="tenant-b")  # tenant-b's own revert: its note goes, default is untouched
    assert store.notes(namespace="tenant-b") == [] and store.current("acme", "ceo").object == "Alice"


def test_by_id_calls_and_log_are_scoped(store):
    secret = store.add_fact("globex", "password", "hunter2", namespace="t1").fact
    note = store.add_note("t1 private note", namespace="t1")
    mine = store.add_fact("acme", "ceo", "Alice").fact
    before = fingerprint(store)
    for call in (lambda: store.retract(secret.id), lambda: store.expire(secret.id),
                 lambda: store.validate_fact(secret.id), lambda: store.adjust_confidence(secret.id, -0.5),
                 lambda: store.get_fact(secret.id), lambda: store.retract_note(note.id),
                 lambda: store.get_note(note.id), lambda: store.retract(mine.id, namespace="t1")):
        with pytest.raises(NotFoundError):
            call()
    assert fingerprint(store) == before
    assert [r.namespace for r in store.log()] == ["default"]
    assert all(r.namespace == "t1" for r in store.log(namespace="t1")) and len(store.log(namespace="t1")) == 2
    assert store.retract(secret.id, namespace="t1").status == "retracted"
    assert store.get_note(note.id, namespace="t1").text == "t1 private note"


def test_cli_log_retract_revert_are_scoped(db_url, home, embedder):
    cli = lambda *a: run_cli(list(a), db=db_url, home=home)  # noqa: E731
    assert cli("memory", "add-fact", "globex", "secret", "s3cr3t-value", "-n", "t1").code == 0
    assert cli("memory", "add-fact", "acme", "ceo", "Alice").code == 0
    assert cli("memory", "add-fact", "acme", "ceo", "Bob").code == 0
    log = cli("memory", "log", "--json")
    assert log.code == 0 and "s3cr3t-value" not in log.out and {r["namespace"] for r in log.json()} == {"default"}
    assert "s3cr3t-value" in cli("memory", "log", "-n", "t1", "--json").out
    assert "no fact with id 1" in assert_clean_error(cli("memory", "retract", "1"))  # fact 1 is t1's
    reverted = cli("memory", "revert", "v2", "--json")
    assert reverted.code == 0, reverted.err
    assert reverted.json()["namespace"] == "default" and reverted.json()["changed"] == 2
    t1 = cli("memory", "facts", "-n", "t1", "--json").json()
    assert [(f["object"], f["status"]) for f in t1] == [("s3cr3t-value", "active")]
    assert cli("memory", "retract", "1", "-n", "t1").code == 0
