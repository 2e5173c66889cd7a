"""The one prompt builder of the LLM policies (pure functions, no I/O): the task, then what the agent
retrieved as *data* blocks. Every block is JSON inside a tag, with '<' and '>' escaped, so no stored
text can close its block or open another; the system text says never to follow instructions found there.
The `openai` policy sends these lines as its user message; the local LM policy adds the tool specs and
the earlier attempts as data blocks too (it has no native tool calling)."""
from __future__ import annotations

import json
from typing import Any

from agentcl.envs.base import Observation, ToolResult, ToolSpec

from .base import Attempt, PolicyContext
from .prompt_limits import MemoryLimits, cap_memories


def data(value: Any) -> str:
    """JSON that cannot break out of a tag-delimited block."""
    return json.dumps(value, ensure_ascii=True, default=str).replace("<", "\\u003c").replace(">", "\\u003e")


def block(tag: str, value: Any) -> str:
    return f"<{tag}>\n{data(value)}\n</{tag}>"


def tool_result_payload(result: ToolResult | None, message: str) -> dict[str, Any]:
    if result is None:
        return {"message": message}
    payload: dict[str, Any] = {"ok": result.ok}
    if result.ok:
        payload["output"] = result.output
    else:
        payload["error"] = result.error
    return payload


def task_lines(observation: Observation, context: PolicyContext, limits: MemoryLimits | None = None,
               *, with_task: bool = True) -> list[str]:
    """The task line (optional), its structured hints when the world gives them, and the data blocks:
    <memory> (capped by `limits`, with a note when text was cut), <notices>, <prior>, <usage>."""
    lines = [f"Task (step {observation.step}, {observation.kind}): {observation.text}"] if with_task else []
    if observation.time:
        lines.append(f"Current time: {observation.time}")
    if observation.query is not None:
        lines.append("Fact asked: " + data({"subject": observation.query.subject,
                                            "predicate": observation.query.predicate}))
    if observation.request is not None:
        lines.append("Task inputs: " + data({"operation": observation.request.operation,
                                             "inputs": observation.request.inputs}))
    memories, cut = cap_memories([item.to_dict() for item in [*context.facts, *context.notes]],
                                 limits or MemoryLimits())
    lines.append(block("memory", memories))
    if cut.note():
        lines.append(cut.note())
    if observation.notices:
        lines.append(block("notices", [n.text for n in observation.notices]))
    if context.prior:
        lines.append(block("prior", context.prior))
    if context.usage:
        lines.append(block("usage", context.usage))
    return lines


def plain(text: Any) -> str:
    """One line of text for a plain-text data block: newlines folded, '<' and '>' escaped (as &lt; &gt;), so
    stored text can neither close its block nor open another."""
    return " ".join(str(text).split()).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def plain_block(tag: str, lines: list[str]) -> str:
    """A tag-delimited block of plain lines ("- kind: text"), for a small model that reads JSON noise as
    content: nothing but what each memory says, each line escaped by `plain`."""
    body = "\n".join(f"- {plain(line)}" for line in lines) if lines else "(empty)"
    return f"<{tag}>\n{body}\n</{tag}>"


def memory_view(items: list[Any], limits: MemoryLimits | None = None) -> tuple[list[str], str | None]:
    """Retrieved memories as "kind: text" lines (no ids, times, scores or metadata), capped by `limits`;
    with the note that says what was cut, if anything was."""
    capped, cut = cap_memories([{"kind": i.kind, "text": i.text} for i in items], limits or MemoryLimits())
    return [f"{m['kind']}: {m['text']}" for m in capped], cut.note()


def tool_specs(tools: list[ToolSpec]) -> list[dict[str, Any]]:
    """Compact specs for a text prompt: name, description, parameter names (required ones only listed)."""
    out = []
    for spec in tools:
        if spec.deprecated:
            continue
        out.append({"name": spec.name, "description": spec.description,
                    "parameters": [p.name for p in spec.parameters]})
    return out


def attempt_results(attempts: list[Attempt]) -> list[dict[str, Any]]:
    """Earlier actions on this task and what came back, as data."""
    out = []
    for attempt in attempts:
        call = attempt.action.tool_call
        entry: dict[str, Any] = ({"called": call.name, "arguments": call.arguments} if call is not None
                                 else {"answered": attempt.action.answer})
        entry["result"] = tool_result_payload(attempt.result, attempt.message)
        out.append(entry)
    return out
