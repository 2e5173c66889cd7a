"""Unit tests of the pure note-ranking functions (no model, no index)."""
from datetime import date, datetime
from pathlib import Path

import pytest

from agentcl_bench import locomo_eval as L
from memory_store import note_text, ranking
from memory_store.note_text import embedding_text, keyword_text
from memory_store.ranking import (
    fuse_scores,
    max_pool,
    normalise_by_max,
    propagate_to_neighbours,
    rank_candidates,
    reciprocal_rank_fusion,
    thread_neighbours,
)
from tests.conftest import require_data


def test_keyword_text_plain_note_is_unchanged():
    assert keyword_text("hello there") == "hello there"


def test_keyword_text_has_speaker_and_day():
    text = keyword_text("I went hiking.", speaker="Ann", time=datetime(2023, 5, 8, 13, 56))
    assert text == "Ann (8 May 2023): I went hiking."
    assert keyword_text("x", time=date(2021, 12, 31)) == "31 December 2021: x"
    assert keyword_text("x", speaker="Bo") == "Bo: x"


def test_keyword_text_keeps_only_last_previous_turns():
    previous = [("Ann", "first"), ("Bo", "How long have you had the turtles?")]
    text = keyword_text("Three years now.", speaker="Ann", previous=previous)
    assert text == "Bo: How long have you had the turtles?\nAnn: Three years now."
    assert "first" not in text
    two = keyword_text("Three years now.", speaker="Ann", previous=previous, context_turns=2)
    assert two.splitlines()[0] == "Ann: first"
    assert keyword_text("y", previous=[(None, "q?")], context_turns=0) == "y"
    assert keyword_text("y", previous=[(None, "q?")]) == "q?\ny"


def test_embedding_text_is_speaker_and_text_only():
    assert embedding_text("I went hiking.", speaker="Ann") == "Ann: I went hiking."
    assert embedding_text("hello") == "hello"


def test_normalise_by_max():
    assert normalise_by_max({1: 2.0, 2: 1.0}) == {1: 1.0, 2: 0.5}
    assert normalise_by_max({1: 0.0}) == {1: 0.0}
    assert normalise_by_max({}) == {}


def test_fuse_weights_and_union():
    dense = {1: 0.5, 2: 0.4}
    keyword = {2: 10.0, 3: 5.0}
    fused = dict(fuse_scores(dense, keyword, dense_weight=1.0, keyword_weight=0.4))
    assert fused[1] == pytest.approx(0.5)
    assert fused[2] == pytest.approx(0.4 + 0.4)
    # 3 has no dense score: it gets the lowest dense score present (0.4), an upper bound for a top-N list
    assert fused[3] == pytest.approx(0.4 + 0.2)
    order = [key for key, _ in fuse_scores(dense, keyword)]
    assert order == [2, 3, 1]


def test_fuse_keyword_only_changes_order():
    dense = {1: 0.6, 2: 0.55}
    assert [k for k, _ in fuse_scores(dense, {})] == [1, 2]
    assert [k for k, _ in fuse_scores(dense, {2: 3.0})] == [2, 1]
    assert [k for k, _ in fuse_scores(dense, {2: 3.0}, keyword_weight=0.0)] == [1, 2]


def test_fuse_ties_are_stable_by_id():
    assert [k for k, _ in fuse_scores({5: 0.3, 2: 0.3, 9: 0.3}, {})] == [2, 5, 9]


def test_propagate_uses_scores_before_propagation():
    scores = {1: 1.0, 2: 0.5, 3: 0.2}
    neighbours = {1: [2], 2: [1, 3], 3: [2], 4: [3]}
    out = propagate_to_neighbours(scores, neighbours, weight=0.1)
    assert out[1] == pytest.approx(1.05)
    assert out[2] == pytest.approx(0.6)
    assert out[3] == pytest.approx(0.25)
    assert 4 not in out  # only scored notes are returned
    assert propagate_to_neighbours(scores, {}, weight=0.5) == scores


def test_propagate_ignores_negative_and_self():
    out = propagate_to_neighbours({1: 0.3, 2: -0.5}, {1: [1, 2]}, weight=1.0)
    assert out[1] == pytest.approx(0.3)


