"""Hostile input through the Python API (SQLite and PostgreSQL): every call either writes exactly one
correct version or raises a UserError with one short line and leaves every table as it was."""
from __future__ import annotations

import pytest
from hypothesis import event, given
from hypothesis import strategies as st

from memory_store import UserError
from memory_store.normalize import normalize_name
from tests.property import strategies as s
from tests.property.conftest import FAST
from tests.reliability.helpers import fingerprint


def attempt(store, call):
    """Run `call`; on a UserError check nothing changed and the message is one short line."""
    before, version = fingerprint(store), store.current_version()
    try:
        result = call()
    except UserError as exc:
        message = str(exc)
        assert message and "\n" not in message and len(message) <= 300, message[:500]
        assert fingerprint(store) == before, f"the store changed although the call failed: {message}"
        event("rejected")
        return None, version
    event("accepted")
    return result, version


def seed_once(store) -> None:
    """A little of everything (active, superseded, retracted, a note) before a test's first example."""
    if getattr(store, "_seeded", False):
        return
    store.add_fact("acme", "ceo", "Alice", namespace="ns-a", valid_from="2020-01-01")
    store.add_fact("acme", "ceo", "Bob", namespace="ns-a", valid_from="2021-01-01")
    store.retract(store.add_fact("acme", "hq", "Paris", namespace="ns-a").fact.id, namespace="ns-a")
    store.add_note("the launch is in March", namespace="ns-a")
    store._seeded = True


@FAST
@given(data=st.data())
def test_add_fact(store, data):
    f, bad = s.mostly_valid(data, s.FACT_VALID, s.FACT_HOSTILE)
    res, version = attempt(store, lambda: store.add_fact(
        f["subject"], f["predicate"], f["obj"], namespace=f["namespace"], valid_from=f["valid_from"], ttl=f["ttl"],
        confidence=f["confidence"], source=f["source"], metadata=f["metadata"]))
    if res is None:
        assert bad, "valid input was rejected"
        return
    assert res.version == version + 1 == store.current_version()
    stored = store.get_fact(res.fact.id, namespace=res.fact.namespace)
    assert stored.to_dict() == res.fact.to_dict()  # what the caller got is what was stored
    assert (stored.namespace, stored.subject, stored.predicate) == (
        f["namespace"].strip(), normalize_name(f["subject"]), normalize_name(f["predicate"]))
    if res.action != "validated":
        assert stored.object == f["obj"].replace("\x00", "").strip() and stored.confidence == float(f["confidence"])
    record = store.log(since=version, namespace=res.fact.namespace)[0]
    assert record.version == res.version and res.fact.id in {a["id"] for a in record.affected}


@FAST
@given(data=st.data())
def test_add_note(store, data):
    f, bad = s.mostly_valid(data, s.NOTE_VALID, s.NOTE_HOSTILE)
    note, version = attempt(store, lambda: store.add_note(
        f["text"], namespace=f["namespace"], speaker=f["speaker"], occurred_at=f["occurred_at"], ttl=f["ttl"],
        metadata=f["metadata"], thread=f["thread"]))
    if note is None:
        assert bad, "valid input was rejected"
        return
    assert note.version == version + 1 == store.current_version()
    again = store.get_note(note.id, namespace=note.namespace)
    assert again.to_dict() == note.to_dict()
    assert again.text == f["text"].replace("\x00", "").strip() and again.namespace == f["namespace"].strip()


def _read(call):
    """The call's answer, or None when it raised a UserError (one short line)."""
    try:
        result = call()
    except UserError as exc:
        event("rejected")
        assert "\n" not in str(exc) and len(str(exc)) <= 300, str(exc)[:500]
        return None
    event("answered")
    return result


