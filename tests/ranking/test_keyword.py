"""BM25 (memory_store.keyword): the one-pass search agrees with scoring every row, removed documents
neither count nor score, and postings grow without losing entries. Pure, no model."""
import numpy as np
import pytest

from memory_store.keyword import BM25Index, tokenize

DOCS = [f"{who} {verb} the {thing} entry {i}" for i, (who, verb, thing) in enumerate(
    (w, v, t) for w in ("ann", "bo", "cy", "dee") for v in ("painted", "sold", "fixed") for t in ("bike", "boat", "barn", "bench"))]


@pytest.fixture
def index():
    bm = BM25Index()
    for i, doc in enumerate(DOCS):
        bm.add(i * 2 + 1, doc)
    return bm


@pytest.mark.parametrize("query", ["bike", "ann painted the boat", "entry", "nothing here", "bike bike boat"])
@pytest.mark.parametrize("k", [1, 3, 10, 100])
def test_search_matches_scoring_every_row(index, query, k):
    allowed = np.arange(len(DOCS)) % 3 != 0
    for mask in (None, allowed):
        scores, top = index.search(query, k, mask)
        assert np.allclose(scores, index.scores(query))
        expected = index.top_of(scores, k, mask)
        assert [round(v, 6) for _, v in top] == [round(v, 6) for _, v in expected]
        assert len({key for key, _ in top}) == len(top)
        if mask is not None:
            assert all(mask[index.row_of[key]] for key, _ in top)


def test_removed_documents_do_not_count(index):
    for i in range(0, len(DOCS), 2):
        index.remove(i * 2 + 1)
    scores, top = index.search("entry", 100)
    assert len(top) == len(DOCS) // 2 and all(v > 0 for _, v in top)  # idf stays positive
    assert all((key // 2) % 2 == 1 for key, _ in top)
    assert scores[index.row_of[3]] > 0


def test_postings_grow_and_stay_complete():
    bm = BM25Index()
    for i in range(3000):
        bm.add(i, f"common word{i % 7}")
    _, top = bm.search("common", 5000)
    assert len(top) == 3000
    assert len(bm.search("word3", 5000)[1]) == len(range(3, 3000, 7))


def test_tokenize_stems_and_drops_stopwords():
    assert tokenize("The Cats were jumping quickly") == ["cat", "jump", "quick"]
    assert tokenize("The cats", keep_stopwords=True) == ["the", "cat"]
