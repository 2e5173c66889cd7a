"""What gets embedded for a note (pure). The keyword side and the fusion of scores live in
memory_store.ranking; memory_store.search puts them together."""
from __future__ import annotations

from datetime import date, datetime

from .ranking import note_context_text as _with_context


def note_embedding_text(text: str, *, speaker: str | None = None, time: datetime | date | None = None) -> str:
    """What gets embedded for a note: 'Speaker (8 May 2023): text' (just the text when neither is known).

    Who said it matters more than anything else for questions about people: on LoCoMo the bare text
    scores R@5 0.14 with plain dense search, 'Speaker: text' 0.38. Embedding the previous message of the
    thread as well scored the same with the full ranking (R@5 0.686 vs 0.682, R@10 0.771 vs 0.768) for
    2.7x the embedding time, so the thread context goes into the keyword text only (see ranking)."""
    return _with_context(text, speaker=speaker, time=time)


def note_context_text(text: str, *, speaker: str | None = None, time=None, previous=()) -> str:
    """The embedding text (note_embedding_text); `previous` (earlier turns of the thread) is accepted for
    older callers and not embedded, for the cost reason above."""
    return note_embedding_text(text, speaker=speaker, time=time)
