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

    @classmethod
    def of(cls, subjects: Iterable[str], *, tool_calls: bool) -> AdapterScope:
        return cls(frozenset(n for s in subjects if (n := normalise(s))), bool(tool_calls))

    def covers(self, prompt: str) -> bool:
        text = f" {normalise(prompt)} "
        if self.tool_calls and text.startswith(f" {TOOL_REQUEST} "):
            return True
        return any(f" {s} " in text for s in self.subjects)


def scope_of(slots: Iterable, tools: Iterable[str]) -> AdapterScope:
    """The scope of an adapter that learned `slots` (Slot keys) and the calls of `tools` (names)."""
    return AdapterScope.of((s.subject for s in slots), tool_calls=any(True for _ in tools))