def assert_seed_still_answers(store) -> None:
    """The seeded memories are still found: a read or search that answers nothing would fail here."""
    assert [f.object for f in store.facts(namespace="ns-a")] == ["Bob"]
    assert [f.object for f in store.history("acme", "ceo", namespace="ns-a")] == ["Alice", "Bob"]
    assert store.current("acme", "ceo", namespace="ns-a").object == "Bob"
    assert [n.text for n in store.notes(namespace="ns-a")] == ["the launch is in March"]
    hits = store.search("when is the launch", namespace="ns-a")
    assert hits and hits[0].kind == "note" and hits[0].text == "the launch is in March"
    assert {h.namespace for h in hits} == {"ns-a"}


@FAST
@given(namespace=s.namespace, subject=st.one_of(st.none(), s.any_text), status=st.one_of(
    st.sampled_from(["active", "superseded", "expired", "retracted", "all"]), s.any_text), as_of=s.when,
       since=st.one_of(st.integers(-5, 2 ** 40), s.wrong_type), limit=st.one_of(st.integers(-5, 2 ** 40), s.wrong_type))
def test_reads_never_write(store, namespace, subject, status, as_of, since, limit):
    seed_once(store)
    before = fingerprint(store)
    facts = _read(lambda: store.facts(namespace=namespace, subject=subject, status=status, as_of=as_of))
    if facts is not None:  # accepted: only that namespace, only that status
        assert {f.namespace for f in facts} <= {namespace.strip()}
        if status != "all":
            assert {f.status for f in facts} <= {status}
    history = _read(lambda: store.history(subject, "ceo", namespace=namespace))
    if history:
        assert {(f.namespace, f.predicate) for f in history} == {(namespace.strip(), "ceo")}
        assert [f.valid_from for f in history] == sorted(f.valid_from for f in history)
    current = _read(lambda: store.current(subject, "ceo", namespace=namespace))
    if current is not None:
        assert current.status == "active" and current.namespace == namespace.strip()
    notes = _read(lambda: store.notes(namespace=namespace, status=status, limit=limit))
    if notes is not None:
        assert {n.namespace for n in notes} <= {namespace.strip()} and (not limit or len(notes) <= limit)
    log = _read(lambda: store.log(since=since, limit=limit, namespace=namespace))
    if log is not None and isinstance(since, int) and not isinstance(since, bool):
        assert all(r.version > since for r in log)
    _read(lambda: store.audit(namespace))
    assert fingerprint(store) == before
    assert_seed_still_answers(store)


@FAST
@given(namespace=s.namespace, query=s.any_text, k=st.one_of(st.integers(-5, 2000), s.wrong_type),
       kind=st.one_of(st.sampled_from(["fact", "note", "all"]), st.text(max_size=30)), since=s.when, until=s.when,
       status=st.one_of(st.none(), st.sampled_from(["active", "all", "retracted"]), st.text(max_size=30)))
def test_search_never_writes(store, namespace, query, k, kind, since, until, status):
    seed_once(store)
    before = fingerprint(store)
    hits = _read(lambda: store.search(query, k=k, namespace=namespace, kind=kind, since=since, until=until,
                                      status=status))
    if hits is not None:  # accepted: at most k hits, all in the namespace and of the kind asked for
        assert len(hits) <= k and {h.namespace for h in hits} <= {namespace.strip()}
        if kind in ("fact", "note"):
            assert {h.kind for h in hits} <= {kind}
    assert fingerprint(store) == before
    assert_seed_still_answers(store)


@FAST
@given(kind=st.one_of(s.any_text, s.wrong_type), metadata=s.metadata)
def test_search_hostile_kind_and_metadata_filter(store, kind, metadata):
    seed_once(store)
    before = fingerprint(store)
    _read(lambda: store.search("launch", kind=kind, namespace="ns-a"))
    hits = _read(lambda: store.search("launch", metadata=metadata, namespace="ns-a"))
    if hits and metadata:  # a metadata filter only keeps memories whose metadata holds every key/value asked for
        assert all(all(h.metadata.get(key) == value for key, value in metadata.items()) for h in hits)
    assert fingerprint(store) == before
    assert_seed_still_answers(store)


@FAST
@given(older_than=s.duration, flags=st.tuples(st.booleans(), st.booleans(), st.booleans()), dry_run=st.booleans(),
       namespace=s.namespace, version=st.one_of(st.integers(-3, 10 ** 20), s.when, s.any_text))
