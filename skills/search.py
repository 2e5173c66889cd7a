"""Ranking skills for a task text: several dense vectors per skill plus field-wise BM25, fused; then what
past tasks taught (skills/usage.py).

Per skill we keep vectors for (a) name words + description + parameter names, (b) the same with parameter
descriptions, (c) each parameter, (d) each example task (written by the author or learned from calls).
Keyword evidence comes from BM25 over the name and description, over the parameters, and over
word bigrams (phrases such as "circle with a radius"), plus IDF-weighted coverage: how much rare-word weight
of the task appears anywhere in the skill (name, description, parameters), without BM25's length and
frequency damping. A second task vector drops the values (numbers and quoted strings), which describe the
arguments rather than the tool. Each signal is z-normalised over the candidate
skills and combined with fixed weights (chosen on one half of a public benchmark, checked on the other;
see agentcl_bench/tools.py). Adding coverage and the value-free vector (0.075 each, the same choice on
either half) moved BFCL hit@1 from 0.825 to 0.8375 (even half 0.830 -> 0.840, odd 0.820 -> 0.835).

Example tasks are not pooled into the description evidence: pooling made every skill with examples pull in
the near-miss tasks of its neighbours (hit@1 on BFCL fell from 0.82 to 0.68 with 200 learned examples).
They vote instead, as the nearest past tasks, mixed with the description ranking by a gate fitted
leave-one-out on the registry's own examples (skills/usage.py); the description scores of those examples
are cached per text until a skill's description changes. With no examples the ranking is the description
ranking, unchanged. Like FAISS in the memory store this is a derived cache, rebuilt from SQL."""
from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from memory_store.keyword import BM25Index, bm25_idf, split_identifier, tokenize

from . import usage

# Weights of the z-normalised signals (sum to 1).
WEIGHTS = {"main": 0.34, "full": 0.17, "param": 0.085, "nodigits": 0.085, "bigram": 0.085, "bm25_desc": 0.0425,
           "bm25_params": 0.0425, "coverage": 0.075, "novalues": 0.075}
_DIGITS = re.compile(r"\d+(?:[.,]\d+)*")
_QUOTED = re.compile(r"""(['"‘’“”])(?:(?!\1).){1,80}?\1""")


@dataclass
class SkillDoc:
    """The searchable text of one skill version."""

    name: str
    description: str
    params: list[tuple[str, str]] = field(default_factory=list)  # (name, description)
    examples: list[str] = field(default_factory=list)  # past task texts (written by the author or learned)
    # per example: its signed vote weight (usage.example_weight; negative for a failed call); default 1
    example_weights: list[float] = field(default_factory=list)
    example_args: list[dict | None] = field(default_factory=list)  # per example (None: no arguments known)
    example_changes: list[int] = field(default_factory=list)  # per example: signature changes since recorded

    def weights(self) -> list[float]:
        return list(self.example_weights) or [1.0] * len(self.examples)

    @property
    def name_words(self) -> str:
        return split_identifier(self.name).lower()

    def main_text(self) -> str:
        names = ", ".join(split_identifier(p) for p, _ in self.params)
        return f"{self.name_words}: {self.description}" + (f" ({names})" if names else "")

    def full_text(self) -> str:
        params = "; ".join(f"{split_identifier(p)}: {d}" for p, d in self.params)
        return f"{self.name_words}: {self.description}" + (f" Parameters: {params}" if params else "")

    def key(self) -> tuple:
        # weights rounded: ageing moves them a little at every search, which must not rebuild the index
        return (self.name, self.description, tuple(self.params), tuple(self.examples),
                tuple(round(w, 2) for w in self.weights()))


def bigrams(text: str) -> str:
    """'area of a circle' -> 'area0of of0a a0circle' (adjacent word pairs, stopwords kept, as one token each)."""
    words = tokenize(split_identifier(text), keep_stopwords=True)
    return " ".join(f"{a}0{b}" for a, b in zip(words, words[1:]))


def strip_values(text: str) -> str:
    """The task without its numbers: values say little about which tool, and pull the vectors around."""
    return _DIGITS.sub(" ", text)


