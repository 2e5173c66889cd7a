"""Ranking of free-text notes: how candidate scores are combined.

Pure functions, no I/O. How memory_store.search uses them (ids are int64 row keys):

1. At write time a note's vector is the embedding of `note_text.embedding_text` ('Speaker: text') and
   its BM25 text is `note_text.keyword_text` (the previous note of its thread, then
   'Speaker (8 May 2023): text'): memory_store.note_text is the one place both are built.
2. At query time, with the filters already applied as a mask, the candidates are the dense top-N and the
   BM25 top-N (N = `CANDIDATES`); EVERY candidate gets both its raw cosine (from its stored vector) and
   its raw BM25: scoring only each list's own top-N lost 0.01-0.015 recall.
3. `rank_candidates(dense, keyword, neighbours)`: keyword scores divided by their maximum over the
   candidates, fused linearly with the cosine (`fuse_scores`), plus a small boost for notes whose
   speaker the query names (`mentioned_speakers`), then each candidate gains a share of its best
   adjacent turn's score (`propagate_to_neighbours`), and the result is sorted.

Per query this is O(candidates) dictionary work (~0.1 ms for 100 candidates), no model calls.

How the defaults were chosen: on LoCoMo (`agentcl bench locomo`), tuned on conversations conv-26 and
conv-30 only and checked on the held-out conv-41 and conv-42; the chosen point sits in the middle of a
flat plateau (R@5 varied by < 0.015 for keyword weight 0.3-0.5 and neighbour weight 0.05-0.15). With
MemoryStore.search on all four conversations: R@5 0.667-0.686, R@10 0.764-0.771 (held-out 0.658-0.672 /
0.749-0.758) depending on the embedded text (see memory_store.note_text), against plain dense 0.382 / 0.483,
BM25 0.487 / 0.561 and their reciprocal-rank fusion 0.496 / 0.573 in the same run.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache

# Dense and BM25 each contribute their top CANDIDATES; 30, 50 and 100 gave the same recall@10 on the
# tuning set, 50 keeps per-query work small.
CANDIDATES = 50
# Weight of the (cosine) dense score; the scale the other weights are relative to.
DENSE_WEIGHT = 1.0
# Weight of BM25 divided by the best BM25 score among the candidates (tuned: 0.3-0.5 flat, 0.4 chosen).
KEYWORD_WEIGHT = 0.4
# Share of the best adjacent turn's fused score a candidate gains (tuned: 0.05-0.15 flat, 0.1 chosen).
NEIGHBOUR_WEIGHT = 0.1
# Added to a note whose speaker is named in the query (tuned: 0.075-0.2 flat on R@5, 0.1 chosen).
SPEAKER_WEIGHT = 0.1


def normalise_by_max(scores: Mapping[int, float]) -> dict[int, float]:
    """Scores divided by the largest one (so the best is 1); all-zero or empty input maps to zeros."""
    top = max(scores.values(), default=0.0)
    if top <= 0:
        return {key: 0.0 for key in scores}
    return {key: value / top for key, value in scores.items()}


def fuse_scores(
    dense: Mapping[int, float],
    keyword: Mapping[int, float],
    *,
    dense_weight: float = DENSE_WEIGHT,
    keyword_weight: float = KEYWORD_WEIGHT,
) -> list[tuple[int, float]]:
    """Weighted sum of the raw dense (cosine) score and the max-normalised BM25 score over the union
    of both candidate sets, best first (ties by id, for a stable order). Best give `dense` a score for
    every candidate (the store has their vectors: one dot product each). A candidate still missing from
    `dense` gets the lowest dense score present, an upper bound when `dense` is a top-N list; one
    missing from `keyword` gets 0 (it shares no term with the query)."""
    fused = _fused(dense, keyword, dense_weight=dense_weight, keyword_weight=keyword_weight)
    return sorted(fused.items(), key=lambda item: (-item[1], item[0]))


def _fused(dense: Mapping[int, float], keyword: Mapping[int, float], *, dense_weight: float,
           keyword_weight: float) -> dict[int, float]:
    """fuse_scores before sorting (rank_candidates re-sorts once at the end)."""
    keyword_norm = normalise_by_max(keyword)
    dense_floor = min(dense.values(), default=0.0)
    return {
        key: dense_weight * dense.get(key, dense_floor) + keyword_weight * keyword_norm.get(key, 0.0)
        for key in dense.keys() | keyword.keys()
    }


def propagate_to_neighbours(
    scores: Mapping[int, float],
    neighbours: Mapping[int, Iterable[int]],
    *,
    weight: float = NEIGHBOUR_WEIGHT,
) -> dict[int, float]:
    """Each note gains `weight` x the best score among its neighbours (adjacent messages of the same
    thread) that are themselves scored; uses the scores before propagation, so order does not matter.
    A question and its answer are usually adjacent messages, and evidence comes in runs."""
    out = {}
    for key, value in scores.items():
        lent = max((scores[n] for n in neighbours.get(key, ()) if n in scores and n != key), default=0.0)
        out[key] = value + weight * max(lent, 0.0)
    return out


def mentioned_speakers(query: str, speakers: Mapping[int, str | None]) -> set[int]:
    """Ids whose speaker is named in the query: every token of the speaker's name (as tokenised for
    BM25, so 'Caroline's' names 'Caroline') occurs in the query."""
    from .keyword import tokenize

    query_tokens = set(tokenize(query, keep_stopwords=True))
    out = set()
    for key, speaker in speakers.items():
        name = _name_tokens(speaker or "")
        if name and all(token in query_tokens for token in name):
            out.add(key)
    return out


