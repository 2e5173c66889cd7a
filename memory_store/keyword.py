"""Keyword relevance: a tokenizer and an incremental in-memory BM25 index (Okapi BM25, k1=1.2, b=0.75).

Like the FAISS index it is a derived cache: rebuilt from SQL text, never the source of truth.
Scoring is vectorised over posting arrays so a query over 100k documents costs well under a millisecond
per query term."""
from __future__ import annotations

import math
import re
from collections import Counter

import numpy as np

_TOKEN = re.compile(r"[^\W_]+", re.UNICODE)
STOPWORDS = frozenset({
    "a", "an", "and", "are", "as", "at", "be", "been", "but", "by", "can", "could", "did", "do", "does", "for",
    "from", "had", "has", "have", "he", "her", "hers", "him", "his", "how", "i", "if", "in", "into", "is",
    "it", "its", "me", "my", "no", "not", "of", "on", "or", "our", "she", "so", "than", "that", "the", "their",
    "them", "then", "there", "these", "they", "this", "to", "too", "us", "was", "we", "were", "what", "when",
    "where", "which", "who", "whom", "why", "will", "with", "would", "you", "your", "yours"
})


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


_STEMS: dict[str, str] = {}  # token -> stem; a vocabulary is small next to the number of tokens
_STEMS_MAX = 500_000


def bm25_idf(n_docs: int, df: int) -> float:
    """BM25's (Lucene) inverse document frequency: never negative, even for a term in every document."""
    return math.log(1 + (n_docs - df + 0.5) / (df + 0.5))


def tokenize(text: str, *, keep_stopwords: bool = False) -> list[str]:
    out = []
    for raw in _TOKEN.findall(text or ""):
        token = raw.casefold()
        if not keep_stopwords and token in STOPWORDS:
            continue
        stemmed = _STEMS.get(token)
        if stemmed is None:
            stemmed = stem(token)
            if len(_STEMS) < _STEMS_MAX:
                _STEMS[token] = stemmed
        out.append(stemmed)
    return out


