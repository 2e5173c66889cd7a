"""Keyword relevance: a tokenizer and an incremental in-memory BM25 index (Okapi BM25, k1=1.2, b=0.75).

Like the FAISS index it is a derived cache: rebuilt from SQL text, never the source of truth.
Scoring is vectorised over posting arrays so a query over 100k documents costs well under a millisecond
per query term."""
from __future__ import annotations

import math
import re
from collections import Counter
from typing import Iterable, Sequence

import numpy as np

_TOKEN = re.compile(r"[^\W_]+", re.UNICODE)
STOPWORDS = frozenset(
    """a an and are as at be been but by can could did do does for from had has have he her hers him his how
    i if in into is it its me my no not of on or our she so than that the their them then there these they
    this to too us was we were what when where which who whom why will with would you your yours""".split()
)


def stem(token: str) -> str:
    """A light suffix stripper (plural, -ing, -ed, -ly): cheap, predictable, good enough for recall."""
    if len(token) <= 3 or token.isdigit():
        return token
    for suffix, min_len in (("ies", 5), ("ing", 6), ("edly", 7), ("ed", 5), ("ly", 5), ("es", 5), ("s", 4)):
        if token.endswith(suffix) and len(token) >= min_len:
            if suffix == "ies":
                return token[:-3] + "y"
            if suffix == "s" and token.endswith("ss"):
                return token
            return token[: -len(suffix)]
    return token


def split_identifier(text: str) -> str:
    """'getWeatherForecast' / 'get_weather.forecast' -> 'get Weather Forecast' style words."""
    text = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", text)
    return re.sub(r"[_.\-/]+", " ", text)


def tokenize(text: str, *, keep_stopwords: bool = False) -> list[str]:
    tokens = (t.casefold() for t in _TOKEN.findall(text or ""))
    return [stem(t) for t in tokens if keep_stopwords or t not in STOPWORDS]


class BM25Index:
    """Incremental BM25 over documents keyed by int64 ids. Supports add, remove and masked top-k."""

    def __init__(self, *, k1: float = 1.2, b: float = 0.75):
        self.k1, self.b = k1, b
        self.keys: list[int] = []  # row -> external id
        self.row_of: dict[int, int] = {}
        # Row arrays grow by doubling so a query never converts Python lists.
        self._doc_len = np.zeros(1024, dtype=np.float32)
        self._alive = np.zeros(1024, dtype=bool)
        self._postings: dict[str, tuple[list[int], list[int]]] = {}
        self._arrays: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self._alive_docs = 0
        self._total_len = 0

    def __len__(self) -> int:
        return self._alive_docs

    @property
    def alive(self) -> np.ndarray:
        return self._alive[: len(self.keys)]

    def add(self, key: int, text: str) -> None:
        """Append a row for `key` (a key added again gets a new row; the old one is dropped)."""
        if key in self.row_of:
            self.remove(key)
        row = len(self.keys)
        if row >= len(self._alive):
            self._doc_len = np.concatenate([self._doc_len, np.zeros(len(self._doc_len), dtype=np.float32)])
            self._alive = np.concatenate([self._alive, np.zeros(len(self._alive), dtype=bool)])
        tokens = tokenize(text)
        self.keys.append(int(key))
        self.row_of[int(key)] = row
        self._doc_len[row] = len(tokens)
        self._alive[row] = True
        self._alive_docs += 1
        self._total_len += len(tokens)
        for term, tf in Counter(tokens).items():
            rows, tfs = self._postings.setdefault(term, ([], []))
            rows.append(row)
            tfs.append(tf)
            self._arrays.pop(term, None)

    def add_many(self, items: Iterable[tuple[int, str]]) -> None:
        for key, text in items:
            self.add(key, text)

    def remove(self, key: int) -> None:
        row = self.row_of.pop(int(key), None)
        if row is None or not self._alive[row]:
            return
        self._alive[row] = False
        self._alive_docs -= 1
        self._total_len -= int(self._doc_len[row])

    def _posting_arrays(self, term: str) -> tuple[np.ndarray, np.ndarray] | None:
        cached = self._arrays.get(term)
        if cached is None:
            posting = self._postings.get(term)
            if posting is None:
                return None
            cached = (np.asarray(posting[0], dtype=np.int64), np.asarray(posting[1], dtype=np.float32))
            self._arrays[term] = cached
        return cached

    def scores(self, query: str) -> np.ndarray:
        """Dense score array over rows (0 for documents that share no term with the query)."""
        n_rows = len(self.keys)
        scores = np.zeros(n_rows, dtype=np.float32)
        if not self._alive_docs:
            return scores
        avgdl = max(self._total_len / self._alive_docs, 1e-9)
        doc_len = self._doc_len
        for term in set(tokenize(query)):
            arrays = self._posting_arrays(term)
            if arrays is None:
                continue
            rows, tfs = arrays
            df = len(rows)
            idf = math.log(1 + (self._alive_docs - df + 0.5) / (df + 0.5))
            norm = self.k1 * (1 - self.b + self.b * doc_len[rows] / avgdl)
            scores[rows] += idf * tfs * (self.k1 + 1) / (tfs + norm)
        return scores

    def top_k(self, query: str, k: int, allowed: np.ndarray | None = None) -> list[tuple[int, float]]:
        """Best k (id, score) with score > 0; `allowed` is a boolean mask over rows (filters before ranking)."""
        return self.top_of(self.scores(query), k, allowed)

    def top_of(self, scores: np.ndarray, k: int, allowed: np.ndarray | None = None) -> list[tuple[int, float]]:
        """top_k over a score array already computed by `scores` (a search needs both the array and its top)."""
        if not len(scores):
            return []
        keep = self.alive if allowed is None else self.alive & allowed[: len(scores)]
        positive = np.flatnonzero((scores > 0) & keep)
        if not len(positive):
            return []
        if len(positive) > k:
            positive = positive[np.argpartition(-scores[positive], k - 1)[:k]]
        order = positive[np.argsort(-scores[positive], kind="stable")]
        return [(self.keys[r], float(scores[r])) for r in order]


def bm25_rank(query: str, documents: Sequence[str]) -> list[float]:
    """BM25 scores of a small list of documents (no index kept); used by baselines and small searches."""
    index = BM25Index()
    for i, doc in enumerate(documents):
        index.add(i, doc)
    return index.scores(query).tolist()
