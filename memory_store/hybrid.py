"""Hybrid-search scoring: how a note is embedded in context and how dense and keyword hits are fused (pure)."""
from __future__ import annotations


def note_context_text(text: str, *, speaker: str | None = None, time=None, previous=()) -> str:
    """What gets embedded for a note: the note, its speaker, and the preceding turn(s) of its thread."""
    own = f"{speaker}: {text}" if speaker else text
    context = " ".join(f"{s}: {t}" if s else t for s, t in previous)
    return f"{own}\n(context: {context})" if context else own


def fuse_scores(dense: dict[int, float], keyword: dict[int, float], *, k: int, rrf_k: float = 60.0,
                dense_weight: float = 1.0, keyword_weight: float = 1.0) -> list[tuple[int, float]]:
    """Reciprocal-rank fusion of dense and keyword candidate lists."""
    scores: dict[int, float] = {}
    for weight, ranked in ((dense_weight, dense), (keyword_weight, keyword)):
        for rank, key in enumerate(sorted(ranked, key=lambda x: -ranked[x])):
            scores[key] = scores.get(key, 0.0) + weight / (rrf_k + rank + 1)
    return sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))[:k]
