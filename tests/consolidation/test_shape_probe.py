"""The gate's shape probe (consolidation/shape_probe.PolicyShapes) with an asker whose replies are given:
which shape changes count as drift. The real SmolLM2 behind it: tests/policies/test_local_lm_agent.py."""
from __future__ import annotations

from agentcl.consolidation.keys import Anchor
from agentcl.consolidation.shape_probe import PolicyShapes
from agentcl.consolidation.text_examples import TextExample

FACT, TASK = "<memory>\n</memory>\nWho is the CEO of Initech?", "<tools>...</tools>\nWhat is 20% of 150?"
LOOKUP = '{"tool": "lookup", "arguments": {"subject": "Initech", "predicate": "ceo"}}'
CALL = '{"tool": "percent_of", "arguments": {"percent": 20, "value": 150}}'


class _Said:
    """Replies by prompt, as the base model (adapter off) and the round's candidate (adapter on) gave them."""

    def __init__(self, base: dict, now: dict) -> None:
        self.base, self.now = base, now

    def chat_replies(self, lm, users, *, adapter=True, max_new_tokens=48):
        return [(self.now if adapter else self.base)[u] for u in users]


def _drift(base: dict, now: dict) -> dict:
    shapes = PolicyShapes(_Said(base, now))
    anchors = [TextExample(Anchor(0, "policy"), FACT, "x"), TextExample(Anchor(1, "policy"), TASK, "x")]
    shapes.expect_anchors(None, anchors, max_new_tokens=48, offered=["lookup", "percent_of"])
    return shapes.drift(None, max_new_tokens=48)


def test_an_untaught_question_answered_from_belief_may_become_the_lookup_it_offers():
    # the base model answered the question from its own belief; the candidate looks it up: no drift
    assert _drift({FACT: "The CEO of Initech is Alice Park.", TASK: CALL}, {FACT: LOOKUP, TASK: CALL}) == {}


def test_a_call_that_became_a_sentence_or_another_tools_call_still_drifts():
    drifted = _drift({FACT: "The CEO of Initech is Alice Park.", TASK: CALL}, {FACT: LOOKUP, TASK: LOOKUP})
    assert list(drifted) == [TASK] and drifted[TASK]["now"] == "call:lookup"
    drifted = _drift({FACT: LOOKUP, TASK: CALL}, {FACT: "Bill Lumbergh.", TASK: "Thirty."})
    assert set(drifted) == {FACT, TASK}  # a lookup the base model made is not given up for a sentence


def test_without_offered_tools_every_shape_change_drifts():
    shapes = PolicyShapes(_Said({FACT: "The CEO is Alice Park."}, {FACT: LOOKUP}))
    shapes.expect_anchors(None, [TextExample(Anchor(0, "policy"), FACT, "x")], max_new_tokens=48)
    assert list(shapes.drift(None, max_new_tokens=48)) == [FACT]

