"""The cost-aware decision to verify a remembered value: the rule, its budget, its modes, and in the agent."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from agentcl.agent.config import AgentConfig
from agentcl.agent.verify import VerifyGate
from memory_store import InvalidInputError

T0 = datetime(2026, 1, 1, tzinfo=UTC)
DAY = timedelta(days=1)


def _history(store, clock, ns="agent"):
    """A volatile slot (the lead changes every ~4 days) and a stable one, both checked on day 0 of the
    last value, in a namespace whose other values (five headquarters, known since day 0, checked on day 12)
    never changed."""
    stable = [store.add_fact(f"Company {i}", "headquarters", city, namespace=ns, valid_from=T0)
              for i, city in enumerate(["Oslo", "Lyon", "Porto", "Ghent", "Turin"])]
    for day, value in [(0, "Ana Silva"), (4, "Ben Okafor"), (8, "Chloe Moreau"), (12, "Dmitri Petrov")]:
        clock["now"] = T0 + day * DAY
        store.add_fact("payments", "lead", value, namespace=ns, valid_from=clock["now"])
    store.add_fact("Acme", "headquarters", "Berlin", namespace=ns, valid_from=clock["now"])
    for fact in stable:  # still true on day 12: evidence that headquarters rarely change
        store.validate_fact(fact.fact.id, namespace=ns)


@pytest.fixture
def world_store(store):
    clock = {"now": T0}
    store.clock = lambda: clock["now"]
    _history(store, clock)
    clock["now"] = T0 + 15 * DAY
    return store, clock


def _fact(store, subject, predicate):
    return store.facts(namespace="agent", subject=subject, predicate=predicate)[0]


def test_verifies_the_volatile_value_and_answers_the_stable_one(world_store):
    store, _ = world_store
    gate = VerifyGate(stale_cost=10, lookup_cost=1)
    lead = gate.decide(store, "agent", _fact(store, "payments", "lead"), step=15)
    hq = gate.decide(store, "agent", _fact(store, "Acme", "headquarters"), step=15)
    assert lead.verify and lead.p_changed > 0.1
    assert not hq.verify and hq.p_changed < 0.1


def test_a_dear_lookup_or_a_cheap_mistake_means_answer_from_memory(world_store):
    store, _ = world_store
    lead = _fact(store, "payments", "lead")
    assert not VerifyGate(stale_cost=10, lookup_cost=100).decide(store, "agent", lead, step=15).verify
    assert not VerifyGate(stale_cost=0.01, lookup_cost=1).decide(store, "agent", lead, step=15).verify


def test_lookup_cost_is_learned_from_the_world_unless_fixed():
    gate = VerifyGate()
    assert gate.lookup_cost == 1.0
    gate.observe_cost(3.0)
    gate.observe_cost(5.0)
    assert gate.lookup_cost == 4.0
    assert VerifyGate(lookup_cost=0.5).lookup_cost == 0.5


def test_the_budget_caps_verify_lookups(world_store):
    store, _ = world_store
    gate = VerifyGate(stale_cost=10, lookup_cost=1, budget=0.5)
    lead = _fact(store, "payments", "lead")
    decisions = []
    for step in range(4):
        d = gate.decide(store, "agent", lead, step=step)
        decisions.append(d.verify)
        if d.verify:
            gate.record_lookup()
    assert decisions == [True, False, True, False]  # 0.5 lookups per step


def test_modes(world_store):
    store, _ = world_store
    hq = _fact(store, "Acme", "headquarters")
    assert VerifyGate(mode="always").decide(store, "agent", hq, step=0).verify
    assert not VerifyGate(mode="trust").decide(store, "agent", _fact(store, "payments", "lead"), step=0).verify
    with pytest.raises(InvalidInputError):
        AgentConfig(verify="sometimes")
    with pytest.raises(InvalidInputError):
        AgentConfig(lookup_cost=-1)


def test_another_namespaces_history_is_never_read(world_store):
    store, clock = world_store
    # the same slot in a namespace without history: only the global prior, so no verify at the same age
    clock["now"] = T0 + 12 * DAY
    store.add_fact("payments", "lead", "Dmitri Petrov", namespace="other", valid_from=clock["now"])
    clock["now"] = T0 + 15 * DAY
    other = store.facts(namespace="other", subject="payments", predicate="lead")[0]
    d = VerifyGate(stale_cost=10, lookup_cost=1).decide(store, "other", other, step=15)
    assert not d.verify and d.p_changed < 0.06


def test_explore_rechecks_doubted_values_not_values_merely_at_risk(world_store):
    """A value that passes the verify rule is looked up when asked; explore only re-checks doubted ones."""
    from agentcl.agent.agent import Agent
    from agentcl.envs.base import ToolResult, ToolSpec

    store, clock = world_store
    agent = Agent(store, None, config=AgentConfig(namespace="agent", log_events=False))
    agent.world_time = clock["now"]
    assert agent.verifier.decide(store, "agent", _fact(store, "payments", "lead"), step=15).verify  # at risk
    calls = []

    class Env:
        def tools(self):
            return [ToolSpec("lookup", "the truth")]

        def execute_tool(self, call):
            calls.append(call.arguments)
            return ToolResult("lookup", True, {**call.arguments, "value": "Oslo"})

    agent.exploration.reverify(Env(), {"actions": [], "learned": []})
    assert calls == []
    agent.knowledge.doubt(_fact(store, "Acme", "headquarters"), by=1.0)
    agent.exploration.reverify(Env(), {"actions": [], "learned": []})
    assert [(c["subject"].casefold(), c["predicate"]) for c in calls] == [("acme", "headquarters")]


# -- cycles: a rotation's current value predicted instead of looked up ------------------------------------
PEOPLE = ("Ana Silva", "Ben Okafor", "Chloe Moreau")


def _rotation_store(store, clock, seen):
    """The on-call values looked up at the given rotation indexes (period 5 days), each with its end."""
    for k in seen:
        clock["now"] = T0 + (5 * k - 2) * DAY
        store.add_fact("payments", "on-call", PEOPLE[k % 3], namespace="agent", valid_from=clock["now"],
                       expires_at=T0 + 5 * k * DAY)


def test_a_seen_cycle_predicts_the_current_value_and_the_costs_decide(store):
    clock = {"now": T0}
    store.clock = lambda: clock["now"]
    _rotation_store(store, clock, range(7))  # ends on days 0..30, each seen
    clock["now"] = T0 + 31 * DAY  # the last value ended on day 30: memory holds no current one
    assert store.facts(namespace="agent", subject="payments", predicate="on-call") == []
    prediction, decision = VerifyGate(stale_cost=10, lookup_cost=1).predict_cycle(store, "agent", "payments", "on-call")
    assert prediction.value == PEOPLE[7 % 3] and prediction.valid_until == T0 + 35 * DAY
    assert not decision.verify and decision.p_changed < 0.1  # four confirmations: answer without a lookup
    dear_mistake = VerifyGate(stale_cost=1000, lookup_cost=1).predict_cycle(store, "agent", "payments", "on-call")[1]
    assert dear_mistake.verify
    for mode in ("always", "trust"):  # the baselines never predict
        assert VerifyGate(mode=mode).predict_cycle(store, "agent", "payments", "on-call")[0] is None


def test_a_wrong_prediction_is_evidence_against_the_cycle(store):
    clock = {"now": T0}
    store.clock = lambda: clock["now"]
    _rotation_store(store, clock, range(7))
    clock["now"] = T0 + 31 * DAY
    gate = VerifyGate(stale_cost=10, lookup_cost=1)
    before = gate.predict_cycle(store, "agent", "payments", "on-call")[0].p_right
    gate.record_prediction("agent", "Payments", "on-call", correct=False)
    prediction, decision = gate.predict_cycle(store, "agent", "payments", "on-call")
    assert prediction.p_right < before and decision.verify  # one miss: look it up
    assert gate.cycle_record["agent"] == [0, 1]


def test_one_tenants_misses_never_change_anothers_prediction(store):
    """Namespaces differing only in punctuation keep separate cycle evidence."""
    clock = {"now": T0}
    store.clock = lambda: clock["now"]
    _rotation_store(store, clock, range(7))
    clock["now"] = T0 + 31 * DAY
    gate = VerifyGate(stale_cost=10, lookup_cost=1)
    before = gate.predict_cycle(store, "agent", "payments", "on-call")[0].p_right
    gate.record_prediction("agent.", "payments", "on-call", correct=False)
    gate.record_prediction("agent-", "payments", "on-call", correct=False)
    assert gate.predict_cycle(store, "agent", "payments", "on-call")[0].p_right == before
    assert "agent" not in gate.cycle_record


def test_no_cycle_before_a_repeat(store):
    clock = {"now": T0}
    store.clock = lambda: clock["now"]
    _rotation_store(store, clock, range(3))
    clock["now"] = T0 + 11 * DAY
    prediction, decision = VerifyGate().predict_cycle(store, "agent", "payments", "on-call")
    assert prediction is None and decision.verify


def _rotation_world(path):
    import json

    path.write_text(json.dumps({
        "name": "rota", "seed": 3, "start_time": "2026-03-02T08:00:00Z", "step_duration": "1d",
        "feedback": {"correction_probability": 0.2},
        "entities": [{"name": "payments team", "facts": {"on-call": {"rotation": {"values": list(PEOPLE),
                                                                                 "period": 4}}}},
                     {"name": "Acme", "facts": {"headquarters": {"initial": "Oslo"}}}],
        "phases": [{"name": "all", "steps": 90, "fact_share": 1.0}]}))
    return str(path)


def test_the_agent_answers_a_rotation_from_its_cycle_with_fewer_lookups(store, tmp_path):
    from agentcl.agent.runner import run_agent

    scenario = _rotation_world(tmp_path / "rota.json")
    runs = {mode: run_agent(scenario=scenario, store=store, registry=None, save=False,
                            config=AgentConfig(verify=mode, use_model_prior=False)) for mode in ("cost", "trust")}
    cost, trust = runs["cost"], runs["trust"]
    assert cost["cycle_predictions"]["answered"] >= 5 and trust["cycle_predictions"]["answered"] == 0
    assert cost["cycle_predictions"]["wrong"] == 0  # a real rotation: its predictions hold
    assert cost["lookups"] < trust["lookups"]
    assert cost["success_rate"] >= trust["success_rate"] and cost["stale_answer_rate"] <= trust["stale_answer_rate"]
