"""The ranking features of the store's search (memory_store.ranking inside MemoryStore.search): a
reply is found through the message it answers (thread context), a note gains from its neighbours,
the speaker a query names counts, and search_many ranks exactly like search. SQLite only, small data."""
from __future__ import annotations

import pytest

from memory_store import MemoryStore

CHAT = [  # (thread, speaker, text)
    ("s1", "Bo", "How long have you had the turtles?"),
    ("s1", "Ann", "Three years now, and they're thriving."),
    ("s1", "Bo", "Nice. I finally repaired my bike."),
    ("s2", "Ann", "I signed up for a pottery class."),
    ("s2", "Bo", "Cool, I went to a pottery class last year too."),
    ("s2", "Ann", "I'm moving to Lisbon in May."),
]


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture
def chat(tmp_path, home, embedder):
    store = MemoryStore.open(f"sqlite:///{tmp_path / 'm.db'}", home=home, embedder=embedder)
    notes = store.add_notes([{"text": t, "speaker": s, "thread": th, "external_id": f"m{i}",
                              "occurred_at": "2023-05-08T13:56:00"} for i, (th, s, t) in enumerate(CHAT)],
                            namespace="chat")
    yield store, notes
    store.close()


def test_a_reply_is_found_through_the_question_it_answers(chat):
    store, _ = chat
    got = [r.metadata["external_id"] for r in store.search("How long has Ann had turtles?", k=2, namespace="chat")]
    assert "m1" in got


def test_thread_links_follow_threads_in_order(chat):
    store, notes = chat
    idx = store.index("chat")
    key = [n.id * 2 + 1 for n in notes]  # note keys (index_keys.make_key)
    assert sorted(idx.neighbours[key[1]]) == [key[0], key[2]]
    assert idx.neighbours[key[2]] == [key[1]]  # the end of thread s1 is not linked to s2
    assert idx.neighbours[key[3]] == [key[4]]
    assert idx.speaker[key[0]] == "Bo"


def test_a_status_change_does_not_relink_a_thread(chat):
    store, notes = chat
    before = {k: sorted(v) for k, v in store.index("chat").neighbours.items()}
    store.retract_note(notes[2].id, namespace="chat")
    store.add_note("Back to the turtles: they love strawberries.", speaker="Ann", thread="s1", namespace="chat")
    idx = store.index("chat")
    new_key = max(idx.neighbours)
    assert idx.neighbours[new_key] == [notes[2].id * 2 + 1]  # linked to the old tail of s1, not to itself
    assert {k: sorted(v) for k, v in idx.neighbours.items() if k != new_key and k != notes[2].id * 2 + 1} == \
        {k: v for k, v in before.items() if k != notes[2].id * 2 + 1}


def test_the_speaker_a_query_names_counts(chat):
    store, _ = chat
    ann = store.search("Who took a pottery class? Ann", k=1, namespace="chat")[0]
    bo = store.search("Who took a pottery class? Bo", k=1, namespace="chat")[0]
    assert ann.metadata["speaker"] == "Ann" and bo.metadata["speaker"] == "Bo"


def test_search_many_ranks_like_search(chat):
    store, _ = chat
    queries = ["turtles", "Where is Ann moving?", "bike repair", "pottery class"]
    many = store.search_many(queries, k=4, namespace="chat")
    assert [[r.id for r in rs] for rs in many] == [[r.id for r in store.search(q, k=4, namespace="chat")]
                                                   for q in queries]
    assert store.search_many([], namespace="chat") == []


def test_results_carry_metadata_and_scores_best_first(chat):
    store, _ = chat
    got = store.search("Where is Ann moving?", k=6, namespace="chat")
    assert got[0].metadata["external_id"] == "m5" and got[0].metadata["occurred_at"].startswith("2023-05-08")
    assert [r.score for r in got] == sorted((r.score for r in got), reverse=True)
