"""Search over skills, learning from successful calls, usage notes, composite skills."""
from __future__ import annotations

import math

import pytest

from memory_store.errors import InvalidInputError
from skills import SkillRegistry, skill_from_spec

SPECS = [
    ("geo.distance", "Calculate the distance between two places.", {"origin": "Start city", "destination": "End city"}),
    ("flight.book", "Book a flight ticket.", {"from_airport": "Departure airport", "to_airport": "Arrival airport",
                                              "date": "Travel date"}),
    ("weather.forecast", "Get the weather forecast for a location.", {"location": "City", "days": "Days ahead"}),
    ("stock.price", "Get the latest stock price of a company.", {"ticker": "Stock symbol"}),
    ("recipe.find", "Find cooking recipes by ingredient.", {"ingredient": "Main ingredient"}),
    ("hotel.reserve", "Reserve a hotel room.", {"city": "City", "nights": "Number of nights"}),
]


def _spec(name, description, params):
    return {"name": name, "description": description,
            "parameters": {"type": "object", "properties": {p: {"type": "string", "description": d}
                                                            for p, d in params.items()}}}


@pytest.fixture
def toolbox(embedder):
    reg = SkillRegistry.in_memory(embedder=embedder)
    for name, description, params in SPECS:
        reg.register(skill_from_spec(_spec(name, description, params), executor=lambda **kw: dict(kw)))
    yield reg
    reg.close()


def test_search_ranks_the_right_skill(toolbox):
    assert toolbox.search("Will it rain in Paris tomorrow?", 3)[0].name == "weather.forecast"
    assert toolbox.search("How far is Berlin from Munich?", 3)[0].name == "geo.distance"
    assert toolbox.search("What is AAPL trading at?", 3)[0].name == "stock.price"
    hits = toolbox.search("book me a room for two nights in Rome", 6)
    assert hits[0].name == "hotel.reserve" and len(hits) == 6
    assert hits[0].score > hits[-1].score
    with pytest.raises(InvalidInputError):
        toolbox.search("   ")


def test_filters_apply_before_ranking(toolbox):
    toolbox.disable("weather.forecast")
    assert "weather.forecast" not in [h.name for h in toolbox.search("weather in Oslo", 6)]
    toolbox.enable("weather.forecast")
    toolbox.deprecate("stock.price", replacement="geo.distance")
    assert "stock.price" not in [h.name for h in toolbox.search("AAPL share price", 6)]
    hits = toolbox.search("AAPL share price", 6, include_deprecated=True)
    assert hits[0].name == "stock.price" and hits[0].deprecated and hits[0].replacement == "geo.distance"


def _rank_and_score(reg, text, name):
    hits = reg.search(text, 6)
    rank = [h.name for h in hits].index(name)
    return rank, hits[rank].score


def test_search_improves_as_examples_accrue(toolbox):
    task = "I'm craving something with basil tonight"
    vague = "craving something with basil tonight, any ideas?"
    before, before_score = _rank_and_score(toolbox, vague, "recipe.find")
    assert toolbox.call("recipe.find", {"ingredient": "basil"}, task=task).ok
    assert toolbox.examples("recipe.find")[0].task == task
    assert toolbox.examples("recipe.find")[0].args == {"ingredient": "basil"}
    # A failed call is not kept as an example.
    toolbox.call("recipe.find", {"ingredient": 3}, task="broken")
    assert len(toolbox.examples("recipe.find")) == 1
    after, after_score = _rank_and_score(toolbox, vague, "recipe.find")
    assert after <= before and after == 0
    # Scores are log P(skill | task): the learned example is real evidence, the probability left for the
    # other skills at least halves.
    assert 1 - math.exp(after_score) < (1 - math.exp(before_score)) / 2
    # An unrelated task is not pulled towards the skill by its example.
    assert toolbox.search("Will it rain in Paris tomorrow?", 1)[0].name == "weather.forecast"


