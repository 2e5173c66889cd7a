"""Learned usage as a ranking signal (skills/usage.py, skills/arguments.py): the pure scoring functions,
and the registry on SQLite and PostgreSQL with the real embedder: recorded examples change the ranking,
a failure counts against its tool, a deprecated tool's examples count for its replacement."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from skills import SkillRegistry, skill_from_spec, usage
from skills.arguments import propose_arguments


# -- pure functions -------------------------------------------------------------------------------
def test_example_weight_halves_with_age_and_with_each_signature_change():
    now = datetime(2026, 11, 30, tzinfo=UTC)
    assert usage.example_weight(now, now, 0) == 1.0
    assert usage.example_weight(now - timedelta(days=usage.HALF_LIFE_DAYS), now, 0) == pytest.approx(0.5)
    assert usage.example_weight(now, now, 2) == pytest.approx(usage.CHANGED_SIGNATURE_WEIGHT ** 2)
    assert usage.example_weight(None, now, 0) == 1.0


def test_signature_changes_count_only_later_versions_that_changed_parameters():
    diffs = [(1, None), (2, {"renamed": {"to": "recipient"}}), (3, {"added": [], "changed": ["description"]}),
             (4, {"type_changed": {"n": "string -> integer"}})]
    assert usage.signature_changes(diffs, 1) == 2   # v2 and v4 changed the signature, v3 only the text
    assert usage.signature_changes(diffs, 2) == 1
    assert usage.signature_changes(diffs, 4) == 0


def test_knn_vote_weighs_near_tasks_and_counts_failures_against_their_tool():
    sims = np.array([[0.9, 0.5, 0.88]])
    owners = np.array([0, 1, 2])
    votes, nearest = usage.knn_vote(sims, owners, np.array([1.0, 1.0, -1.0]), 3, k=3, width=0.1)
    assert nearest[0] == pytest.approx(0.9)
    assert votes[0, 0] > votes[0, 1] > 0 > votes[0, 2]  # the far task votes weakly, the failure against
    decayed, _ = usage.knn_vote(sims, owners, np.array([0.25, 1.0, -1.0]), 3, k=3, width=0.1)
    assert decayed[0, 0] == pytest.approx(votes[0, 0] / 4)  # an old example votes weakly (not renormalised)
    assert usage.knn_vote(np.zeros((1, 0)), np.zeros(0, int), np.zeros(0), 3)[0].sum() == 0


def test_closeness_is_each_tools_nearest_success_scaled_by_its_weight():
    sims = np.array([[0.9, 0.5, 0.8, -np.inf]])
    owners = np.array([0, 0, 1, 2])
    close = usage.owner_closeness(sims, owners, np.array([0.5, 1.0, -1.0, 1.0]), 4)
    # tool 0: max(0.9 * 0.5, 0.5 * 1); tool 1 only failed; tool 2's one example is left out; tool 3 has none
    assert close[0, 0] == pytest.approx(0.5) and np.isneginf(close[0, 1:]).all()


def _evidence(description, sims, owners, weights=None):
    weights = np.ones(len(owners)) if weights is None else weights
    return usage.evidence(np.array(description, float), np.array(sims, float), np.array(owners), weights)


def test_without_examples_the_ranking_is_the_descriptions_whatever_the_parameters():
    ev = _evidence([[3.0, 2.0, 1.0, 0.5]], np.zeros((1, 0)), np.zeros(0, int), np.zeros(0))
    for params in (usage.DEFAULT_PARAMETERS, np.array([0.3, 5.0, 9.0, -3.0, 2.0])):
        scores = usage.log_probs(params, ev)[0]
        assert list(np.argsort(-scores)) == [0, 1, 2, 3]
        assert np.exp(scores).sum() == pytest.approx(1.0)


def test_a_close_example_wins_and_a_distant_one_leaves_the_description_order():
    description = [[3.0, 2.0, 1.0, 0.0]]       # only skill 3 has an example
    params = np.array([1.0, -6.0, 10.0, 0.0, 0.0])  # a gate that trusts past tasks from cosine 0.6 up
    close = usage.log_probs(params, _evidence(description, [[0.95]], [3]))[0]
    distant = usage.log_probs(params, _evidence(description, [[0.2]], [3]))[0]
    assert close.argmax() == 3 and distant.argmax() == 0
    assert list(np.argsort(-distant)[:3]) == [0, 1, 2]  # the skills without examples keep their order
    failed = usage.log_probs(params, _evidence(description, [[0.95]], [0], np.array([-1.0])))[0]
    assert failed.argmax() == 1  # the top skill failed on a task just like this one


def _clusters(owners_per_task, seed=0):
    """Unit vectors: tasks of one tool near each other (cosine ~0.9), different tools far apart."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(max(owners_per_task) + 1, 64))
    x = centres[owners_per_task] + 0.3 * rng.normal(size=(len(owners_per_task), 64))
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_the_gate_is_learned_from_the_registrys_own_examples():
    """Leave-one-out: where every tool has several examples the gate learns to trust close past tasks;
    where every example is of a different tool (what a new tool looks like) it learns not to."""
    n_tools = 12
    rng = np.random.default_rng(1)
    reliable = np.repeat(np.arange(n_tools), 4)
    vectors = _clusters(reliable)
    description = rng.normal(size=(len(reliable), n_tools))  # descriptions that say little
    ev, labels = usage.leave_one_out(description, vectors, reliable, np.ones(len(reliable)), np.arange(len(reliable)))
    trusting = usage.fit(ev, labels)
    singletons = np.arange(n_tools)
    vectors1 = np.concatenate([_clusters(singletons, seed=2)[:, :32], np.zeros((n_tools, 32))], axis=1)
    vectors1[:, 32:] = 1.0  # every task alike (cosine high) although each used another tool
    vectors1 /= np.linalg.norm(vectors1, axis=1, keepdims=True)
    description1 = np.eye(n_tools) * 3 + rng.normal(scale=0.1, size=(n_tools, n_tools))  # descriptions right
    ev1, labels1 = usage.leave_one_out(description1, vectors1, singletons, np.ones(n_tools), np.arange(n_tools))
    wary = usage.fit(ev1, labels1)
    trust = lambda p, e: float(np.mean(1 / (1 + np.exp(-(e["gate"] @ p[1:])))))  # noqa: E731  mean weight of past tasks
    assert trust(trusting, ev) > 0.6 and trust(wary, ev1) < 0.4
    # and what it ranks: the nearest task's tool against an uninformative description, the description
    # against tasks that all look alike
    assert (usage.log_probs(trusting, ev).argmax(axis=1) == labels).mean() > 0.9
    assert (usage.log_probs(wary, ev1).argmax(axis=1) == labels1).all()