def test_neighbour_lifts_answer_after_question():
    # the reply (2) shares nothing with the query; its question (1) matches strongly
    ranked = rank_candidates({1: 0.7, 2: 0.30, 3: 0.32}, {1: 8.0}, {1: [2], 2: [1, 3], 3: [2]})
    assert [k for k, _ in ranked] == [1, 2, 3]
    flat = rank_candidates({1: 0.7, 2: 0.30, 3: 0.32}, {1: 8.0}, {1: [2], 2: [1, 3], 3: [2]}, neighbour_weight=0)
    assert [k for k, _ in flat] == [1, 3, 2]


def test_mentioned_speakers():
    speakers = {1: "Caroline", 2: "Melanie", 3: None, 4: "Mary Ann", 5: "Ann"}
    assert ranking.mentioned_speakers("What did Caroline's friend paint?", speakers) == {1}
    assert ranking.mentioned_speakers("Did mary and Melanie meet?", speakers) == {2}
    assert ranking.mentioned_speakers("Where does Mary Ann live?", speakers) == {4, 5}
    assert ranking.mentioned_speakers("nobody here", speakers) == set()


def test_boost_only_scored_ids():
    assert ranking.boost({1: 0.5, 2: 0.4}, [2, 7], weight=0.2) == {1: 0.5, 2: pytest.approx(0.6)}


def test_rank_candidates_speaker_boost():
    dense, speakers = {1: 0.50, 2: 0.45}, {1: "Ann", 2: "Bo"}
    assert [k for k, _ in rank_candidates(dense, {}, query="What did Bo say?", speakers=speakers)] == [2, 1]
    assert [k for k, _ in rank_candidates(dense, {}, query="What did Bo say?", speakers=speakers,
                                          speaker_weight=0)] == [1, 2]
    assert [k for k, _ in rank_candidates(dense, {}, query="What was said?", speakers=speakers)] == [1, 2]


def test_thread_neighbours():
    nb = thread_neighbours({10: ("a", 0), 11: ("a", 1), 12: ("a", 2), 20: ("b", 1), 21: ("b", 3)})
    assert nb[10] == [11]
    assert nb[11] == [10, 12]
    assert nb[20] == [] and nb[21] == []


def test_max_pool():
    assert max_pool({1: 0.2, 2: 0.9}, {1: 0.5, 3: -0.1}) == {1: 0.5, 2: 0.9, 3: -0.1}
    assert max_pool() == {}


def test_rrf():
    fused = reciprocal_rank_fusion([[1, 2, 3], [3, 1]], k=60)
    assert [k for k, _ in fused] == [1, 3, 2]
    assert fused[0][1] == pytest.approx(1 / 61 + 1 / 62)


def test_default_weights_score_a_candidate_set_as_tuned():
    # dense 1.0 x cosine + 0.4 x BM25/best + 0.1 if the query names the speaker, then + 0.1 x best neighbour
    scored = dict(rank_candidates({1: 0.5, 2: 0.6, 3: 0.2}, {1: 10.0, 3: 5.0}, {2: [1], 3: [9]},
                                  query="what did Ann say", speakers={1: "Ann", 2: "Bo", 3: None}))
    assert scored[1] == pytest.approx(0.5 + 0.4 + 0.1)
    assert scored[2] == pytest.approx(0.6 + 0.1 * 1.0)  # its neighbour 1 lends a tenth of its score
    assert scored[3] == pytest.approx(0.2 + 0.4 * 0.5)  # neighbour 9 is not a candidate: lends nothing


def test_search_and_note_indexing_use_the_ranking_defaults():
    from memory_store import search

    assert search.CANDIDATES == ranking.CANDIDATES == 50  # per retriever, before fusion (tuned, see ranking.py)
    assert note_text.CONTEXT_TURNS == 1  # what the ranking was tuned on


# --- the LoCoMo evaluation harness (agentcl_bench.locomo_eval): pure parts ---------------------------

