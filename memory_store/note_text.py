"""The text a note is indexed by, for both retrievers: one place, pure functions.

- `embedding_text`: what the dense index embeds, 'Speaker: text' (just the text without a speaker).
- `keyword_text`: what BM25 indexes, the previous turn of the thread (if any) on its own line, then
  'Speaker (8 May 2023): text'.

Who said it matters more than anything else for questions about people: on LoCoMo the bare text
scores R@5 0.14 with plain dense search, 'Speaker: text' 0.38. Embedding the previous message of the
thread as well scored the same with the full ranking (R@5 0.686 vs 0.682, R@10 0.771 vs 0.768) for 2.7x
the embedding time, so thread context (and the day) goes into the keyword text only; there it makes a
reply like "I've had them for 3 years" findable by the words of the question it answers."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

# How many earlier messages of the same thread go into a note's keyword text (1 beat 0 and 2).
CONTEXT_TURNS = 1


def format_day(when: datetime | date | None) -> str:
    """'8 May 2023' (day month year, words for the month so a query saying 'May 2023' can match)."""
    if when is None:
        return ""
    return f"{when.day} {when:%B %Y}"


def embedding_text(text: str, *, speaker: str | None = None) -> str:
    """What gets embedded for a note: 'Speaker: text', or the text alone when the speaker is unknown."""
    return f"{speaker}: {text}" if speaker else text


def keyword_text(text: str, *, speaker: str | None = None, time: datetime | date | None = None,
                 previous: Sequence[tuple[str | None, str]] = (), context_turns: int = CONTEXT_TURNS) -> str:
    """What BM25 indexes for a note: its last `context_turns` earlier thread messages (oldest first, as
    (speaker, text)), one per line, then 'Speaker (8 May 2023): text'."""
    kept = list(previous)[-context_turns:] if context_turns > 0 else []
    lines = [f"{who}: {said}" if who else said for who, said in kept]
    head = speaker or ""
    day = format_day(time)
    if day:
        head = f"{head} ({day})" if head else day
    lines.append(f"{head}: {text}" if head else text)
    return "\n".join(lines)


def embedding_texts(items) -> list[str]:
    """embedding_text of each validated note (memory_store.notes.NoteInput)."""
    return [embedding_text(item.text, speaker=item.speaker) for item in items]
