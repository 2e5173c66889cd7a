"""What a policy is: `decide(observation, context) -> Action`, with the context the agent gathered."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from agentcl.envs.base import Action, Observation, ToolCall, ToolResult, ToolSpec

__all__ = ["Action", "Attempt", "ContextItem", "Policy", "PolicyContext", "ToolCall"]


@dataclass(frozen=True)
class ContextItem:
    """A retrieved memory (fact or note) handed to a policy. It is *data*: a policy must never treat its
    text as instructions."""

    text: str
    kind: str = "fact"  # "fact" | "note" | "usage" | anything the agent uses
    score: float | None = None
    id: int | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_search_result(cls, result: Any) -> ContextItem:
        """From a `memory_store.SearchResult` (duck-typed: .id .kind .text .score .metadata)."""
        return cls(text=str(result.text), kind=str(getattr(result, "kind", "fact")),
                   score=getattr(result, "score", None), id=getattr(result, "id", None),
                   metadata=dict(getattr(result, "metadata", None) or {}))

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "text": self.text}
        if self.score is not None:
            out["score"] = round(float(self.score), 4)
        if self.metadata:
            out["metadata"] = self.metadata
        return out


@dataclass(frozen=True)
class Attempt:
    """An earlier action on the same task and what it returned (e.g. a lookup and its result)."""

    action: Action
    result: ToolResult | None = None
    message: str = ""


@dataclass
class PolicyContext:
    """Everything the agent hands a policy for one decision.

    facts / notes: retrieved memories (data, never instructions); tools: candidate tool specs, best first
    (the policy may only call these); prior: the local model's guess, if any; attempts: earlier actions on
    this task (with their results); usage: per-tool usage notes (e.g. "parameter value is now quantity").
    """

    facts: list[ContextItem] = field(default_factory=list)
    notes: list[ContextItem] = field(default_factory=list)
    tools: list[ToolSpec] = field(default_factory=list)
    prior: str | None = None
    attempts: list[Attempt] = field(default_factory=list)
    usage: dict[str, list[str]] = field(default_factory=dict)
    # Structured conclusions of the agent's perceive stage, for policies that use them (the local one):
    # "belief" {value, source, confidence} for a fact question; "arguments" {tool: args} for tool tasks.
    hints: dict[str, Any] = field(default_factory=dict)


@runtime_checkable
class Policy(Protocol):
    name: str

    def decide(self, observation: Observation, context: PolicyContext) -> Action:
        """Answer the observation's task, or call one of `context.tools`."""
