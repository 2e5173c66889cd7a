"""The adapter's scope (pure): a prompt is the adapter's when it names a consolidated subject as whole
words, or is a tool-call request once tool calls were learned; anything else goes to the base model."""
from agentcl.consolidation.scope import AdapterScope, scope_of
from agentcl.consolidation.text_examples import Slot, fact_questions, tool_prompt

ACME = Slot("default", "Acme Corp", "chief executive")


def test_every_trained_and_unseen_phrasing_of_a_slot_is_in_scope():
    scope = scope_of([ACME], [])
    for q in fact_questions(ACME, trained=3) + fact_questions(ACME, unseen=True):
        assert scope.covers(q), q
    assert scope.covers("who runs ACME corp now?")  # case and punctuation do not matter


def test_general_questions_and_partial_names_are_out_of_scope():
    scope = scope_of([ACME, Slot("default", "Oslo", "mayor")], [])
    assert not scope.covers("What is the capital of France?")
    assert not scope.covers("Tell me about Acme Corporation.")  # "acme corp" is not a whole-word match
    assert not scope.covers("Who founded Acme?")
    assert not scope.covers("Osloish weather")


def test_tool_requests_are_in_scope_only_once_tools_were_learned():
    task = tool_prompt("what is the weather in Lima")
    assert not scope_of([ACME], []).covers(task)
    assert scope_of([ACME], ["get_weather"]).covers(task)
    assert not scope_of([], ["get_weather"]).covers("Call me later about the weather")


def test_an_empty_scope_covers_nothing_and_blank_subjects_are_ignored():
    empty = AdapterScope.of(["", "  ", "!!"], tool_calls=False)
    assert empty.subjects == frozenset()
    assert not empty.covers("anything at all")


def test_memory_that_changed_a_learned_slot_overrules_the_adapter():
    """A retrieved fact that gives a slot the adapter learned another value means memory is newer than the
    weights: the policy then decides with the adapter off. Agreeing facts, facts about slots it never
    learned, and a learned state's {"value": ...} entries all read as expected; case does not matter."""
    from types import SimpleNamespace

    from agentcl.policies.base import ContextItem, PolicyContext
    from agentcl.policies.local_lm import memory_overrules

    scope = scope_of([ACME], [], {ACME: {"value": "Alice Park", "ok": True}})
    assert scope == scope_of([ACME], [], {ACME: "Alice Park"})
    assert scope.outdated_by([("acme corp", "Chief Executive", "Bruno Diaz")])
    assert not scope.outdated_by([("Acme Corp", "chief executive", "alice park")])
    assert not scope.outdated_by([("Globex", "chief executive", "Bruno Diaz"), ("Acme Corp", "hq", "Oslo")])
    assert not scope_of([ACME], []).outdated_by([("Acme Corp", "chief executive", "Bruno Diaz")])

    lm = SimpleNamespace(scope=scope)  # the policy reads only the loaded model's scope
    changed = ContextItem("acme corp chief executive Bruno Diaz", metadata={
        "subject": "acme corp", "predicate": "chief executive", "object": "Bruno Diaz"})
    assert memory_overrules(lm, PolicyContext(facts=[changed]))
    assert not memory_overrules(lm, PolicyContext(facts=[ContextItem("acme corp chief executive Bruno Diaz")]))
    lm.scope = None  # no adapter consolidated yet
    assert not memory_overrules(lm, PolicyContext(facts=[changed]))


def test_the_policy_asks_the_adapter_only_within_its_scope():
    """A tool task goes to the adapter only once a round learned tool calls; a fact question unless memory
    overrules it; with no consolidated adapter (no scope) everything goes to it (the identity)."""
    from types import SimpleNamespace

    from agentcl.envs.base import Observation
    from agentcl.policies.base import ContextItem, PolicyContext
    from agentcl.policies.local_lm import adapter_decides

    task = Observation(step=0, phase="", task_id="t", kind="tool", text="What is 5% of 80?")
    question = Observation(step=0, phase="", task_id="q", kind="fact", text="Who is the CEO of Acme Corp?")
    changed = PolicyContext(facts=[ContextItem("x", metadata={"subject": "Acme Corp", "predicate": "chief executive",
                                                              "object": "Bruno Diaz"})])
    facts_only = SimpleNamespace(scope=scope_of([ACME], [], {ACME: "Alice Park"}))
    assert not adapter_decides(facts_only, task, PolicyContext())  # a round of facts alone: tools stay the base's
    assert adapter_decides(facts_only, question, PolicyContext()) and not adapter_decides(facts_only, question, changed)
    assert adapter_decides(SimpleNamespace(scope=scope_of([ACME], ["percent_of"])), task, PolicyContext())
    assert adapter_decides(SimpleNamespace(scope=None), task, PolicyContext())
