"""Grounding a text-only lookup (agent/lookup_grounding.py, pure): the model decides whether to look a
fact up, the agent decides which slot, from the questions it validated and the facts memory showed."""
from __future__ import annotations

from agentcl.agent.lookup_grounding import ground_lookup, predicate_named, slot_by_template

QUESTIONS = {("globex", "headquarters"): ["In which city is Globex headquartered?"],
             ("acme", "ceo"): ["Who is the CEO of Acme?", "Who runs Acme?"]}


def test_a_question_in_the_words_of_one_asked_before_names_its_slot():
    assert slot_by_template("In which city is Initech headquartered?", QUESTIONS) == ("Initech", "headquarters")
    assert slot_by_template("who is the ceo of Big Co?", QUESTIONS) == ("Big Co", "ceo")
    assert slot_by_template("Who runs Acme?", QUESTIONS) == ("Acme", "ceo")
    assert slot_by_template("What does Initech make?", QUESTIONS) is None
    # two remembered questions in the same words with different predicates: no guess
    assert slot_by_template("Who is X?", {("a", "ceo"): ["Who is a?"], ("b", "cfo"): ["Who is b?"]}) is None


def test_a_predicate_is_named_by_a_word_stem_the_question_shares():
    assert predicate_named("Where is Initech headquartered?", ["headquarters", "ceo"]) == "headquarters"
    assert predicate_named("Who is the CEO of Initech?", ["headquarters", "ceo"]) == "ceo"
    assert predicate_named("Where is the head office?", ["headquarters"]) is None  # "head" is too short a stem
    assert predicate_named("Who leads the team?", ["team_lead", "team_size"]) is None  # "lead" shorter than a stem
    assert predicate_named("Who is on call this week?", ["on_call", "call_center"]) == "on_call"  # every word
    assert predicate_named("Who is on call this week?", ["on_call", "call"]) is None  # two fit: no guess


def test_the_models_bad_lookup_arguments_become_the_slot_the_question_asks():
    # the 2026-12-01 bench: what a consolidated 135M model wrote, and what the agent sends instead
    assert ground_lookup({"city": "Initech", "arguments": {}}, "In which city is Initech headquartered?",
                         QUESTIONS, []) == {"subject": "Initech", "predicate": "headquarters"}
    assert ground_lookup({"subject": "Acme", "predicate": {"factor": 3}}, "Who is the CEO of Acme?", {},
                         [("acme", "ceo"), ("globex", "headquarters")]) == {"subject": "Acme", "predicate": "ceo"}
    # a known subject the question names beats a memory line the model copied as the subject
    assert ground_lookup({"subject": "globex ceo Hank Scorpio", "predicate": "boss"}, "Who is Acme's chief (CEO)?",
                         {}, [("acme", "headquarters"), ("globex", "ceo")]) == {"subject": "Acme", "predicate": "ceo"}
    # nothing known: the model's call goes out as written
    assert ground_lookup({"subject": "Foo", "predicate": "cfo"}, "Who is the CFO of Foo?", {}, []) == {
        "subject": "Foo", "predicate": "cfo"}


class _BadLookups:
    """A policy that looks every question up with arguments no world knows, then answers from the lookup's
    result (or gives up): only the agent's grounding can make its lookups count."""

    name = "bad-lookups"

    def decide(self, observation, context):
        from agentcl.envs.base import Action, ToolCall

        if observation.kind != "fact":
            return Action(answer="no idea")
        done = [a.result for a in context.attempts if a.result is not None]
        if not done:
            return Action(tool_call=ToolCall("lookup", {"city": "?", "predicate": {"factor": 3}}))
        return Action(answer=str(done[-1].output["value"]) if done[-1].ok else "no idea")


def test_the_agent_grounds_a_text_only_lookup_in_the_questions_it_validated(tmp_path, embedder):
    """On the revisits world, text only: a question in the words of one a correction taught is looked up
    as its slot, and answered right; before any correction nothing grounds it and it fails."""
    from pathlib import Path

    from agentcl.agent.runner import default_store, run_agent

    path = Path(__file__).resolve().parents[2] / "agentcl_bench" / "llm_agent_revisits.json"
    report = run_agent(scenario=str(path), policy_object=_BadLookups(), text_only=True, save=False,
                       include_records=True, registry=None, device="cpu",
                       open_store=lambda: default_store(url=f"sqlite:///{tmp_path / 'm.db'}", home=tmp_path))
    facts = [r for r in report["records"] if r["kind"] == "fact"]
    assert not facts[0]["correct"]  # nothing validated yet: the model's lookup goes out as written, and fails
    assert sum(r["correct"] for r in facts) >= len(facts) // 2  # later ones are grounded and right
