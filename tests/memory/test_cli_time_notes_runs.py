"""Issue 16 in the CLI: world-time flags, notes and retract-note, search filters, `agentcl runs` and
`--run ID`, and tables that fit 80 columns. SQLite and PostgreSQL (the `db_url` fixture)."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from memory_store import MemoryStore
from tests.reliability.helpers import assert_clean_error, fingerprint

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.usefixtures("one_torch_thread")


def ok(result):
    assert result.code == 0, (result.code, result.err[-2000:])
    return json.loads(result.out) if result.out.lstrip().startswith(("{", "[")) else result.out


def test_world_time_flags(cli):
    ok(cli("memory", "add-fact", "z", "ceo", "Alice", "--valid-from", "2020-01-01"))
    first = ok(cli("init", "--json"))["version"]
    bob = ok(cli("memory", "add-fact", "z", "ceo", "Bob", "--valid-from", "2099-01-01", "--json"))
    assert bob["action"] == "scheduled" and bob["fact"]["status"] == "scheduled"
    now = ok(cli("memory", "facts", "--json"))
    assert [(f["object"], f["status"], f["valid_to"]) for f in now] == [("Alice", "active", "2099-01-01T00:00:00Z")]
    later = ok(cli("memory", "facts", "--valid-at", "2099-02-01", "--json"))
    assert [(f["object"], f["status"]) for f in later] == [("Bob", "scheduled")]
    believed = ok(cli("memory", "facts", "--valid-at", "2099-02-01", "--as-of", f"v{first}", "--json"))
    assert [f["object"] for f in believed] == ["Alice"]
    assert [f["object"] for f in ok(cli("memory", "facts", "--status", "scheduled", "--json"))] == ["Bob"]
    expired = ok(cli("memory", "add-fact", "y", "role", "temp", "--valid-from", "2026-03-29", "--ttl", "1d", "--json"))
    assert expired["fact"]["status"] == "expired"
    hits = ok(cli("memory", "search", "ceo of z", "--kind", "fact", "--valid-at", "2099-02-01", "--json"))
    assert [h["text"] for h in hits][:1] == ["z ceo Bob"]
    hits = ok(cli("memory", "search", "ceo of z", "--kind", "fact", "--as-of", f"v{first}", "--json"))
    assert [h["text"] for h in hits] == ["z ceo Alice"]
    assert ok(cli("memory", "search", "temp role", "--kind", "fact", "--status", "expired", "--json"))[0]["text"] \
        == "y role temp"
    assert_clean_error(cli("memory", "facts", "--valid-at", "not a time"))
    assert_clean_error(cli("memory", "facts", "--status", "sideways"))


def test_notes_speaker_meta_and_retract_note_scoped_to_namespace(cli, db_url, home, embedder):
    ok(cli("memory", "add-note", "the offsite is in Lisbon", "--speaker", "ops", "--meta", "topic=travel"))
    ok(cli("memory", "add-note", "the budget is approved", "--speaker", "finance"))
    other = ok(cli("memory", "add-note", "a secret of another tenant", "-n", "other", "--json"))
    by_ops = ok(cli("memory", "notes", "--speaker", "ops", "--json"))
    assert [n["text"] for n in by_ops] == ["the offsite is in Lisbon"]
    assert [n["text"] for n in ok(cli("memory", "notes", "--meta", "topic=travel", "--json"))] == \
        ["the offsite is in Lisbon"]
    hits = ok(cli("memory", "search", "what is planned", "--speaker", "ops", "--json"))
    assert [h["text"] for h in hits] == ["the offsite is in Lisbon"]
    meta_speaker = ok(cli("memory", "add-note", "the venue is booked", "--meta", "speaker=ops", "--json"))
    assert meta_speaker["speaker"] == "ops" and "speaker" not in meta_speaker["metadata"]
    hits = ok(cli("memory", "search", "venue", "--meta", "speaker=ops", "--json"))
    assert "the venue is booked" in [h["text"] for h in hits]
    with MemoryStore.open(db_url, home=home, embedder=embedder) as store:
        before = fingerprint(store)
    assert_clean_error(cli("memory", "retract-note", str(other["id"])))  # it lives in namespace 'other'
    with MemoryStore.open(db_url, home=home, embedder=embedder) as store:
        assert fingerprint(store) == before
    done = ok(cli("memory", "retract-note", str(other["id"]), "-n", "other", "--json"))
    assert done["status"] == "retracted"
    assert ok(cli("memory", "notes", "-n", "other", "--json")) == []
    assert [n["status"] for n in ok(cli("memory", "notes", "-n", "other", "--status", "all", "--json"))] == ["retracted"]


def test_add_notes_takes_plain_strings(store):
    notes = store.add_notes(["first plain note", {"text": "an object note", "speaker": "ops"}])
    assert [(n.text, n.speaker) for n in notes] == [("first plain note", None), ("an object note", "ops")]
    assert len({n.version for n in notes}) == 1


def test_runs_list_show_and_run_shorthand(cli, home):
    report = ok(cli("run", "--scenario", str(ROOT / "examples" / "my_scenario.json"), "--json"))
    run_id, ns = report["run_id"], report["namespace"]
    listed = ok(cli("runs", "--json"))
    assert [(r["run_id"], r["namespace"], r["scenario"]) for r in listed] == [(run_id, ns, report["scenario"])]
    assert {"finished_at", "tasks", "success_rate", "stale_answer_rate"} <= set(listed[0])
    assert ok(cli("runs", "show", run_id, "--json"))["namespace"] == ns
    by_run = ok(cli("memory", "facts", "--run", run_id, "--json"))
    assert by_run and {f["namespace"] for f in by_run} == {ns}
    assert by_run == ok(cli("memory", "facts", "-n", ns, "--json"))
    assert ok(cli("memory", "facts", "--json")) == []  # the run did not write into 'default'
    assert "finding" in ok(cli("memory", "audit", "--run", run_id))
    assert ok(cli("consolidate", "status", "--run", run_id, "--json"))["namespace"] == ns
    for bad in (["memory", "facts", "--run", "nope"], ["memory", "facts", "--run", "../etc"],
                ["memory", "facts", "--run", run_id, "-n", "other"], ["runs", "show", "nope"]):
        assert_clean_error(cli(*bad))


def test_tables_fit_80_columns(cli, monkeypatch):
    # the terminal's width as rich reads it on each print (setting console.width instead would pin the
    # shared console at 80 for every later test in the process: monkeypatch restores it by the setter)
    monkeypatch.setenv("COLUMNS", "80")
    ok(cli("memory", "add-fact", "Zenith Corporation International", "ceo", "Alice Wonderland-Smithsonian III"))
    ok(cli("memory", "add-note", "the offsite is in Lisbon next spring"))
    ok(cli("memory", "add-note", "the offsite is in Lisbon next spring."))
    for args in (["memory", "facts"], ["memory", "history", "Zenith Corporation International", "ceo"],
                 ["memory", "notes"], ["memory", "search", "offsite"], ["memory", "audit"]):
        out = ok(cli(*args))
        assert max(len(line) for line in out.splitlines()) <= 80, out
        assert "{'" not in out  # no raw Python dicts
    facts = ok(cli("memory", "facts"))
    assert "active" in facts and "…" in facts  # whole words where it matters, an ellipsis where cut
    assert not re.search(r"\d{4}-\d\d-\d\dT\d\d", facts)  # compact times, not ISO strings
