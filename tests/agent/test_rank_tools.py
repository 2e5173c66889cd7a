"""Toolbox.rank_tools: every usable tool for a task text, best first, from the skill registry's search
(which weighs this namespace's usage examples) and each tool's call record; the lookup tool can be left
out. The `llm` policy offers its model only the first one."""
from __future__ import annotations

import pytest

from agentcl.agent.toolbox import Toolbox
from agentcl.envs.base import ParamSpec, ToolSpec

PERCENT = ToolSpec("percent_of", "Compute a percentage of a value.",
                   (ParamSpec("percent", "number", ""), ParamSpec("value", "number", "")))
DAYS = ToolSpec("add_days", "Add a number of days to a YYYY-MM-DD date.",
                (ParamSpec("start", "string", ""), ParamSpec("days", "integer", "")))
LOOKUP = ToolSpec("lookup", "Look up the current true value of a fact.",
                  (ParamSpec("subject", "string", ""), ParamSpec("predicate", "string", "")))
OLD = ToolSpec("pct_calc", "Compute a percentage of a value.", (ParamSpec("p", "number", ""),), deprecated=True)


@pytest.fixture
def registry(embedder):
    from skills.registry import SkillRegistry

    reg = SkillRegistry.in_memory(embedder=embedder)
    yield reg
    reg.close()


@pytest.mark.parametrize("with_registry", [True, False])
def test_the_tool_for_the_task_ranks_first_lookup_and_deprecated_tools_left_out(with_registry, registry, embedder):
    box = Toolbox(registry=registry if with_registry else None, embedder=embedder, source="drift")
    box.sync([LOOKUP, DAYS, PERCENT, OLD])
    assert box.rank_tools("What is 15% of 240?", exclude=("lookup",)) == ["percent_of", "add_days"]
    assert box.rank_tools("What date is 12 days after 2026-02-01?", exclude=("lookup",)) == ["add_days", "percent_of"]
    assert "lookup" in box.rank_tools("What is 15% of 240?")


def test_a_tool_whose_calls_keep_failing_drops_below_one_that_works(registry, embedder):
    """Two tools that read alike for the text: the call record decides."""
    twin = ToolSpec("share_of", "Compute a percentage of a value.", PERCENT.parameters)
    box = Toolbox(registry=registry, embedder=embedder, source="drift")
    box.sync([PERCENT, twin])
    first = box.rank_tools("What is 15% of 240?")[0]
    other = "share_of" if first == "percent_of" else "percent_of"
    for _ in range(3):
        box.record(first, ok=False, error_kind="wrong_result")
        box.record(other, ok=True, task="What is 30% of 90?", args={"percent": 30, "value": 90})
    assert box.rank_tools("What is 15% of 240?")[0] == other


def test_one_tool_or_none_needs_no_search(embedder):
    box = Toolbox(registry=None, embedder=None, source="drift")  # no embedder: it must not be asked
    box.sync([PERCENT, LOOKUP])
    assert box.rank_tools("anything", exclude=("lookup",)) == ["percent_of"]
    assert box.rank_tools("anything", exclude=("lookup", "percent_of")) == []
