"""Import is all-or-nothing: a file with a bad line is rejected with the number of the first bad line and
nothing is written; a good file writes exactly one version. Export then import gives the same memory."""
from __future__ import annotations

import json
import re
import uuid

from hypothesis import event, given
from hypothesis import strategies as st

from memory_store import UserError
from tests.property import strategies as s
from tests.property.conftest import FAST
from tests.reliability.helpers import fingerprint

FACT = st.fixed_dictionaries({"type": st.just("fact"), "subject": s.name, "predicate": s.name, "object": s.name},
                             optional={"valid_from": s.valid_time.filter(bool), "confidence": st.floats(0, 1),
                                       "source": st.sampled_from(["user", "tool"]), "metadata": s.valid_metadata,
                                       "namespace": st.sampled_from(["imp-a", "imp-b"]),
                                       "status": st.sampled_from(["active", "superseded", "retracted", "expired"])})
NOTE = st.fixed_dictionaries({"type": st.just("note"), "text": s.name},
                             optional={"speaker": s.name, "occurred_at": s.valid_time.filter(bool),
                                       "metadata": s.valid_metadata, "namespace": st.sampled_from(["imp-a", "imp-b"]),
                                       "status": st.sampled_from(["active", "retracted"])})
GOOD = st.one_of(FACT, NOTE).map(json.dumps)
DEEP = '{"type": "note", "text": "x", "metadata": {"a": ' + "[" * 100_000 + "]" * 100_000 + "}}"
BAD = st.one_of(st.sampled_from([
    "not json", "{", "[]", "5", "null", '"text"', "{'type': 'note'}", '{"type": "fact"}', '{"type": "alien"}',
    '{"type": "fact", "subject": "a", "predicate": "b", "object": "c", "confidence": NaN}',
    '{"type": "fact", "subject": "a", "predicate": "b", "object": "c", "confidence": 1e999}',
    '{"type": "fact", "subject": "a", "predicate": "b", "object": "c", "confidence": -0.1}',
    '{"type": "fact", "subject": "a", "predicate": "b", "object": "c", "valid_from": "2024-13-01"}',
    '{"type": "fact", "subject": "a", "predicate": "b", "object": "c", "ttl": "forever"}',
    '{"type": "fact", "subject": "a", "predicate": "b", "object": "c", "ttl": "99999999999999w"}',
    '{"type": "fact", "subject": "a", "predicate": "b", "object": "c", "status": "deleted"}',
    '{"type": "fact", "subject": "", "predicate": "b", "object": "c"}',
    '{"type": "fact", "subject": "a", "predicate": "b", "object": 5}',
    '{"type": "note", "text": ""}', '{"type": "note", "text": "\\ud800"}', '{"type": "note", "text": "\\u0000"}',
    '{"type": "note", "text": "x", "metadata": {"a": NaN}}', '{"type": "note", "text": "x", "metadata": [1]}',
    '{"type": "note", "text": "x", "occurred_at": "yesterday"}', '{"type": "note", "text": "x", "ttl": -5}',
    '{"type": "policy", "predicate": "ceo", "rule": "loudest"}', '{"type": "policy", "predicate": "ceo", "functional": "yes"}',
    '{"type": "alias", "alias": "x", "canonical": "x"}', '{"type": "note", "text": "' + "y" * 100_001 + '"}', DEEP,
]), st.text(max_size=30).filter(lambda t: t.strip() and "\n" not in t))


def _attempt_import(store, tmp_path, body: bytes, **kw):
    path = tmp_path / "in.jsonl"
    path.write_bytes(body)
    before, version = fingerprint(store), store.current_version()
    try:
        return store.import_jsonl(path, **kw), version, None
    except UserError as exc:
        assert "\n" not in str(exc) and len(str(exc)) <= 300, str(exc)[:500]
        assert fingerprint(store) == before, f"a failed import changed the store: {exc}"
        return None, version, str(exc)


@FAST
@given(good=st.lists(GOOD, max_size=6), bad=st.lists(st.tuples(st.integers(0, 6), BAD), max_size=2),
       blank=st.lists(st.integers(0, 6), max_size=2), bom=st.booleans(), crlf=st.booleans())
def test_import_is_all_or_nothing(store, tmp_path, good, bad, blank, bom, crlf):
    lines = list(good)
    first_bad = None
    for pos, line in sorted(bad, reverse=True):
        lines.insert(min(pos, len(lines)), line)
    bad_lines = {line for _, line in bad}
    for pos in blank:
        lines.insert(min(pos, len(lines)), "   ")
    for n, line in enumerate(lines, 1):
        if line in bad_lines:
            first_bad = n
            break
    body = ("\r\n" if crlf else "\n").join(lines).encode("utf-8", "surrogatepass")
    report, version, error = _attempt_import(store, tmp_path, (b"\xef\xbb\xbf" if bom else b"") + body)
    if error is None:
        event("imported")
        assert first_bad is None, f"line {first_bad} is bad but the file was imported"
        assert report["version"] == version + 1 == store.current_version()
        assert report["facts"] + report["notes"] == len(good)
        return
    event("rejected")
    if first_bad is not None:
        assert error.startswith(f"line {first_bad}:"), (first_bad, error)
    else:
        assert not good and "no records" in error, error  # only a file of blanks fails without a bad line


