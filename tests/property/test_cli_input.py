"""Hostile input through the real CLI entry point (cli.main:main): every command ends in exit 0 with its
output (valid JSON under --json), or exit 2 with one `error:` line on stderr, no traceback, and an
unchanged store."""
from __future__ import annotations

import json

from hypothesis import event, given, settings
from hypothesis import strategies as st

from tests.property import strategies as s
from tests.property.conftest import FAST
from tests.reliability.helpers import assert_clean_error, fingerprint, run_cli

# Text a real argv can carry: anything but NUL (undecodable bytes arrive as lone surrogates).
arg = st.one_of(s.name, s.name, s.name, s.text, st.sampled_from(["-", "--", "-k", "--json", "--help=x", "v1", "0", "-1"])).map(
    lambda t: t.replace("\x00", ""))
opt_time = st.one_of(s.valid_time.filter(bool), st.sampled_from(s.ODD_TIMES), st.text(max_size=20)).map(
    lambda t: t.replace("\x00", ""))
opt_duration = st.one_of(st.sampled_from([d for d in s.ODD_DURATIONS if isinstance(d, str)]),
                         st.text(max_size=8)).map(lambda t: t.replace("\x00", ""))
opt_number = st.one_of(st.sampled_from(["0", "1", "0.5", "nan", "inf", "-inf", "1e999", "-0", "2", "x", "", "1_0"]),
                       st.floats().map(repr), st.integers(-10 ** 20, 10 ** 20).map(str))


@st.composite
def command(draw) -> list[str]:
    which = draw(st.sampled_from(["add-fact", "add-note", "facts", "search", "history", "log", "revert", "prune",
                                  "retract", "set-policy", "audit"]))
    opts = lambda pairs: [x for flag, strat in pairs if draw(st.booleans()) for x in (flag, draw(strat))]
    if which == "add-fact":
        args = [draw(arg), draw(arg), draw(arg)] + opts([("--valid-from", opt_time), ("--ttl", opt_duration),
                                                         ("--confidence", opt_number), ("--source", arg),
                                                         ("-n", arg)])
    elif which == "add-note":
        args = [draw(arg)] + opts([("--meta", arg), ("--speaker", arg), ("--ttl", opt_duration), ("-n", arg)])
    elif which == "facts":
        args = opts([("--subject", arg), ("--predicate", arg), ("--status", st.one_of(arg, st.sampled_from(
            ["all", "active", "superseded"]))), ("--as-of", st.one_of(opt_time, opt_number)), ("-n", arg)])
    elif which == "search":
        args = [draw(arg)] + opts([("-k", opt_number), ("--kind", st.one_of(arg, st.sampled_from(["fact", "note"]))),
                                   ("--meta", arg), ("-n", arg)])
    elif which == "history":
        args = [draw(arg), draw(arg)] + opts([("-n", arg)])
    elif which == "log":
        args = opts([("--since", opt_number), ("--limit", opt_number), ("-n", arg)])
    elif which in ("revert", "retract"):
        args = [draw(st.one_of(opt_number, opt_time, arg))]
    elif which == "prune":
        args = opts([("--older-than", opt_duration), ("-n", arg)]) + [
            f for f in ("--expired", "--superseded", "--retracted", "--dry-run") if draw(st.booleans())]
    elif which == "set-policy":
        args = [draw(arg)] + opts([("--ttl", opt_duration), ("--rule", arg), ("--source", arg)]) + (
            ["--multi"] if draw(st.booleans()) else [])
    else:
        args = opts([("-n", arg)])
    return ["memory", which, *args]


@settings(FAST, max_examples=30)  # each example opens the store as a user's command does
@given(cmd=command(), as_json=st.booleans())
def test_cli_commands(store, db_url, home, cmd, as_json):
    if not getattr(store, "_seeded", False):
        store.add_fact("acme", "ceo", "Alice", valid_from="2020-01-01")
        store.add_fact("acme", "ceo", "Bob", valid_from="2021-01-01")
        store.add_note("the launch is in March")
        store._seeded = True
    before = fingerprint(store)
    # --json right after the command name: an argument "--" (which hypothesis does draw) ends the options,
    # so a --json after it would be a positional value, not the flag
    result = run_cli(cmd[:2] + (["--json"] if as_json else []) + cmd[2:], db=db_url, home=home)
    if result.code == 0:
        event(f"{cmd[1]}: ok")
        assert "Traceback" not in result.out + result.err
        if as_json and "--help" not in cmd:
            json.loads(result.out)
        return
    event(f"{cmd[1]}: error")
    assert_clean_error(result)
    assert fingerprint(store) == before, f"{cmd} failed ({result.err.strip()}) but changed the store"


@FAST
@given(body=st.one_of(st.binary(max_size=300), st.lists(st.one_of(
    st.sampled_from(['{"type": "note", "text": "imported note"}', '{"id": 1, "speaker": "a", "text": "hi"}',
                     '{"type": "fact", "subject": "a", "predicate": "b", "object": "c", "confidence": NaN}',
                     '{"type": "fact", "subject": "a", "predicate": "b", "object": "c"}', "{", "[]", ""]),
    st.sampled_from(['{"type": "note", "text": "imported note"}',
                     '{"type": "fact", "subject": "x", "predicate": "y", "object": "z", "status": "retracted"}']),
    st.text(max_size=30)), max_size=5).map(lambda lines: "\n".join(lines).encode("utf-8", "surrogatepass"))),
       fmt=st.sampled_from(["jsonl", "conversation", "xml"]), missing=st.booleans())
def test_cli_import(store, db_url, home, tmp_path, body, fmt, missing):
    path = tmp_path / "in.jsonl"
    path.write_bytes(body)
    before = fingerprint(store)
    result = run_cli(["memory", "import", str(tmp_path / "absent.jsonl") if missing else str(path),
                      "--format", fmt, "--json"], db=db_url, home=home)
    if result.code == 0:
        event("imported")
        assert result.json()["version"] == store.current_version()
        return
    event("rejected")
    assert_clean_error(result)
    assert fingerprint(store) == before