def test_prune_and_revert(store, older_than, flags, dry_run, namespace, version):
    seed_once(store)
    res, before = attempt(store, lambda: store.prune(namespace=namespace, expired=flags[0], superseded=flags[1],
                                                     retracted=flags[2], older_than=older_than, dry_run=dry_run))
    if res is not None:
        assert store.current_version() == before + (1 if res["version"] else 0)
        assert res["version"] is None or (not dry_run and res["deleted"] > 0)
    rec, before = attempt(store, lambda: store.revert(version, namespace=namespace))
    if rec is not None:
        assert rec.version == before + 1 == store.current_version() and rec.op == "revert"
        target = store.parse_as_of(version)
        for ns in [rec.namespace]:  # every row is as it was then; rows born later are retracted
            then = {f.id: (f.status, f.object, f.confidence) for f in store.facts(namespace=ns, status="all", as_of=target)}
            now = {f.id: (f.status, f.object, f.confidence) for f in store.facts(namespace=ns, status="all")}
            assert {i: v for i, v in now.items() if i in then} == then
            assert all(v[0] == "retracted" for i, v in now.items() if i not in then)


def _row_or_none(store, fact_id):
    try:
        return store.get_fact(fact_id)
    except UserError:
        return None


def _retract_reason(old, reason):
    return reason.replace("\x00", "").strip() if reason else old.metadata.get("retract_reason")


# what each update must have done to the row it names (old: the row just before, new: what came back)
UPDATE_EFFECTS = {
    "validate": lambda old, new, delta, reason: (
        new.validation_count == old.validation_count + 1 and new.last_validated_at is not None),
    "adjust_confidence": lambda old, new, delta, reason: (
        new.confidence == pytest.approx(min(1.0, max(0.0, old.confidence + float(delta))))),
    "retract": lambda old, new, delta, reason: (
        new.status == "retracted" and not new.in_conflict and new.retired_at is not None
        and new.metadata.get("retract_reason") == _retract_reason(old, reason)),
    "expire": lambda old, new, delta, reason: new.status == "expired" and new.retired_at is not None,
}


@FAST
@given(data=st.data(), delta=st.one_of(s.number, s.any_text), reason=st.one_of(st.none(), s.any_text))
def test_updates_by_id(store, data, delta, reason):
    seed_once(store)
    known = [f.id for f in store.facts(namespace="ns-a", status="all")]
    fact_id = data.draw(st.one_of(st.sampled_from(known), st.sampled_from(known).map(str), st.integers(-5, 2 ** 70),
                                  s.any_text), label="fact_id")
    calls = {"validate": lambda: store.validate_fact(fact_id),
             "adjust_confidence": lambda: store.adjust_confidence(fact_id, delta),
             "retract": lambda: store.retract(fact_id, reason=reason), "expire": lambda: store.expire(fact_id)}
    for op, call in calls.items():
        old = _row_or_none(store, fact_id)
        res, version = attempt(store, call)
        if res is None:
            continue
        assert old is not None, f"{op} answered for an id that names no fact: {fact_id!r}"
        assert res.id == old.id and store.current_version() == version + 1, op
        assert store.get_fact(old.id).to_dict() == res.to_dict(), op  # what came back is what was stored
        assert UPDATE_EFFECTS[op](old, res, delta, reason), (op, old.to_dict(), res.to_dict())
        record = store.log(since=version)[0]
        assert record.op == op and record.affected == [{"kind": "fact", "id": old.id}]
    note_ids = [n.id for n in store.notes(namespace="ns-a", status="all")]
    res, version = attempt(store, lambda: store.retract_note(fact_id))
    if res is not None:
        assert res.id in note_ids and res.status == "retracted" and store.current_version() == version + 1
    res, version = attempt(store, lambda: store.get_fact(fact_id))
    if res is not None:
        assert res.id == int(str(fact_id).strip()) and store.current_version() == version
