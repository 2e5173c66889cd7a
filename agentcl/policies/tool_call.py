"""Reading a local model's reply as an action (pure functions): a JSON tool call
{"tool": NAME, "arguments": {...}} (the shape consolidation trains on) anywhere in the text, for a tool
the policy was offered; otherwise the text is the answer."""
from __future__ import annotations

import json
import re
from typing import Any

from agentcl.envs.base import Action

_NAME_KEYS = ("tool", "name", "function")
_ARG_KEYS = ("arguments", "args", "parameters")


def json_objects(text: str) -> list[Any]:
    """Every JSON object that starts at a '{' of `text` and parses (outermost first, left to right)."""
    decoder = json.JSONDecoder()
    found, i = [], text.find("{")
    while i != -1:
        try:
            value, end = decoder.raw_decode(text, i)
        except ValueError:
            i = text.find("{", i + 1)
            continue
        found.append(value)
        i = text.find("{", end)
    return found


def as_call(value: Any, tools: dict[str, str]) -> tuple[str, dict] | None:
    """(tool name, arguments) when `value` is a call of one of `tools` (casefolded name -> real name)."""
    if not isinstance(value, dict):
        return None
    name = next((value[k] for k in _NAME_KEYS if isinstance(value.get(k), str)), None)
    if name is None or name.strip().casefold() not in tools:
        return None
    args = next((value[k] for k in _ARG_KEYS if k in value), {})
    if not isinstance(args, dict):
        return None
    return tools[name.strip().casefold()], args


_TRUNCATED = re.compile(r'"(?:tool|name|function)"\s*:\s*"([^"]+)"\s*,\s*"(?:arguments|args|parameters)"\s*:\s*')


def truncated_call(text: str, tools: dict[str, str]) -> tuple[str, dict] | None:
    """A call whose outer object was cut off (the reply hit its token limit after the arguments):
    the tool name, then a complete arguments object."""
    match = _TRUNCATED.search(text)
    if match is None or match.group(1).strip().casefold() not in tools:
        return None
    try:
        args, _ = json.JSONDecoder().raw_decode(text, match.end())
    except ValueError:
        return None
    return (tools[match.group(1).strip().casefold()], args) if isinstance(args, dict) else None


_BARE = re.compile(r'(:\s*)([A-Za-z0-9_][A-Za-z0-9_.:+\-/]*)(?=\s*[,}])')
_LITERALS = {"true", "false", "null"}


def _quote_bare(match: re.Match) -> str:
    value = match.group(2)
    try:
        float(value)
        return match.group(0)  # a number stays a number
    except ValueError:
        pass
    return match.group(0) if value in _LITERALS else f'{match.group(1)}"{value}"'


def repaired_call(text: str, tools: dict[str, str]) -> tuple[str, dict] | None:
    """A call a small model wrote as almost-JSON: bare words as values ({"start": 2026-01-28}) quoted, and
    the braces a reply cut at its token limit left open closed. Only the text from the first '{' on, and
    only values (never keys or names) are touched; what still does not parse is no call."""
    start = text.find("{")
    if start == -1:
        return None
    body = _BARE.sub(_quote_bare, text[start:].strip())
    body += "}" * max(0, body.count("{") - body.count("}"))
    for value in json_objects(body):
        call = as_call(value, tools)
        if call is not None:
            return call
    return None


def clean_answer(text: str) -> str:
    """The first non-empty line, without a leading 'Answer:' (a small model's habit)."""
    line = next((ln.strip() for ln in text.strip().splitlines() if ln.strip()), "")
    for prefix in ("answer:", "a:"):
        if line.casefold().startswith(prefix):
            line = line[len(prefix):].strip()
    return line


def parse_reply(text: str, tool_names: list[str]) -> Action:
    """The action a reply stands for: the first JSON call of an offered tool, else the answer text.
    A JSON object that names no offered tool is not a call (the model may not invent tools)."""
    tools = {n.casefold(): n for n in tool_names}
    for value in json_objects(text):
        call = as_call(value, tools)
        if call is not None:
            return Action.call(call[0], call[1], rationale="local model: tool call")
    call = truncated_call(text, tools)
    if call is not None:
        return Action.call(call[0], call[1], rationale="local model: tool call (reply cut after its arguments)")
    call = repaired_call(text, tools)
    if call is not None:
        return Action.call(call[0], call[1], rationale="local model: tool call (bare values quoted, braces closed)")
    if json_objects(text) and text.lstrip().startswith("{"):
        return Action.say(clean_answer(text), rationale="local model: JSON that names no offered tool")
    return Action.say(clean_answer(text), rationale="local model: answer")