@FAST
@given(body=st.one_of(st.binary(max_size=200), st.text(max_size=200).map(lambda t: t.encode("utf-8", "surrogatepass"))),
       fmt=st.sampled_from(["jsonl", "conversation", "csv", ""]), namespace=st.one_of(st.none(), s.namespace))
def test_any_file_imports_or_fails_cleanly(store, tmp_path, body, fmt, namespace):
    report, version, error = _attempt_import(store, tmp_path, body, format=fmt, namespace=namespace)
    if error is None:
        assert report["version"] == version + 1


OPS = st.lists(st.one_of(
    st.tuples(st.just("fact"), st.sampled_from(["acme", "globex"]), st.sampled_from(["ceo", "hq", "likes"]),
              st.sampled_from(["Alice", "Bob", "Carol", "alice"]),
              st.sampled_from([None, "2019-01-01", "2020-06-01", "2021-01-01"]), st.sampled_from([1.0, 0.6])),
    st.tuples(st.just("note"), st.sampled_from(["the launch is in March", "budget approved", "🙂 emoji note"])),
    st.tuples(st.just("retract"), st.integers(0, 20)), st.tuples(st.just("expire"), st.integers(0, 20)),
    st.tuples(st.just("retract_note"), st.integers(0, 20)),
    st.tuples(st.just("policy"), st.sampled_from(["likes"]), st.sampled_from([False])),
), min_size=1, max_size=12)


def _memory(store, ns):
    facts = sorted((f.subject, f.predicate, f.object, f.status, f.to_dict()["valid_from"], f.to_dict()["valid_to"],
                    f.confidence, f.source, json.dumps(f.metadata, sort_keys=True))
                   for f in store.facts(namespace=ns, status="all"))
    notes = sorted((n.text, n.status, n.speaker, json.dumps(n.metadata, sort_keys=True))
                   for n in store.notes(namespace=ns, status="all"))
    return facts, notes, store.policy("likes", namespace=ns)


@FAST
@given(ops=OPS)
def test_export_then_import_gives_the_same_memory(store, tmp_path, ops):
    suffix = uuid.uuid4().hex[:12]  # fresh namespaces per example (the store is shared)
    src, dst = f"src-{suffix}", f"dst-{suffix}"
    facts, notes = [], []
    for op in ops:
        if op[0] == "fact":
            facts.append(store.add_fact(op[1], op[2], op[3], valid_from=op[4], confidence=op[5], namespace=src).fact.id)
        elif op[0] == "note":
            notes.append(store.add_note(op[1], namespace=src).id)
        elif op[0] == "policy":
            store.set_policy(op[1], functional=op[2], namespace=src)
        elif op[0] in ("retract", "expire") and facts:
            fact = store.get_fact(facts[op[1] % len(facts)], namespace=src)
            if fact.status == "active":
                getattr(store, op[0])(fact.id, namespace=src)
        elif op[0] == "retract_note" and notes:
            store.retract_note(notes[op[1] % len(notes)], namespace=src)
    path = tmp_path / "export.jsonl"
    count = store.export_jsonl(path, namespace=src)
    assert count == len(path.read_text(encoding="utf-8").splitlines())
    if count:
        store.import_jsonl(path, namespace=dst)
    assert _memory(store, dst) == _memory(store, src)
    exported = [json.loads(line) for line in path.read_text(encoding="utf-8").split("\n") if line]
    assert all(line["namespace"] == src for line in exported)
    assert re.search(r"[\"']dst-", path.read_text(encoding="utf-8")) is None


def test_a_lone_carriage_return_does_not_end_a_line(store, tmp_path):
    """Found by the property above: read_text's universal newlines split '\\r0' into two lines, so the error
    named line 2. Only \\n (or \\r\\n) ends a record; a lone \\r is JSON whitespace inside one."""
    path = tmp_path / "cr.jsonl"
    path.write_bytes(b'{"type": "note",\r "text": "kept whole", "namespace": "imp-cr"}\r\n\r0\n')
    before = fingerprint(store)
    try:
        store.import_jsonl(path)
    except UserError as exc:
        assert str(exc).startswith("line 2:"), str(exc)
    assert fingerprint(store) == before
    path.write_bytes(b'{"type": "note",\r "text": "kept whole", "namespace": "imp-cr"}\r\n')
    assert store.import_jsonl(path)["notes"] == 1
