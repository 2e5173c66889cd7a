"""The OpenAI tools format, built in one place: the tool name the wire accepts and a `tools` entry.

The registry's export, the `openai` policy and the agent's toolbox (which registers a world's tools) all
build their entries here, so the shape and the name rule cannot drift apart."""
from __future__ import annotations

import re
from typing import Any


def openai_name(name: str) -> str:
    """A tool name as OpenAI accepts it (^[A-Za-z0-9_-]{1,64}$); skills may use dots or other characters."""
    return re.sub(r"[^A-Za-z0-9_-]", "_", name)[:64] or "tool"


def openai_tool(name: str, description: str, parameters: dict, **extra: Any) -> dict[str, Any]:
    """One Chat Completions `tools` entry. `name` is used as given (pass `openai_name(...)` for the wire);
    `extra` adds top-level keys beside "type" and "function" (e.g. "x-agentcl-name")."""
    return {"type": "function", "function": {"name": name, "description": description, "parameters": parameters},
            **extra}