def test_arguments_are_re_extracted_where_they_came_from_the_task():
    old = "What's the weather in Boston, MA in fahrenheit for 3 days?"
    args = {"location": "Boston, MA", "unit": "fahrenheit", "days": 3, "detailed": True}
    got = propose_arguments(old, args, "What's the weather in Austin, TX in fahrenheit for 5 days?")
    assert got == {"location": "Austin, TX", "unit": "fahrenheit", "days": 5, "detailed": True}
    assert propose_arguments('play "Halo"', {"song": "Halo"}, 'play "Yellow"') == {"song": "Yellow"}
    assert propose_arguments("area for radius 5", {"radius": 5}, "area please") == {}  # not in the new task
    assert propose_arguments("list my files", {"mode": "long"}, "list files") == {"mode": "long"}  # a choice


# -- the registry, SQLite and PostgreSQL ----------------------------------------------------------
TOOLS = [
    ("weather.forecast", "Get the weather forecast for a location.", {"location": "City"}),
    ("travel.packing_list", "Suggest what to pack for a trip to a destination.", {"destination": "City"}),
    ("hotel.reserve", "Reserve a hotel room.", {"city": "City", "nights": "Number of nights"}),
    ("stock.price", "Get the latest stock price of a company.", {"ticker": "Stock symbol"}),
]


