"""The agent's tool knowledge as typed slots, and their one encoding as fact slots (pure: no store).

Tool knowledge is stored as ordinary facts, so it is versioned and superseded like any other, in the
text form it always had (stores written before these types read unchanged):

- `OperationTool(op)`       <-> ("operation <op>", "tool")          object: the tool's name
- `ToolParam(tool, input)`  <-> ("tool <tool>", "param <input>")    object: the tool's parameter name

Only `encode` and `decode` know that form; no caller slices subjects or predicates. Names may contain
spaces or the prefixes themselves: only the first prefix is stripped, so decoding inverts encoding."""
from __future__ import annotations

from dataclasses import dataclass

OPERATION_PREFIX = "operation "
TOOL_PREFIX = "tool "
PARAM_PREFIX = "param "
TOOL_PREDICATE = "tool"
# Subjects of the agent's own tool knowledge, not facts of the world (the verify rule and re-verification
# leave them out).
TOOL_SUBJECT_PREFIXES = (OPERATION_PREFIX, TOOL_PREFIX)


@dataclass(frozen=True)
class OperationTool:
    """Which tool does `operation` (the world's operation name)."""
    operation: str


@dataclass(frozen=True)
class ToolParam:
    """Which parameter of `tool` (the world's tool name) takes the task input named `canonical`."""
    tool: str
    canonical: str


ToolSlot = OperationTool | ToolParam


def encode(slot: ToolSlot) -> tuple[str, str]:
    """(subject, predicate) of the fact that holds `slot`."""
    if isinstance(slot, OperationTool):
        return OPERATION_PREFIX + slot.operation, TOOL_PREDICATE
    if isinstance(slot, ToolParam):
        return TOOL_PREFIX + slot.tool, PARAM_PREFIX + slot.canonical
    raise TypeError(f"not a tool slot: {slot!r}")


def decode(subject: str, predicate: str) -> ToolSlot | None:
    """The tool slot a fact's (subject, predicate) holds; None for a fact of the world."""
    if subject.startswith(OPERATION_PREFIX) and predicate == TOOL_PREDICATE:
        return OperationTool(subject[len(OPERATION_PREFIX):])
    if subject.startswith(TOOL_PREFIX) and predicate.startswith(PARAM_PREFIX):
        return ToolParam(subject[len(TOOL_PREFIX):], predicate[len(PARAM_PREFIX):])
    return None


def params_subject(tool: str) -> str:
    """The subject under which all of `tool`'s learned parameter names are stored."""
    return encode(ToolParam(tool, ""))[0]


def is_tool_subject(subject: str) -> bool:
    """A subject of the agent's tool knowledge (by its prefix, as the verify rule excludes them)."""
    return subject.startswith(TOOL_SUBJECT_PREFIXES)
