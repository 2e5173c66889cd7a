"""The adapter's scope: which prompts the consolidated adapter answers, and which go to the base model.

The adapter was trained on two kinds of prompt only: questions about the consolidated slots' subjects,
and tool-call requests. Anything else (a general question, small talk) is answered by the base model with
the adapter switched off, so what consolidation taught cannot leak into general knowledge it never
touched. This is the scope classifier of memory-based model editing (SERAC, GRACE, WISE's routing), in its
simplest, explainable form: a prompt is in scope when it names a consolidated subject (whole words,
normalised) or is a tool-call request. Pure; no model."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from .text_examples import normalise, tool_prompt

TOOL_REQUEST = normalise(tool_prompt(""))


@dataclass(frozen=True)
class AdapterScope:
    subjects: frozenset[str]  # normalised subject names of the consolidated slots
    tool_calls: bool          # the adapter learned tool calls: tool-call requests are in scope
    # (subject, predicate) -> value, normalised: what the adapter learned each slot to be
    learned: frozenset[tuple[tuple[str, str], str]] = frozenset()

    @classmethod
    def of(cls, subjects: Iterable[str], *, tool_calls: bool, learned: dict | None = None) -> AdapterScope:
        values = frozenset(((normalise(s), normalise(p)), normalise(v)) for (s, p), v in (learned or {}).items())
        return cls(frozenset(n for s in subjects if (n := normalise(s))), bool(tool_calls), values)

    def covers(self, prompt: str) -> bool:
        text = f" {normalise(prompt)} "
        if self.tool_calls and text.startswith(f" {TOOL_REQUEST} "):
            return True
        return any(f" {s} " in text for s in self.subjects)

    def outdated_by(self, facts: Iterable[tuple[str, str, str]]) -> bool:
        """Memory is newer than the adapter: one of `facts` ((subject, predicate, value), e.g. what was
        retrieved for a question) gives a slot the adapter learned another value. Until a round relearns
        the slot, such a question is answered with the adapter off, from memory: the weights must never
        outvote the fast store they were distilled from."""
        learned = dict(self.learned)
        return any((got := learned.get((normalise(s), normalise(p)))) is not None and got != normalise(v)
                   for s, p, v in facts)


def scope_of(slots: Iterable, tools: Iterable[str], values: dict | None = None) -> AdapterScope:
    """The scope of an adapter that learned `slots` (Slot keys) and the calls of `tools` (names); `values`
    (Slot -> value, or a learned state's Slot -> {"value": ...}) are what it learned the slots to be."""
    learned = {(s.subject, s.predicate): (v.get("value") if isinstance(v, dict) else v)
               for s, v in (values or {}).items()}
    return AdapterScope.of((s.subject for s in slots), tool_calls=any(True for _ in tools),
                           learned={k: v for k, v in learned.items() if v is not None})
