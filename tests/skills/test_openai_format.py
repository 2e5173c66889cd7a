"""The one OpenAI tools format: wire names and entries, shared by the registry's export, the openai policy
and the agent's toolbox."""
from __future__ import annotations

from agentcl.envs.base import ParamSpec, ToolSpec
from agentcl.policies.base import PolicyContext
from agentcl.policies.llm import build_tools
from skills.openai_format import openai_name, openai_tool


def test_openai_name_keeps_what_the_wire_accepts_and_replaces_the_rest():
    assert openai_name("drift.convert_units") == "drift_convert_units"
    assert openai_name("a-b_C9") == "a-b_C9"
    assert openai_name("x" * 80) == "x" * 64
    assert openai_name("") == "tool"


def test_openai_tool_is_one_entry_with_extra_keys_beside():
    entry = openai_tool("f", "Does f.", {"type": "object", "properties": {}}, **{"x-agentcl-name": "f.g"})
    assert entry == {"type": "function", "function": {"name": "f", "description": "Does f.",
                                                      "parameters": {"type": "object", "properties": {}}},
                     "x-agentcl-name": "f.g"}


def test_the_openai_policy_sends_wire_names_and_maps_them_back():
    spec = ToolSpec("units.convert", "Convert units.", (ParamSpec("value", "number", "The value."),))
    tools, names = build_tools(PolicyContext(tools=[spec]))
    assert tools == [openai_tool("units_convert", "Convert units.", spec.json_schema())]
    assert names == {"units_convert": "units.convert"}