@lru_cache(maxsize=4096)
def _name_tokens(name: str) -> tuple[str, ...]:
    """A speaker's name as BM25 tokens (cached: a search checks the same few names again and again)."""
    from .keyword import tokenize

    return tuple(tokenize(name, keep_stopwords=True))


def boost(scores: Mapping[int, float], ids: Iterable[int], *, weight: float) -> dict[int, float]:
    """`scores` with `weight` added to each of `ids` that is scored."""
    out = dict(scores)
    for key in ids:
        if key in out:
            out[key] += weight
    return out


def max_pool(*views: Mapping[int, float]) -> dict[int, float]:
    """Per-id maximum over several score maps (e.g. a note's vectors for several texts)."""
    out: dict[int, float] = {}
    for view in views:
        for key, value in view.items():
            if key not in out or value > out[key]:
                out[key] = value
    return out


def thread_neighbours(positions: Mapping[int, tuple[object, int]]) -> dict[int, list[int]]:
    """{id: (thread, position)} -> {id: ids at position +-1 in the same thread}, among the given ids."""
    at = {(thread, pos): key for key, (thread, pos) in positions.items()}
    return {
        key: [at[(thread, p)] for p in (pos - 1, pos + 1) if (thread, p) in at]
        for key, (thread, pos) in positions.items()
    }


def rank_candidates(
    dense: Mapping[int, float],
    keyword: Mapping[int, float],
    neighbours: Mapping[int, Iterable[int]] | None = None,
    *,
    query: str | None = None,
    speakers: Mapping[int, str | None] | None = None,
    dense_weight: float = DENSE_WEIGHT,
    keyword_weight: float = KEYWORD_WEIGHT,
    neighbour_weight: float = NEIGHBOUR_WEIGHT,
    speaker_weight: float = SPEAKER_WEIGHT,
) -> list[tuple[int, float]]:
    """The full re-scoring of a candidate set: fuse, boost notes whose speaker the query names (when
    `query` and `speakers` are given), propagate to thread neighbours, sort best first."""
    fused = _fused(dense, keyword, dense_weight=dense_weight, keyword_weight=keyword_weight)
    if query and speakers and speaker_weight:
        fused = boost(fused, mentioned_speakers(query, speakers), weight=speaker_weight)
    if neighbours and neighbour_weight:
        fused = propagate_to_neighbours(fused, neighbours, weight=neighbour_weight)
    return sorted(fused.items(), key=lambda item: (-item[1], item[0]))


def reciprocal_rank_fusion(rankings: Sequence[Sequence[int]], *, k: int = 60) -> list[tuple[int, float]]:
    """Sum of 1/(k + rank) over rankings (rank from 1), best first: the rank-only baseline fusion."""
    score: dict[int, float] = {}
    for ranking in rankings:
        for rank, key in enumerate(ranking, start=1):
            score[key] = score.get(key, 0.0) + 1.0 / (k + rank)
    return sorted(score.items(), key=lambda item: (-item[1], item[0]))
