"""MemoryStore behaviour on SQLite and on the real PostgreSQL server."""
import json
from datetime import timedelta

import pytest

from memory_store import InvalidInputError, NotFoundError
from memory_store.timeparse import utcnow


def test_supersede_links_and_closes_window(store):
    first = store.add_fact("Acme", "CEO", "Alice", valid_from="2024-01-01", namespace="t")
    second = store.add_fact("acme", " ceo ", "Bob", valid_from="2025-01-01", namespace="t")
    assert second.action == "superseded" and second.superseded == [first.fact.id]
    old, new = store.history("Acme", "CEO", namespace="t")
    assert old.status == "superseded" and old.valid_to == new.valid_from and old.superseded_by_id == new.id
    assert new.supersedes_id == old.id
    assert [f.object for f in store.facts(namespace="t")] == ["Bob"]


def test_reassert_validates_and_old_news_is_history(store):
    store.add_fact("acme", "ceo", "Alice", valid_from="2024-01-01")
    again = store.add_fact("ACME", "CEO", "alice")
    assert again.action == "validated" and again.fact.validation_count == 1
    old_news = store.add_fact("acme", "ceo", "Zed", valid_from="2020-01-01")
    assert old_news.action == "history" and old_news.fact.status == "superseded"
    assert store.current("acme", "ceo").object == "Alice"
    assert len(store.facts(status="all")) == 2


def test_tie_is_a_conflict_visible_in_audit(store):
    store.add_fact("acme", "hq", "Paris", valid_from="2024-01-01")
    tie = store.add_fact("acme", "hq", "Lyon", valid_from="2024-01-01")
    assert tie.action == "conflict"
    assert len(store.facts()) == 2
    report = store.audit()
    assert report.conflicts and set(report.conflicts[0]["values"]) == {"Paris", "Lyon"}


def test_ttl_expiry_and_policy(store):
    store.set_policy("on call", ttl="7d")
    past = (utcnow() - timedelta(days=8)).isoformat()
    store.add_fact("team", "on call", "dana", valid_from=past)
    assert store.facts() == []
    assert [f.status for f in store.facts(status="expired")] == ["expired"]
    assert store.audit().expired_present
    fresh = store.add_fact("team", "on call", "eve")
    assert fresh.action == "inserted" and fresh.fact.expires_at is not None


def test_multi_valued_policy(store):
    store.set_policy("likes", functional=False)
    store.add_fact("mel", "likes", "hiking")
    store.add_fact("mel", "likes", "painting")
    assert sorted(f.object for f in store.facts(predicate="likes")) == ["hiking", "painting"]


def test_aliases_normalise_subjects(store):
    store.add_alias("ACME Inc.", "acme")
    store.add_fact("ACME Inc.", "ceo", "Alice")
    assert store.current("acme", "ceo").object == "Alice"
    assert store.current("acme inc.", "ceo").object == "Alice"


def test_versions_are_gapless_and_as_of_reads(store):
    store.add_fact("acme", "ceo", "Alice", valid_from="2024-01-01")
    store.add_fact("acme", "ceo", "Bob", valid_from="2025-01-01")
    store.add_note("Bob gave a talk")
    versions = [r.version for r in store.log()]
    assert versions == list(range(1, len(versions) + 1))
    assert [(f.object, f.status) for f in store.facts(as_of="v1")] == [("Alice", "active")]
    with pytest.raises(NotFoundError):
        store.facts(as_of="v99")


def test_revert_writes_new_versions(store):
    store.add_fact("acme", "ceo", "Alice", valid_from="2024-01-01")
    store.add_fact("acme", "ceo", "Bob", valid_from="2025-01-01")
    before = store.current_version()
    record = store.revert("v1")
    assert record.version == before + 1 and record.op == "revert"
    assert store.current("acme", "ceo").object == "Alice"
    assert {f.object: f.status for f in store.facts(status="all")} == {"Alice": "active", "Bob": "retracted"}
    assert len(store.log()) == before + 1  # nothing rewritten


def test_bad_input_writes_nothing(store):
    for call in (lambda: store.add_fact("", "ceo", "x"), lambda: store.add_fact("a", "b", "c", confidence=1.5),
                 lambda: store.add_fact("a", "b", "c", valid_from="soon"), lambda: store.add_fact("a", "b", "c", ttl="7"),
                 lambda: store.add_note("   "), lambda: store.add_note("x" * 100_001),
                 lambda: store.add_notes([{"text": "ok"}, {"text": ""}])):
        with pytest.raises(InvalidInputError):
            call()
    assert store.current_version() == 0 and store.facts(status="all") == [] and store.notes() == []
    with pytest.raises(NotFoundError):
        store.retract(12345)


def test_search_hybrid_filters_before_ranking(store):
    store.add_notes([{"text": f"Weather report number {i}: sunny and warm"} for i in range(30)] +
                    [{"text": "My cat Luna loves tuna", "metadata": {"topic": "pets"}},
                     {"text": "The dog barked at the mailman", "metadata": {"topic": "pets"}}])
    store.add_note("A note in another namespace about cats", namespace="other")
    top = store.search("what does my cat like to eat", k=3)
    assert top[0].text == "My cat Luna loves tuna"
    filtered = store.search("sunny weather", k=2, metadata={"topic": "pets"})
    assert len(filtered) == 2 and all(r.metadata["topic"] == "pets" for r in filtered)
    assert all(r.namespace == "default" for r in store.search("cats", k=50))
    facts_only = store.search("cat", kind="fact")
    assert facts_only == []