def test_usage_notes_attach_to_versions(toolbox):
    toolbox.add_note("flight.book", "dates must be ISO 8601")
    usage = toolbox.usage("flight.book")
    assert usage["notes"] == ["dates must be ISO 8601"] and usage["version"] == 1
    with pytest.raises(InvalidInputError):
        toolbox.add_note("flight.book", "x", version=7)


def test_composite_is_data_and_admitted_only_after_verification(embedder):
    reg = SkillRegistry.in_memory(embedder=embedder, builtins=True)
    # A template that references a missing input fails verification: stays a candidate.
    bad = reg.propose_composite("half_distance_bad", "Half of a converted distance.",
                                [{"skill": "convert_units", "args": {"value": "{{inputs.value}}",
                                                                     "from_unit": "{{inputs.nope}}", "to_unit": "m"}}],
                                {"type": "object", "properties": {"value": {"type": "number"}}, "required": ["value"]})
    assert bad.action == "inserted"
    assert reg.call("half_distance_bad", {"value": 1}).error.kind == "disabled"  # not usable before verification
    assert not reg.verify_composite("half_distance_bad", {"value": 1}).ok
    assert reg.get("half_distance_bad").status == "candidate"
    assert "half_distance_bad" not in [h.name for h in reg.search("half a distance", 20)]

    steps = [{"skill": "convert_units", "args": {"value": "{{inputs.value}}", "from_unit": "{{inputs.unit}}",
                                                 "to_unit": "m"}},
             {"skill": "calculate", "args": {"expression": "{{steps.0.result}} / 2"}}]
    schema = {"type": "object", "properties": {"value": {"type": "number"}, "unit": {"type": "string"}},
              "required": ["value", "unit"]}
    reg.propose_composite("half_distance_m", "Convert a distance to metres and halve it.", steps, schema)
    verified = reg.verify_composite("half_distance_m", {"value": 5, "unit": "km"})
    assert verified.ok and verified.result == 2500.0
    info = reg.get("half_distance_m")
    assert info.status == "active" and info.kind == "composite" and any("verified" in n for n in info.current.notes)
    assert reg.call("half_distance_m", {"value": 1, "unit": "mi"}).result == pytest.approx(804.672)
    assert info.current.definition["steps"] == steps  # stored as data

    with pytest.raises(InvalidInputError):
        reg.propose_composite("loop", "x", [{"skill": "half_distance_m", "args": {}}])
    with pytest.raises(InvalidInputError):
        reg.propose_composite("fwd", "x", [{"skill": "calculate", "args": {"expression": "{{steps.1.result}}"}}])


def test_composite_from_trace_generalises_values(embedder):
    from skills.composite_steps import composite_from_trace, repeated_sequences

    calls = [("convert_units", {"value": 5, "from_unit": "km", "to_unit": "m"}, 5000.0),
             ("calculate", {"expression": 5000.0}, 5000.0)]
    steps, params = composite_from_trace(calls)
    assert steps[1]["args"]["expression"] == "{{steps.0.result}}"
    assert steps[0]["args"]["value"] == "{{inputs.value}}" and set(params["required"]) == {"value", "from_unit", "to_unit"}
    seqs = repeated_sequences([["a", "b", "c"], ["x", "a", "b"], ["a", "c"]])
    assert seqs[0] == (("a", "b"), 2)


def _episode(reg, value, unit):
    """One task solved by hand: convert to metres, then halve (a sequence worth learning)."""
    with reg.trace() as calls:
        metres = reg.call("convert_units", {"value": value, "from_unit": unit, "to_unit": "m"}).result
        reg.call("calculate", {"expression": f"{metres} / 2"})
        reg.call("calculate", {"expression": "bad("})  # a failed call is not part of what was done
    return calls