def _spec(name, description, params):
    return {"name": name, "description": description,
            "parameters": {"type": "object", "properties": {p: {"type": "string", "description": d}
                                                            for p, d in params.items()},
                           "required": list(params)[:1]}}


@pytest.fixture
def tools(db_url, tmp_path, embedder):
    reg = SkillRegistry.open(db_url, home=tmp_path / "home", embedder=embedder, builtins=False,
                             entry_points=False)
    for name, description, params in TOOLS:
        reg.register(skill_from_spec(_spec(name, description, params), executor=lambda **kw: dict(kw)))
    yield reg
    reg.close()


def _rank(reg, text, name):
    return [h.name for h in reg.search(text, 4)].index(name)


QUERY = "Should I bring a jacket to Oslo this weekend?"
PAST = ["Should I take an umbrella to London on Saturday?", "Will I need a coat in Stockholm tomorrow?",
        "Should I bring sunglasses to Madrid next week?"]


def test_recorded_examples_change_the_ranking_and_a_failure_counts_against_a_tool(tools):
    assert _rank(tools, QUERY, "weather.forecast") > 0  # before: the packing list reads closer
    for task, city in zip(PAST, ("London", "Stockholm", "Madrid")):
        assert tools.call("weather.forecast", {"location": city}, task=task).ok
    for task in ("What is Apple trading at?", "Price of Tesla shares now"):
        tools.add_example("stock.price", task, {"ticker": "X"})
    assert _rank(tools, QUERY, "weather.forecast") == 0
    assert tools.search("What is Microsoft trading at?", 1)[0].name == "stock.price"
    # Failures of the first-ranked tool on tasks like this one push it down.
    first = tools.search("Book me a room in Rome for two nights", 1)[0].name
    assert first == "hotel.reserve"
    for task in ("Book me a room in Rome for two nights", "Book a room in Rome for 2 nights please"):
        tools.add_example("hotel.reserve", task, {"city": "Rome"}, ok=False)
    assert tools.examples("hotel.reserve") == []  # failures are evidence for search, never usage examples
    assert tools.search("Book me a room in Rome for three nights", 1)[0].name != "hotel.reserve"
    # Arguments for the chosen skill come from its nearest successful example, re-extracted.
    proposal = tools.propose_args("weather.forecast", "Will I need a coat in Helsinki tomorrow?")
    assert proposal["args"] == {"location": "Helsinki"} and proposal["valid"] is True


def test_a_deprecated_tools_examples_count_for_its_replacement(tools):
    tools.register(skill_from_spec(_spec("weather.v2", "Weather service.", {"place": "City"}),
                                   executor=lambda **kw: dict(kw)))
    for task in PAST:
        tools.add_example("weather.forecast", task, {"location": "x"})
    tools.deprecate("weather.forecast", replacement="weather.v2")
    assert tools.search(QUERY, 1)[0].name == "weather.v2"


def test_a_call_that_raises_is_kept_as_a_failure_but_wrong_arguments_are_not(tools):
    from skills import repo

    def down(**kw):
        raise RuntimeError("service down")

    tools.register(skill_from_spec(_spec("news.fetch", "Fetch the latest news headlines.", {"topic": "Topic"}),
                                   executor=down))
    assert tools.call("news.fetch", {"topic": "ai"}, task="latest AI news").error.kind == "exception"
    assert tools.call("news.fetch", {"subject": "ai"}, task="news on AI").error.kind == "invalid_args"
    with tools.engine.connect() as conn:
        rows = repo.usage_rows(conn, namespace="default")
    assert [(r["skill"], r["task"], r["ok"]) for r in rows] == [("news.fetch", "latest AI news", False)]
    assert tools.examples("news.fetch") == []


