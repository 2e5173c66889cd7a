"""The search cache: exact search while small, HNSW once a namespace grows (filters still exact about
what they allow), and a reopened store ranks exactly as before (vectors from the saved files; keyword
texts, speakers and thread links re-derived from SQL). SQLite only, small data."""
from __future__ import annotations

import numpy as np
import pytest

from memory_store import MemoryStore, dense_index, vector_index
from memory_store.notes import validate_note_input

TARGETS = ["The violin lesson moved to Thursday afternoon", "Our cat Miso hates the vacuum cleaner",
           "The roof leak was fixed by the contractor"]


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture
def sqlite_store(tmp_path, home, embedder):
    store = MemoryStore.open(f"sqlite:///{tmp_path / 'm.db'}", home=home, embedder=embedder)
    yield store
    store.close()


def _random_notes(store, n: int, *, namespace: str = "default", seed: int = 0, metadata=None) -> None:
    """n filler notes with random unit vectors (fast: no model call), through the ordinary write path."""
    rng = np.random.default_rng(seed)
    vectors = rng.standard_normal((n, store.embedder.dim)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    items = [validate_note_input(f"filler entry {seed}-{i}", namespace=namespace, metadata=metadata)
             for i in range(n)]
    store.write_notes(items, vectors=vectors)


def test_index_switches_to_hnsw_at_the_threshold(sqlite_store, monkeypatch):
    monkeypatch.setattr(dense_index, "HNSW_THRESHOLD", 300)
    _random_notes(sqlite_store, 250)
    assert not sqlite_store.index("default").approximate
    sqlite_store.add_notes([{"text": t, "metadata": {"tag": "real"}} for t in TARGETS])
    _random_notes(sqlite_store, 100, seed=1)
    idx = sqlite_store.index("default")
    assert idx.approximate and len(idx) == 353
    assert sqlite_store.search("when is the violin lesson", k=1)[0].text == TARGETS[0]
    assert sqlite_store.search("who fixed the leaking roof", k=1)[0].text == TARGETS[2]
    # A tight filter under HNSW still returns every allowed row (exact over the allowed subset).
    tagged = sqlite_store.search("filler entry", k=10, metadata={"tag": "real"})
    assert sorted(r.text for r in tagged) == sorted(TARGETS)


def test_hnsw_dense_top_matches_exact_on_a_small_index(sqlite_store, monkeypatch):
    monkeypatch.setattr(dense_index, "HNSW_THRESHOLD", 200)
    _random_notes(sqlite_store, 400)
    idx = sqlite_store.index("default")
    assert idx.approximate
    vectors = idx.index.reconstruct_n(0, idx.index.ntotal)
    keep = idx.mask(kinds=("note",), statuses=("active",), now=0.0, include_expired=True)
    hits = 0
    for row in vectors[:20]:
        exact = set(idx.keys[np.argsort(-(vectors @ row))[:10]].tolist())
        hits += len(exact & {key for key, _ in idx.dense_top(row, 10, keep)})
    assert hits / 200 >= 0.95


def test_reopened_store_ranks_the_same(tmp_path, home, embedder):
    url = f"sqlite:///{tmp_path / 'm.db'}"
    store = MemoryStore.open(url, home=home, embedder=embedder)
    store.add_notes([
        {"text": "Have you still got the turtles?", "speaker": "Bo", "thread": "s1"},
        {"text": "Yes, three years now and they are thriving.", "speaker": "Ann", "thread": "s1"},
        {"text": "I started a pottery class.", "speaker": "Ann", "thread": "s2"},
        {"text": "That sounds relaxing!", "speaker": "Bo", "thread": "s2"},
    ])
    queries = ["How long has Ann had turtles?", "What class did Ann start?", "pottery"]
    before = [[(r.id, round(r.score, 5)) for r in store.search(q, k=4)] for q in queries]
    links = dict(store.index("default").neighbours)
    store.close()
    again = MemoryStore.open(url, home=home, embedder=embedder)
    assert any(again.index_dir.glob("*.faiss"))
    idx = again.index("default")
    assert idx.neighbours == links and len(idx.speaker) == 4
    assert [[(r.id, round(r.score, 5)) for r in again.search(q, k=4)] for q in queries] == before
    again.close()


def test_pruned_and_retracted_notes_leave_the_results(sqlite_store):
    notes = sqlite_store.add_notes([{"text": t} for t in TARGETS])
    sqlite_store.retract_note(notes[1].id)
    assert notes[1].id not in [r.id for r in sqlite_store.search("cat vacuum", k=3)]
    sqlite_store.prune(retracted=True, older_than=0)
    idx = sqlite_store.index("default")
    assert len(idx) == 2 and notes[1].id not in [r.id for r in sqlite_store.search("cat vacuum", k=3)]


def test_save_files_from_two_saves_are_refused(tmp_path, embedder):
    idx = vector_index.NamespaceIndex(embedder.dim)
    idx.save(tmp_path, "ns", "m")
    json_of_first = (tmp_path / "ns.json").read_text()
    idx.save(tmp_path, "ns", "m")
    assert not list(tmp_path.glob("*.tmp"))  # temporary files are renamed or removed
    (tmp_path / "ns.json").write_text(json_of_first)
    with pytest.raises(ValueError, match="different saves"):
        vector_index.NamespaceIndex.load(tmp_path, "ns", dim=embedder.dim, model="m")


def test_cached_filter_mask_follows_expiry_and_writes(sqlite_store):
    from datetime import timedelta

    from memory_store.timeparse import utcnow

    start = utcnow()
    sqlite_store.add_note("the parking permit expires soon", expires_at=(start + timedelta(hours=1)).isoformat())
    sqlite_store.add_note("the parking garage closes at ten")
    sqlite_store.clock = lambda: start
    assert len(sqlite_store.search("parking", k=5)) == 2
    assert len(sqlite_store.search("parking", k=5)) == 2  # the same mask, from the cache
    sqlite_store.clock = lambda: start + timedelta(hours=2)  # no write: only time passed
    assert [r.text for r in sqlite_store.search("parking", k=5)] == ["the parking garage closes at ten"]
    note = sqlite_store.add_note("parking is free on Sundays")
    assert len(sqlite_store.search("parking", k=5)) == 2
    sqlite_store.retract_note(note.id)
    assert len(sqlite_store.search("parking", k=5)) == 1
    mask = sqlite_store.index("default").mask(kinds=("note",), statuses=("active",), now=0.0, include_expired=False)
    with pytest.raises(ValueError):
        mask[0] = False  # shared between searches: read-only
