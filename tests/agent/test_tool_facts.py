"""Typed tool knowledge: the one encode/decode pair, and the knowledge it gives back from a real store."""
import pytest

from agentcl.agent.knowledge import Knowledge
from agentcl.agent.tool_facts import OperationTool, ToolParam, decode, encode, is_tool_subject, params_subject

AWKWARD = ["convert_units", "convert units", "operation", "operation x", "tool", "tool t", "param", "param y",
           "  padded  ", "", "x.y-z"]


@pytest.mark.parametrize("name", AWKWARD)
def test_operation_tool_round_trips(name):
    slot = OperationTool(name)
    subject, predicate = encode(slot)
    assert decode(subject, predicate) == slot
    assert is_tool_subject(subject)


@pytest.mark.parametrize("tool", AWKWARD)
@pytest.mark.parametrize("canonical", ["value", "from unit", "param", "param q", "tool", ""])
def test_tool_param_round_trips(tool, canonical):
    slot = ToolParam(tool, canonical)
    subject, predicate = encode(slot)
    assert decode(subject, predicate) == slot
    assert subject == params_subject(tool) and is_tool_subject(subject)


def test_the_stored_text_form_is_unchanged():
    # stores written before the typed slots hold these rows; they must keep reading the same way
    assert encode(OperationTool("convert_units")) == ("operation convert_units", "tool")
    assert encode(ToolParam("convert", "value")) == ("tool convert", "param value")


def test_facts_of_the_world_are_not_tool_slots():
    assert decode("Acme", "ceo") is None
    assert decode("operation theatre", "location") is None  # the prefix alone does not make a tool slot
    assert decode("tool shed", "colour") is None
    assert not is_tool_subject("Acme")
    with pytest.raises(TypeError):
        encode(("operation x", "tool"))  # type: ignore[arg-type]


def test_knowledge_reads_rows_written_in_the_old_text_form(store):
    # rows as an older agent wrote them, straight into the store
    store.add_fact("operation convert units", "tool", "convert_v2", namespace="a", source="feedback")
    store.add_fact("tool convert_v2", "param from unit", "src", namespace="a", source="feedback")
    store.add_fact("tool convert_v2", "colour", "blue", namespace="a", source="feedback")  # not a parameter
    knowledge = Knowledge(store, "a")
    assert knowledge.tool_for("convert units").object == "convert_v2"
    assert knowledge.renames("convert_v2") == {"from unit": "src"}
    knowledge.learn_rename("convert_v2", "param", "p", source="feedback", when=None)
    assert knowledge.renames("convert_v2") == {"from unit": "src", "param": "p"}
    knowledge.learn_tool_for("operation x", "t", source="feedback", when=None)
    assert knowledge.tool_for("operation x").object == "t" and knowledge.tool_for("x") is None