def test_search_excludes_superseded_and_expired_unless_asked(store):
    store.add_fact("acme", "ceo", "Alice", valid_from="2024-01-01")
    store.add_fact("acme", "ceo", "Bob", valid_from="2025-01-01")
    store.add_note("temporary door code 4412", ttl="1s", occurred_at=(utcnow() - timedelta(seconds=5)).isoformat())
    texts = [r.text for r in store.search("acme ceo", k=10)]
    assert any("bob" in t.lower() for t in texts) and not any("alice" in t.lower() for t in texts)
    with_old = [r.text for r in store.search("acme ceo", k=10, include_superseded=True)]
    assert any("alice" in t.lower() for t in with_old)
    assert not [r for r in store.search("door code", k=5) if "4412" in r.text]
    assert [r for r in store.search("door code", k=5, include_expired=True) if "4412" in r.text]


def test_index_catches_up_and_rebuilds(db_url, home, embedder):
    from memory_store import MemoryStore

    writer = MemoryStore.open(db_url, home=home, embedder=embedder)
    reader = MemoryStore.open(db_url, home=home, embedder=embedder)
    writer.add_note("The launch is planned for March")
    assert reader.search("when is the launch", k=1)[0].text == "The launch is planned for March"
    writer.add_note("The budget was approved by the board")
    assert reader.search("board approval of the budget", k=1)[0].text.startswith("The budget")
    reader.close()
    for f in writer.index_dir.iterdir():  # corrupt every cache file: SQL is the truth
        f.write_bytes(b"garbage")
    writer.close()
    again = MemoryStore.open(db_url, home=home, embedder=embedder)
    assert {r.text for r in again.search("launch budget", k=5)} == {
        "The launch is planned for March", "The budget was approved by the board"}
    again.close()


def test_prune_dry_run_and_tombstone(store):
    store.add_fact("acme", "ceo", "Alice", valid_from="2024-01-01")
    store.add_fact("acme", "ceo", "Bob", valid_from="2025-01-01")
    plan = store.prune(superseded=True, expired=False, older_than="0", dry_run=True)
    assert plan["deleted"] == 1 and store.current_version() == 2
    done = store.prune(superseded=True, expired=False, older_than="0")
    assert done["version"] == 3 and len(store.facts(status="all")) == 1
    assert store.log()[-1].op == "prune" and store.log()[-1].before
    assert all("alice" not in r.text.lower() for r in store.search("acme ceo", include_superseded=True))


def test_import_export_all_or_nothing(store, tmp_path):
    good = tmp_path / "good.jsonl"
    good.write_text("\n".join(json.dumps(x) for x in [
        {"type": "fact", "subject": "acme", "predicate": "ceo", "object": "Alice"},
        {"type": "note", "text": "Alice likes sailing"}]) + "\n")
    report = store.import_jsonl(good)
    assert report["facts"] == 1 and report["notes"] == 1 and report["version"] == 1
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"type": "note", "text": "fine"}) + "\n{not json\n")
    with pytest.raises(InvalidInputError, match="line 2"):
        store.import_jsonl(bad)
    assert store.current_version() == 1
    out = tmp_path / "out.jsonl"
    assert store.export_jsonl(out) == 2
    conv = tmp_path / "conv.jsonl"
    conv.write_text("\n".join(json.dumps(x) for x in [
        {"id": "D1:1", "speaker": "Mel", "text": "I painted a sunrise", "time": "2023-05-08T13:56:00"},
        {"id": "D1:2", "speaker": "Car", "text": "Lovely!", "time": "2023-05-08T13:57:00"}]))
    store.import_jsonl(conv, format="conversation", namespace="chat")
    hit = store.search("who painted a sunrise", namespace="chat", k=1)[0]
    assert hit.metadata["external_id"] == "D1:1" and hit.metadata["speaker"] == "Mel"


def test_vectors_are_stored_with_rows(store, embedder):
    note = store.add_note("Vectors live in SQL")
    vec = store.vectors("note", [note.id])
    assert vec.shape == (1, embedder.dim) and abs(float((vec ** 2).sum()) - 1.0) < 1e-4


def test_retraction_reason_is_checked_like_any_stored_text(store):
    """bytes or NaN as the reason reached the JSON column: a TypeError, or a DataError on PostgreSQL."""
    fact = store.add_fact("acme", "ceo", "Alice").fact
    for bad in (b"bytes", float("nan"), ["a"], " \x00 "):
        with pytest.raises(InvalidInputError, match="retraction reason"):
            store.retract(fact.id, reason=bad)
    assert store.get_fact(fact.id).status == "active"
    gone = store.retract(fact.id, reason=" left the company\x00 ")
    assert gone.status == "retracted" and gone.metadata["retract_reason"] == "left the company"


def test_audit_lists_facts_below_the_low_confidence_threshold(store):
    low = store.add_fact("acme", "hq", "Paris", confidence=0.3).fact
    store.add_fact("acme", "ceo", "Alice", confidence=0.5)  # at the threshold (0.5): not low
    store.add_fact("acme", "cfo", "Bob", confidence=0.9)
    assert [(e["id"], e["confidence"]) for e in store.audit().low_confidence] == [(low.id, 0.3)]