def strip_quoted_values(text: str) -> str:
    """The task without numbers and short quoted strings (names, titles, review texts: argument values)."""
    return strip_values(_QUOTED.sub(" ", text))


def doc_terms(d: SkillDoc) -> set[str]:
    params = " ".join(f"{split_identifier(p)} {desc}" for p, desc in d.params)
    return set(tokenize(f"{split_identifier(d.name)} {d.description} {params}"))


def znorm(scores: np.ndarray) -> np.ndarray:
    """Per-row z-scores over the candidates (rows = queries)."""
    mean = scores.mean(axis=1, keepdims=True)
    std = scores.std(axis=1, keepdims=True)
    return (scores - mean) / (std + 1e-9)


def _max_by_owner(sims: np.ndarray, owners: np.ndarray, n: int, fill: float) -> np.ndarray:
    out = np.full((n, sims.shape[0]), -np.inf, dtype=np.float32)
    if len(owners):
        np.maximum.at(out, owners, sims.T)
    out[np.isinf(out)] = fill
    return out.T


class SkillSearchIndex:
    """Vectors and BM25 indexes for a set of SkillDocs; re-encodes only documents that changed."""

    def __init__(self, embedder):
        self.embedder = embedder
        self.docs: list[SkillDoc] = []
        self._cache: dict[str, np.ndarray] = {}  # text -> vector
        self._built_for: tuple | None = None
        self._described_for: tuple | None = None
        self._example_rows: dict[str, np.ndarray] = {}  # past task -> its description scores (same skills)
        self.parameters = usage.DEFAULT_PARAMETERS.copy()  # of the mixture (skills/usage.py)
        self._fitted_on = 0  # successful examples the parameters were fitted on (0: not fitted)

    def sync(self, docs: Sequence[SkillDoc]) -> None:
        signature = tuple(d.key() for d in docs)
        if signature == self._built_for:
            self.docs = list(docs)  # same texts and weights; the arguments may be newer
            return
        self.docs = list(docs)
        described = tuple((d.name, d.description, tuple(d.params)) for d in self.docs)
        if described != self._described_for:  # the description scores of past tasks are stale
            self._example_rows, self._described_for, self._fitted_on = {}, described, 0
        self._encode(sorted({t for d in self.docs for t in self._texts(d)} - set(self._cache)))
        keep = {t for d in self.docs for t in self._texts(d)}
        keep |= {v for d in self.docs for t in d.examples for v in (strip_values(t), strip_quoted_values(t))}
        self._cache = {t: v for t, v in self._cache.items() if t in keep}
        self._assemble()
        self._built_for = signature

    @staticmethod
    def _texts(d: SkillDoc) -> list[str]:
        return [d.main_text(), d.full_text()] + [f"{split_identifier(p)}: {desc}" for p, desc in d.params] \
            + list(d.examples)

    def _encode(self, texts: list[str]) -> None:
        """Vectors are cached per text, so a new usage example costs one encoding, not the whole skill."""
        if texts:
            self._cache.update(zip(texts, self.embedder.encode(texts)))

    def _vectors(self, d: SkillDoc) -> dict:
        n_params = len(d.params)
        block = [self._cache[t] for t in self._texts(d)]
        dim = self.embedder.dim
        stack = lambda rows: np.stack(rows) if rows else np.zeros((0, dim), np.float32)
        return {"main": block[0], "full": block[1], "params": stack(block[2:2 + n_params]),
                "examples": stack(block[2 + n_params:])}

    def _assemble(self) -> None:
        dim = self.embedder.dim
        enc = [self._vectors(d) for d in self.docs]
        self.main = np.stack([e["main"] for e in enc]) if enc else np.zeros((0, dim), np.float32)
        self.full = np.stack([e["full"] for e in enc]) if enc else np.zeros((0, dim), np.float32)
        self.param_vecs = np.concatenate([e["params"] for e in enc]) if enc else np.zeros((0, dim), np.float32)
        self.param_owner = np.concatenate([[i] * len(e["params"]) for i, e in enumerate(enc)]).astype(np.int64) \
            if enc else np.zeros(0, np.int64)
        self.example_vecs = np.concatenate([e["examples"] for e in enc]) if enc else np.zeros((0, dim), np.float32)
        self.example_owner = np.concatenate([[i] * len(e["examples"]) for i, e in enumerate(enc)]).astype(np.int64) \
            if enc else np.zeros(0, np.int64)
        self.example_weight = np.array([w for d in self.docs for w in d.weights()], np.float64)
        self._first_example = np.cumsum([0] + [len(d.examples) for d in self.docs])[:-1]
        texts = [strip_quoted_values(t) for d in self.docs for t in d.examples]
        self._encode(sorted(set(texts) - set(self._cache)))
        self.example_task_vecs = np.stack([self._cache[t] for t in texts]) if texts else self.example_vecs
        self.bm25_desc, self.bm25_params, self.bm25_bigram = BM25Index(), BM25Index(), BM25Index()
        for i, d in enumerate(self.docs):
            self.bm25_desc.add(i, f"{d.name_words} {d.description}")
            self.bm25_params.add(i, " ".join(f"{split_identifier(p)} {desc}" for p, desc in d.params))
            self.bm25_bigram.add(i, bigrams(f"{d.name_words} {d.description}"))
        # coverage: term -> skills containing it, and the term's IDF over the skills
        owners: dict[str, list[int]] = {}
        for i, d in enumerate(self.docs):
            for t in doc_terms(d):
                owners.setdefault(t, []).append(i)
        n = len(self.docs)
        self.term_docs = {t: np.array(rows, np.int64) for t, rows in owners.items()}
        self.term_idf = {t: bm25_idf(n, len(rows)) for t, rows in owners.items()}
        self.parameters = self._fit()

    def coverage(self, query: str) -> np.ndarray:
        """Summed IDF of the distinct task terms each skill contains (z-normalised later, so not divided)."""
        out = np.zeros(len(self.docs))
        for t in set(tokenize(split_identifier(query))):
            rows = self.term_docs.get(t)
            if rows is not None:
                out[rows] += self.term_idf[t]
        return out

    def _query_vectors(self, queries: Sequence[str], *, cached: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The task, the task without numbers, and without numbers and quoted strings (one encoding each
        distinct text: a task without numbers or quotes equals its variants). `cached`: past tasks,
        whose vectors are kept with the index."""
        m = len(queries)
        texts = list(queries) + [strip_values(q) for q in queries] + [strip_quoted_values(q) for q in queries]
        distinct = list(dict.fromkeys(texts))
        if cached:
            self._encode([t for t in distinct if t not in self._cache])
            vecs = np.stack([self._cache[t] for t in texts])
        else:
            position = {t: i for i, t in enumerate(distinct)}
            vecs = np.asarray(self.embedder.encode(distinct))[[position[t] for t in texts]]
        return vecs[:m], vecs[m:2 * m], vecs[2 * m:]

    def description_scores(self, queries: Sequence[str], vectors=None, mask: np.ndarray | None = None,
                           weights: dict[str, float] | None = None) -> np.ndarray:
        """The description ranking's score (n_queries, n_candidates): the weighted z-scored signals."""
        weights = weights or WEIGHTS
        mask = np.ones(len(self.docs), bool) if mask is None else mask
        total = np.zeros((len(queries), int(mask.sum())))
        for key, matrix in self.signals(queries, vectors).items():
            if weights.get(key):
                total += weights[key] * znorm(matrix[:, mask].astype(np.float64))
        return total

    def _fit(self) -> np.ndarray:
        """The mixture's parameters, fitted leave-one-out on this index's own successful examples (the last
        usage.MAX_TRAINING of them); the defaults while there are fewer than two. Refitted only when the
        number of examples moved by usage.REFIT_FRACTION (or the descriptions changed): one new example
        barely moves the parameters, and a fit over thousands of examples takes seconds."""
        rows = np.flatnonzero(self.example_weight > 0)[-usage.MAX_TRAINING:]
        if len(rows) < 2:
            self._fitted_on = 0
            return usage.DEFAULT_PARAMETERS.copy()
        if not usage.needs_refit(self._fitted_on, len(rows)):
            return self.parameters
        texts = [self.docs[o].examples[i - self._first_example[o]] for i, o in zip(rows, self.example_owner[rows])]
        missing = list(dict.fromkeys(t for t in texts if t not in self._example_rows))
        if missing:
            self._example_rows.update(zip(missing, self.description_scores(
                missing, self._query_vectors(missing, cached=True))))
        self._example_rows = {t: self._example_rows[t] for t in texts}  # forget tasks no longer trained on
        description = np.stack([self._example_rows[t] for t in texts])
        ev, labels = usage.leave_one_out(description, self.example_task_vecs, self.example_owner,
                                         self.example_weight, rows)
        self._fitted_on = len(rows)
        return usage.fit(ev, labels)

    def signals(self, queries: Sequence[str], vectors=None) -> dict[str, np.ndarray]:
        """Raw (not normalised) description score matrices (n_queries, n_docs) per signal."""
        n = len(self.docs)
        q, q_nd, q_nv = vectors if vectors is not None else self._query_vectors(queries)
        return {
            "main": q @ self.main.T,
            "full": q @ self.full.T,
            "param": _max_by_owner(q @ self.param_vecs.T, self.param_owner, n, 0.0),
            "nodigits": q_nd @ self.main.T,
            "novalues": q_nv @ self.main.T,
            "bigram": np.stack([self.bm25_bigram.scores(bigrams(t)) for t in queries]),
            "bm25_desc": np.stack([self.bm25_desc.scores(t) for t in queries]),
            "bm25_params": np.stack([self.bm25_params.scores(t) for t in queries]),
            "coverage": np.stack([self.coverage(t) for t in queries]),
        }

    def scores(self, queries: Sequence[str], allowed: np.ndarray | None = None,
               weights: dict[str, float] | None = None, *, learned: bool = True) -> np.ndarray:
        """log P(skill | task) (n_queries, n_docs); columns outside `allowed` are -inf (filtered before
        ranking). `learned=False`: the description ranking alone (what the bench compares against)."""
        if not self.docs or not len(queries):
            return np.zeros((len(queries), len(self.docs)), np.float32)
        mask = np.ones(len(self.docs), bool) if allowed is None else np.asarray(allowed, bool)
        fused = np.full((len(queries), len(self.docs)), -np.inf, dtype=np.float64)
        if not mask.any():
            return fused
        vectors = self._query_vectors(queries)
        total = self.description_scores(queries, vectors, mask, weights)
        # Scores are log-probabilities whether or not examples exist (the same scale before and after
        # learning); with no examples, or learned=False, the order is the description ranking's.
        columns = np.flatnonzero(mask)
        keep = np.isin(self.example_owner, columns)
        # Past tasks are compared without their values (vectors[2]): values say which arguments, not which tool.
        sims = vectors[2] @ self.example_task_vecs[keep].T if learned else np.zeros((len(queries), 0))
        owners = np.searchsorted(columns, self.example_owner[keep]) if learned else np.zeros(0, np.int64)
        ev = usage.evidence(total, sims, owners, self.example_weight[keep] if learned else np.zeros(0))
        fused[:, mask] = usage.log_probs(self.parameters if learned else usage.DEFAULT_PARAMETERS, ev)
        return fused

    def nearest_examples(self, query_vector: np.ndarray, doc: int, k: int) -> list[tuple[int, float]]:
        """(position among `doc`'s examples, cosine) of its k nearest successful examples, nearest first."""
        rows = np.flatnonzero((self.example_owner == doc) & (self.example_weight > 0))
        if not len(rows):
            return []
        start = int(np.flatnonzero(self.example_owner == doc)[0])
        sims = self.example_vecs[rows] @ query_vector
        order = np.argsort(-sims, kind="stable")[:k]
        return [(int(rows[i] - start), float(sims[i])) for i in order]