def test_arguments_take_the_choice_the_task_names_and_current_parameter_names():
    from skills.arguments import fit_to_schema

    schema = {"properties": {"type": {"type": "string", "enum": ["plus", "comfort", "black"]},
                             "recipient": {"type": "string"}}}
    assert fit_to_schema({"type": "comfort", "to": "bob"}, schema, "a 'Plus' ride please", {"to": "recipient"}) \
        == {"type": "plus", "recipient": "bob"}
    assert fit_to_schema({"type": "Black"}, schema, "any ride") == {"type": "black"}


def test_examples_of_an_older_signature_count_less_and_their_arguments_follow_renames(tools):
    tools.add_example("weather.forecast", PAST[1], {"location": "Stockholm"})
    tools.register(skill_from_spec(_spec("weather.forecast", "Get the weather forecast for a location.",
                                         {"place": "City"}), executor=lambda **kw: dict(kw)))
    assert tools.get("weather.forecast").current_version == 2
    tools.search(QUERY, 1)
    doc = next(d for d in tools.learning.index.docs if d.name == "weather.forecast")
    assert doc.example_changes == [1] and doc.weights()[0] == pytest.approx(usage.CHANGED_SIGNATURE_WEIGHT, rel=1e-3)
    proposal = tools.propose_args("weather.forecast", "Will I need a coat in Helsinki tomorrow?")
    assert proposal["args"] == {"place": "Helsinki"} and proposal["valid"] is True


def test_a_tool_without_examples_keeps_its_place_against_distant_examples(tools):
    """Examples for the other tools on unrelated tasks must not push down the right tool that has none."""
    query = "What is Nvidia trading at right now?"
    assert tools.search(query, 1)[0].name == "stock.price"
    before = [h.name for h in tools.search(query, 4)]
    for task, city in zip(PAST, ("London", "Stockholm", "Madrid")):
        tools.add_example("weather.forecast", task, {"location": city})
    for task in ("Book a hotel room in Paris for 3 nights", "Reserve a room in Berlin for two nights"):
        tools.add_example("hotel.reserve", task, {"city": "Paris"})
    assert tools.search(query, 1)[0].name == "stock.price"
    assert [h.name for h in tools.search(query, 4)][0] == before[0]


def test_examples_count_only_in_their_namespace(tools):
    other = tools.for_namespace("other")
    before = [h.name for h in other.search(QUERY, 4)]
    for task, city in zip(PAST, ("London", "Stockholm", "Madrid")):
        tools.add_example("weather.forecast", task, {"location": city})
    assert tools.search(QUERY, 1)[0].name == "weather.forecast"
    assert [h.name for h in other.search(QUERY, 4)] == before  # the default namespace's examples stay there
    assert other.propose_args("weather.forecast", QUERY)["args"] is None


def test_the_mixture_is_refitted_when_the_examples_grew_by_a_tenth():
    assert usage.needs_refit(0, 2) and usage.needs_refit(2, 3)
    assert not usage.needs_refit(100, 105) and usage.needs_refit(100, 110) and usage.needs_refit(100, 90)


def test_the_fits_likelihood_is_the_rankings_probability_of_the_right_skill():
    rng = np.random.default_rng(3)
    owners = np.repeat(np.arange(6), 3)
    weights = np.where(np.arange(len(owners)) % 4 == 0, -0.5, 1.0)  # some failures, voting against
    rows = np.flatnonzero(weights > 0)
    ev, labels = usage.leave_one_out(rng.normal(size=(len(rows), 6)), _clusters(owners), owners, weights, rows)
    params = np.array([1.3, -1.0, 3.0, 0.5, -0.3])
    assert np.allclose(usage.label_log_likelihood(params, ev, labels),
                       usage.log_probs(params, ev)[np.arange(len(labels)), labels])