class BM25Index:
    """Incremental BM25 over documents keyed by int64 ids. Supports add, remove and masked top-k."""

    def __init__(self, *, k1: float = 1.2, b: float = 0.75):
        self.k1, self.b = k1, b
        self.keys: list[int] = []  # row -> external id
        self.row_of: dict[int, int] = {}
        # Row arrays grow by doubling so a query never converts Python lists.
        self._doc_len = np.zeros(1024, dtype=np.float32)
        self._alive = np.zeros(1024, dtype=bool)
        # term -> [rows, term frequencies, used length]: numpy arrays grown by doubling, so a query uses
        # them as they are (no list conversion after a write)
        self._postings: dict[str, list] = {}
        # term -> (generation, rows, BM25 weight of the term in each row): what a query adds per term,
        # valid until a document is added or removed (avgdl, N and df change)
        self._weights: dict[str, tuple[int, np.ndarray, np.ndarray]] = {}
        self._generation = 0
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
        self._generation += 1
        for term, tf in Counter(tokens).items():
            entry = self._postings.get(term)
            if entry is None:
                entry = self._postings[term] = [np.empty(4, dtype=np.int64), np.empty(4, dtype=np.float32), 0]
            used = entry[2]
            if used == len(entry[0]):
                entry[0] = np.concatenate([entry[0], np.empty(used, dtype=np.int64)])
                entry[1] = np.concatenate([entry[1], np.empty(used, dtype=np.float32)])
            entry[0][used] = row
            entry[1][used] = tf
            entry[2] = used + 1

    def remove(self, key: int) -> None:
        row = self.row_of.pop(int(key), None)
        if row is None or not self._alive[row]:
            return
        self._alive[row] = False
        self._alive_docs -= 1
        self._total_len -= int(self._doc_len[row])
        self._generation += 1

    def _term_weights(self, term: str, avgdl: float) -> tuple[np.ndarray, np.ndarray] | None:
        """(rows, weights) of a term: idf x the saturated, length-normalised term frequency."""
        cached = self._weights.get(term)
        if cached is not None and cached[0] == self._generation:
            return cached[1], cached[2]
        entry = self._postings.get(term)
        if entry is None:
            return None
        rows, tfs = entry[0][:entry[2]], entry[1][:entry[2]]
        df = int(np.count_nonzero(self._alive[rows]))  # removed documents keep their postings
        idf = bm25_idf(self._alive_docs, df)
        norm = self.k1 * (1 - self.b + self.b * self._doc_len[rows] / avgdl)
        weights = (idf * tfs * (self.k1 + 1) / (tfs + norm)).astype(np.float32)
        if len(self._weights) >= 100_000:
            self._weights.clear()
        self._weights[term] = (self._generation, rows, weights)
        return rows, weights

    def scores(self, query: str) -> np.ndarray:
        """Dense score array over rows (0 for documents that share no term with the query)."""
        scores = np.zeros(len(self.keys), dtype=np.float32)
        if not self._alive_docs:
            return scores
        avgdl = max(self._total_len / self._alive_docs, 1e-9)
        for term in set(tokenize(query)):
            found = self._term_weights(term, avgdl)
            if found is not None:
                scores[found[0]] += found[1]
        return scores

    def search_rows(self, query: str, k: int, allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(scores over all rows, the best k rows best first) in one pass: the top is taken among the rows
        the query's terms touch, not by scanning every row (a query's postings are usually a small share
        of the rows). `allowed`: boolean mask over rows (filters before ranking)."""
        scores = np.zeros(len(self.keys), dtype=np.float32)
        none = np.zeros(0, dtype=np.int64)
        if not self._alive_docs or k < 1:
            return scores, none
        avgdl = max(self._total_len / self._alive_docs, 1e-9)
        touched = []
        for term in set(tokenize(query)):
            found = self._term_weights(term, avgdl)
            if found is not None:
                scores[found[0]] += found[1]
                touched.append(found[0])
        if not touched:
            return scores, none
        rows = touched[0] if len(touched) == 1 else np.concatenate(touched)  # a row once per term it has
        rows = rows[self._alive[rows]]
        if allowed is not None:  # rows added after `allowed` was computed are not allowed yet
            if len(allowed) < len(self.keys):
                rows = rows[rows < len(allowed)]
            rows = rows[allowed[rows]]
        values = scores[rows]
        # The best k x terms entries hold at least k distinct rows (a row appears at most once per term).
        wanted = k * len(touched)
        if len(rows) > wanted:
            part = np.argpartition(-values, wanted - 1)[:wanted]
            rows, values = rows[part], values[part]
        rows = rows[np.argsort(-values, kind="stable")]
        if len(touched) > 1:
            _, first = np.unique(rows, return_index=True)  # keep each row's first (best) place
            rows = rows[np.sort(first)]
        return scores, rows[:k]

    def search(self, query: str, k: int, allowed: np.ndarray | None = None) -> tuple[np.ndarray, list[tuple[int, float]]]:
        """(scores over all rows, the best k (key, score)); see search_rows."""
        scores, rows = self.search_rows(query, k, allowed)
        return scores, [(self.keys[r], float(scores[r])) for r in rows.tolist()]

    def top_k(self, query: str, k: int, allowed: np.ndarray | None = None) -> list[tuple[int, float]]:
        """Best k (id, score) with score > 0; `allowed` is a boolean mask over rows (filters before ranking)."""
        return self.top_of(self.scores(query), k, allowed)

    def top_of(self, scores: np.ndarray, k: int, allowed: np.ndarray | None = None) -> list[tuple[int, float]]:
        """top_k over a score array already computed by `scores` (a search needs both the array and its top)."""
        n = min(len(scores), len(self.keys))
        if not n:
            return []
        scores = scores[:n]
        # Rows with a score first (usually a small share), then the filters on those rows only.
        positive = np.flatnonzero(scores > 0)
        positive = positive[self._alive[positive]]
        if allowed is not None:  # rows added after `allowed` was computed are not allowed yet
            positive = positive[positive < len(allowed)]
            positive = positive[allowed[positive]]
        if not len(positive):
            return []
        if len(positive) > k:
            positive = positive[np.argpartition(-scores[positive], k - 1)[:k]]
        order = positive[np.argsort(-scores[positive], kind="stable")]
        return [(self.keys[r], float(scores[r])) for r in order]