SAMPLE = {
    "sample_id": "s1",
    "conversation": {
        "speaker_a": "Ann",
        "speaker_b": "Bo",
        "session_2_date_time": "9:00 am on 10 June, 2023",
        "session_2": [{"speaker": "Bo", "dia_id": "D2:1", "text": "And now?"}],
        "session_1_date_time": "1:56 pm on 8 May, 2023",
        "session_1": [
            {"speaker": "Ann", "dia_id": "D1:1", "text": "Hi!"},
            {"speaker": "Bo", "dia_id": "D1:2", "text": "I adopted a dog.", "blip_caption": "a dog"},
        ],
    },
    "qa": [
        {"question": "What did Bo adopt?", "answer": "a dog", "evidence": ["D1:2"], "category": 4},
        {"question": "Multi?", "answer": "x", "evidence": ["D1:1; D2:1", "D9:9"], "category": 1},
        {"question": "Adversarial", "evidence": ["D1:1"], "category": 5},
        {"question": "Nothing known", "evidence": ["D7:7"], "category": 2},
    ],
}


def test_recall_at_k():
    assert L.recall_at_k(["a", "b", "c"], ["b", "z"], 2) == 0.5
    assert L.recall_at_k(["a", "b", "c"], ["c"], 2) == 0.0
    assert L.recall_at_k(["a"], [], 5) == 0.0
    assert L.recall_at_k(["a", "a"], ["a"], 5) == 1.0
    with pytest.raises(ValueError):
        L.recall_at_k(["a"], ["a"], 0)


def test_split_evidence():
    assert L.split_evidence(["D8:6; D9:17", "D1:1", " ", "D1:1"]) == ("D8:6", "D9:17", "D1:1")


def test_parse_session_time():
    assert L.parse_session_time("1:56 pm on 8 May, 2023") == datetime(2023, 5, 8, 13, 56)
    assert L.parse_session_time("someday") is None
    assert L.parse_session_time(None) is None


def test_parse_conversation_orders_sessions_and_positions():
    conv = L.parse_conversation(SAMPLE)
    assert [t.dia_id for t in conv.turns] == ["D1:1", "D1:2", "D2:1"]
    assert [(t.session, t.position) for t in conv.turns] == [(1, 0), (1, 1), (2, 0)]
    assert conv.turns[1].image_caption == "a dog" and conv.turns[2].time == datetime(2023, 6, 10, 9, 0)
    assert conv.speakers == ("Ann", "Bo")


def test_parse_questions_filters_categories_and_unknown_evidence():
    questions = L.parse_questions(SAMPLE, {"D1:1", "D1:2", "D2:1"})
    assert [(q.question, q.evidence, q.category) for q in questions] == [
        ("What did Bo adopt?", ("D1:2",), 4),
        ("Multi?", ("D1:1", "D2:1"), 1),
    ]


def test_conversation_lines_are_the_generic_import_format():
    from agentcl_bench.locomo import conversation_lines

    lines = conversation_lines(L.parse_conversation(SAMPLE))
    assert lines[1] == {"id": "D1:2", "speaker": "Bo", "text": "I adopted a dog.", "thread": "session_1",
                        "time": "2023-05-08T13:56:00"}
    assert lines[2]["thread"] == "session_2"  # the next session is another thread


def test_evaluate_scores_any_search_function():
    conv = L.parse_conversation(SAMPLE)
    questions = L.parse_questions(SAMPLE, {t.dia_id for t in conv.turns})
    ranked = {"What did Bo adopt?": ["D1:1", "D1:2"], "Multi?": ["D2:1"] + ["D0"] * 5 + ["D1:1"]}
    seen = []

    def search(namespace, query, k):
        seen.append((namespace, k))
        return ranked[query]

    result = L.evaluate(search, questions)
    assert seen == [("s1", 10), ("s1", 10)]
    assert result["overall"] == {"n": 2, "recall@1": 0.25, "recall@5": 0.75, "recall@10": 1.0}
    assert result["by_category"]["single-hop"]["recall@1"] == 0.0
    assert result["by_category"]["multi-hop"]["recall@5"] == 0.5


def test_reciprocal_rank_fusion_of_ids():
    assert L.reciprocal_rank_fusion([["a", "b"], ["b", "c"]])[:2] == ["b", "a"]


def test_load_locomo_dev_file():
    path = require_data("locomo", "locomo_dev.json")
    assert path.resolve() == (Path(__file__).resolve().parents[2] / L.DEFAULT_DATA_PATH).resolve()
    conversations, questions = L.load_locomo(path)
    assert len(conversations) == 4 and sum(len(c.turns) for c in conversations) == 2080
    assert len(questions) == 582 and {q.category for q in questions} == {1, 2, 3, 4}