def test_repeated_sequences_are_mined_verified_and_admitted(embedder):
    reg = SkillRegistry.in_memory(embedder=embedder, builtins=True)
    traces = [_episode(reg, 5, "km"), _episode(reg, 3, "mi"), [("weekday", {"date": "2024-01-01"}, "Monday")]]
    assert [c[0] for c in traces[0]] == ["convert_units", "calculate"]
    mined = reg.mine_composites(traces)
    assert len(mined) == 1
    found = mined[0]
    assert found["name"] == "convert_units_then_calculate" and found["seen"] == 2 and found["verified"]
    assert found["steps"][1]["args"] == {"expression": "{{steps.0.result}} / 2"}
    # Replayed with the second episode's inputs, it reproduced that episode's result.
    assert found["verified_with"] == {"value": 3, "from_unit": "mi", "to_unit": "m"}
    info = reg.get(found["name"])
    assert info.status == "active" and info.kind == "composite" and "reproduced" in info.current.notes[0]
    assert reg.call(found["name"], {"value": 2, "from_unit": "km", "to_unit": "m"}).result == 1000.0
    assert reg.mine_composites(traces) == []  # the same steps are not proposed twice


def test_a_mined_candidate_that_does_not_reproduce_stays_a_candidate(embedder):
    reg = SkillRegistry.in_memory(embedder=embedder, builtins=True)
    first = _episode(reg, 5, "km")
    # The second time the agent did something else with the converted value (not half of it).
    with reg.trace() as second:
        reg.call("convert_units", {"value": 4, "from_unit": "km", "to_unit": "m"})
        reg.call("calculate", {"expression": "7 * 3"})
    mined = reg.mine_composites([first, second])
    assert len(mined) == 1 and mined[0]["verified"] is False and "expected 21" in mined[0]["error"]
    assert reg.get(mined[0]["name"]).status == "candidate"
    assert reg.call(mined[0]["name"], {"value": 1, "from_unit": "km", "to_unit": "m"}).error.kind == "disabled"
    with pytest.raises(InvalidInputError):
        reg.mine_composites([first, second], min_count=1)


def test_usage_examples_stay_in_the_namespace_that_learned_them(tmp_path, embedder):
    """Skills belong to the database; what an agent learned using them (task texts carry a tenant's data)
    belongs to its namespace: another namespace neither lists, searches over, nor consolidates it."""
    from agentcl.consolidation.select import registry_usages

    url = f"sqlite:///{tmp_path / 'skills.db'}"
    with SkillRegistry.open(url, home=tmp_path, embedder=embedder, builtins=False, entry_points=False,
                            namespace="tenant-a") as a:
        for name, description, params in SPECS:
            a.register(skill_from_spec(_spec(name, description, params), executor=lambda **kw: dict(kw)))
        a.add_example("stock.price", "what is the secret merger target trading at", {"ticker": "ACME"})
        assert a.call("geo.distance", {"origin": "Oslo", "destination": "Bergen"},
                      task="how far is Oslo from Bergen").ok  # a successful call with a task is an example too
        b = a.for_namespace("tenant-b")
        assert {e.task for e in a.examples("stock.price") + a.examples("geo.distance")} == {
            "what is the secret merger target trading at", "how far is Oslo from Bergen"}
        assert b.examples("stock.price") == [] and b.examples("geo.distance") == []
        assert all(not d.examples for d in b.learning._search_docs(b.list()))
        assert any("secret merger" in t for d in a.learning._search_docs(a.list()) for t in d.examples)
        assert registry_usages(a, namespace="tenant-b")[0] == []
        assert len(registry_usages(a, namespace="tenant-a")[0]) == 2
        b.add_example("stock.price", "price of ACME", {"ticker": "ACME"})
        assert [e.task for e in b.examples("stock.price")] == ["price of ACME"]
        b.close()  # a view closes nothing: the registry it came from still works
        assert len(a.examples("stock.price")) == 1
    with SkillRegistry.open(url, home=tmp_path, embedder=embedder, builtins=False, entry_points=False) as default:
        assert default.examples("stock.price") == []  # 'default' is a namespace like any other
