"""`agentcl memory ...` end to end through the console script's own function (cli.main:main): every
command, its --json shape, and bad input -> exit 2 with one line and nothing written. The whole flow
runs on SQLite and on the real PostgreSQL server."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from memory_store import MemoryStore
from tests.reliability.helpers import assert_clean_error, fingerprint, run_cli

FACT_KEYS = {"id", "namespace", "subject", "predicate", "object", "status", "valid_from", "valid_to", "expires_at",
             "confidence", "source", "version"}
NOTE_KEYS = {"id", "namespace", "text", "speaker", "status", "expires_at", "version", "metadata"}
REPO = Path(__file__).resolve().parents[2]


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def ok(result) -> object:
    assert result.code == 0, (result.code, result.err[-2000:])
    assert result.err == "" or "error" not in result.err
    return result.json() if result.out.lstrip().startswith(("{", "[")) else result.out


def test_every_memory_command(cli, tmp_path):
    init = ok(cli("init", "--json"))
    assert set(init) == {"home", "database", "index_dir", "version"} and init["version"] == 0

    added = ok(cli("memory", "add-fact", "Acme", "CEO", "Alice", "--valid-from", "2024-01-01", "--confidence", "0.9",
                   "--source", "wiki", "--json"))
    assert added["action"] == "inserted" and added["version"] == 1
    fact = added["fact"]
    assert FACT_KEYS <= set(fact)
    assert (fact["subject"], fact["predicate"], fact["object"], fact["status"], fact["confidence"], fact["source"],
            fact["namespace"], fact["valid_from"], fact["valid_to"], fact["expires_at"]) == (
        "acme", "ceo", "Alice", "active", 0.9, "wiki", "default", "2024-01-01T00:00:00Z", None, None)
    newer = ok(cli("memory", "add-fact", "acme", "ceo", "Bob", "--valid-from", "2025-01-01", "--ttl", "7d", "--json"))
    assert newer["action"] == "superseded" and newer["superseded"] == [fact["id"]]
    assert newer["fact"]["expires_at"] == "2025-01-08T00:00:00Z"
    ok(cli("memory", "add-fact", "acme", "hq", "Paris", "-n", "other", "--json"))

    note = ok(cli("memory", "add-note", "The launch is planned for March", "--meta", "topic=launch", "--speaker", "dana",
                  "--json"))
    assert NOTE_KEYS <= set(note) and note["metadata"] == {"topic": "launch"} and note["speaker"] == "dana"

    active = ok(cli("memory", "facts", "--json"))
    assert [f["object"] for f in active] == [] or all(FACT_KEYS <= set(f) for f in active)
    everything = ok(cli("memory", "facts", "--status", "all", "--json"))
    assert {f["object"]: f["status"] for f in everything} == {"Alice": "superseded", "Bob": _bob_status(newer)}
    assert [f["object"] for f in ok(cli("memory", "facts", "--as-of", "v1", "--json"))] == ["Alice"]
    assert [f["object"] for f in ok(cli("memory", "facts", "-n", "other", "--json"))] == ["Paris"]
    assert [f["object"] for f in ok(cli("memory", "history", "ACME", "ceo", "--json"))] == ["Alice", "Bob"]

    hits = ok(cli("memory", "search", "when is the launch", "-k", "3", "--kind", "note", "--json"))
    assert hits[0]["text"] == "The launch is planned for March"
    assert set(hits[0]) >= {"id", "kind", "text", "score", "metadata", "status", "namespace"}
    assert ok(cli("memory", "search", "launch", "--meta", "topic=launch", "--json"))[0]["kind"] == "note"

    log = ok(cli("memory", "log", "--json"))
    assert [r["version"] for r in log] == [1, 2, 4] and {"op", "actor", "at", "affected"} <= set(log[0])
    assert [r["version"] for r in ok(cli("memory", "log", "--since", "2", "--limit", "1", "--json"))] == [4]
    assert [r["version"] for r in ok(cli("memory", "log", "-n", "other", "--json"))] == [3]

    policy = ok(cli("memory", "set-policy", "likes", "--multi", "--json"))
    assert policy == {"predicate": "likes", "functional": False, "rule": "latest", "ttl_s": None, "source_priority": []}
    retracted = ok(cli("memory", "retract", str(newer["fact"]["id"]), "--reason", "wrong", "--json"))
    assert retracted["status"] == "retracted"
    reverted = ok(cli("memory", "revert", "v4", "--json"))
    assert reverted["op"] == "revert" and reverted["version"] == 7
    assert {f["object"]: f["status"] for f in ok(cli("memory", "facts", "--status", "all", "--json"))}["Bob"] != \
        "retracted"

    audit = ok(cli("memory", "audit", "--json"))
    assert {"conflicts", "expired_present", "near_duplicates", "low_confidence", "at_risk", "probes"} <= set(audit)

    plan = ok(cli("memory", "prune", "--superseded", "--older-than", "90s", "--dry-run", "--json"))
    assert plan["dry_run"] is True and plan["version"] is None
    pruned = ok(cli("memory", "prune", "--superseded", "--older-than", "0", "--json"))
    assert pruned["facts"] == [fact["id"]] and pruned["version"] == 8

    out = tmp_path / "export.jsonl"
    exported = ok(cli("memory", "export", str(out), "--json"))
    assert exported["lines"] == len(out.read_text().splitlines()) >= 3
    imported = ok(cli("memory", "import", str(out), "-n", "copy", "--json"))
    assert imported["version"] == 9 and imported["notes"] == 1
    conv = tmp_path / "conv.jsonl"
    conv.write_text('{"id": "m1", "speaker": "ann", "text": "hello there", "time": "2024-05-01T10:00:00Z"}\n')
    assert ok(cli("memory", "import", str(conv), "--format", "conversation", "-n", "chat", "--json"))["notes"] == 1

    for args in (["memory", "facts"], ["memory", "log"], ["memory", "audit"], ["memory", "search", "launch"],
                 ["memory", "history", "acme", "ceo"], ["init"]):  # the tables render too
        assert cli(*args).code == 0


def _bob_status(newer: dict) -> str:
    return "expired" if newer["fact"]["expires_at"] < "2026" else "active"  # a 7-day TTL from 2025-01-01


BAD = [
    (["memory", "add-fact", "", "ceo", "x"], "subject is empty"),
    (["memory", "add-fact", "a", "b", "c", "--confidence", "1.5"], "confidence"),
    (["memory", "add-fact", "a", "b", "c", "--confidence", "nan"], "confidence"),
    (["memory", "add-fact", "a", "b", "c", "--valid-from", "2024-13-01"], "bad time"),
    (["memory", "add-fact", "a", "b", "c", "--valid-from", "9998-12-31", "--ttl", "2w"], "out of range"),
    (["memory", "add-fact", "a", "b", "c", "--ttl", "forever"], "bad duration"),
    (["memory", "add-fact", "a", "b", "c", "--ttl", "99999999999999w"], "too long"),
    (["memory", "add-fact", "a", "b", "x" * 10_001], "too long"),
    (["memory", "add-fact", "a", "b", "c", "-n", "two words"], "whitespace"),
    (["memory", "add-note", "   "], "empty"),
    (["memory", "add-note", "x", "--meta", "novalue"], "key=value"),
    (["memory", "facts", "--status", "deleted"], "unknown status"),
    (["memory", "facts", "--as-of", "v999"], "does not exist"),
    (["memory", "facts", "--as-of", "last week"], "bad time"),
    (["memory", "search", "", "-k", "3"], "empty"),
    (["memory", "search", "x", "-k", "0"], "k must be"),
    (["memory", "search", "x", "--kind", "pdf"], "unknown kind"),
    (["memory", "log", "--limit", "0"], "limit"),
    (["memory", "revert", "v999"], "does not exist"),
    (["memory", "revert", "banana"], "bad time"),
    (["memory", "retract", "999"], "no fact"),
    (["memory", "retract", "abc"], "invalid value"),
    (["memory", "set-policy", "likes", "--rule", "loudest"], "unknown resolution rule"),
    (["memory", "prune", "--older-than", "soon"], "bad duration"),
    (["memory", "import", "/nonexistent/file.jsonl"], "no such file"),
    (["memory", "import", "FILE", "--format", "xml"], "unknown format"),
    (["memory", "export", "/nonexistent/dir/out.jsonl"], "cannot write"),
    (["memory", "add-fact", "a", "b"], "missing argument"),
    (["memory", "no-such-command"], "no such command"),
    (["memory", "facts", "--bogus"], "no such option"),
]


def _check_bad(url, home, embedder, tmp_path, args, expected) -> None:
    store = MemoryStore.open(url, home=home, embedder=embedder)
    try:
        if not store.facts():
            store.add_fact("acme", "ceo", "Alice")
        before = fingerprint(store)
        good = tmp_path / "good.jsonl"
        good.write_text('{"type": "note", "text": "fine"}\n')
        result = run_cli([str(good) if a == "FILE" else a for a in args], db=url, home=home)
        line = assert_clean_error(result)
        assert expected.lower() in line.lower(), line
        assert fingerprint(store) == before
    finally:
        store.close()


@pytest.mark.parametrize("args,expected", BAD, ids=[" ".join(a[1:3])[:40] for a, _ in BAD])
def test_bad_input_is_one_line_and_writes_nothing(home, embedder, tmp_path, args, expected):
    _check_bad(f"sqlite:///{tmp_path / 'memory.db'}", home, embedder, tmp_path, args, expected)


@pytest.mark.postgres
def test_bad_input_on_postgres(pg_url, home, embedder, tmp_path):
    for args, expected in BAD:
        if args[1] in ("add-fact", "add-note", "import", "revert", "retract", "facts", "log"):
            _check_bad(pg_url, home, embedder, tmp_path, args, expected)


@pytest.mark.parametrize("lines,expected", [
    (['{"type": "note", "text": "ok"}', "{not json"], "line 2: not valid JSON"),
    (['{"type": "note", "text": "ok"}', "", '{"type": "fact", "subject": "a", "predicate": "b"}'],
     "line 3: missing field 'object'"),
    (['{"type": "fact", "subject": "a", "predicate": "b", "object": "c", "confidence": NaN}'], "line 1: confidence"),
    (['{"type": "note", "text": "ok", "metadata": {"x": Infinity}}'], "line 1: metadata"),
    (['{"type": "note", "text": "ok"}', "[1, 2]"], "line 2: expected a JSON object"),
])
def test_malformed_import_names_the_line_and_imports_nothing(db_url, home, embedder, tmp_path, lines, expected):
    path = tmp_path / "bad.jsonl"
    path.write_text("\n".join(lines) + "\n")
    store = MemoryStore.open(db_url, home=home, embedder=embedder)
    try:
        before = fingerprint(store)
        line = assert_clean_error(run_cli(["memory", "import", str(path)], db=db_url, home=home))
        assert expected in line and fingerprint(store) == before
    finally:
        store.close()


def test_the_installed_console_script_fails_cleanly(tmp_path):
    """The real `agentcl` process (not an in-process call): usage and input errors are one line, exit 2."""
    exe = Path(sys.executable).with_name("agentcl")
    if not exe.exists():
        pytest.skip("the agentcl console script is not installed in this environment")
    env = {**os.environ, "AGENTCL_HOME": str(tmp_path), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    env.pop("AGENTCL_DB_URL", None)
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"type": "note", "text": "fine"}\n{"type": "note"}\n')
    for args, expected in ((["memory", "add-fact", "a", "b", "c", "--confidence", "7"], "confidence"),
                           (["memory", "import", str(bad)], "line 2: missing field 'text'"),
                           (["memory", "facts", "--status"], "requires an argument")):
        proc = subprocess.run([str(exe), *args], capture_output=True, text=True, env=env, cwd=REPO, timeout=120)
        assert proc.returncode == 2 and proc.stdout == "", (proc.returncode, proc.stdout, proc.stderr)
        assert len(proc.stderr.splitlines()) == 1 and expected in proc.stderr, proc.stderr
    proc = subprocess.run([str(exe), "memory", "log", "--json"], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0 and json.loads(proc.stdout) == []
