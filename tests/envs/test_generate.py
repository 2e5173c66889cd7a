"""The scenario generator: valid, deterministic, and each difficulty has the properties it promises."""
from __future__ import annotations

import json

import pytest

from agentcl.envs.drift import DriftWorld
from agentcl.envs.generate import DIFFICULTIES, generate_scenario
from agentcl.envs.scenario import load_scenario
from tests.reliability.helpers import assert_clean_error, run_cli

SEEDS = range(25)


def _changes(sc: dict) -> list[dict]:
    return [c for e in sc["entities"] for f in e["facts"].values() for c in f.get("changes", [])]


@pytest.mark.parametrize("difficulty", DIFFICULTIES)
def test_every_generated_scenario_loads_and_runs_its_stream(difficulty):
    for seed in SEEDS:
        scenario = load_scenario(generate_scenario(seed, difficulty))  # the loader users get
        world = DriftWorld(scenario)
        obs = world.reset(0)
        assert obs is not None and scenario.horizon == sum(p.steps for p in scenario.phases)


def test_generation_is_a_pure_function_of_seed_and_difficulty():
    assert generate_scenario(7, "harsh") == generate_scenario(7, "harsh")
    assert generate_scenario(7, "harsh") != generate_scenario(8, "harsh")
    assert generate_scenario(7, "harsh") != generate_scenario(7, "default")


def test_harsh_worlds_are_harsh():
    for seed in SEEDS:
        sc = generate_scenario(seed, "harsh")
        changes = _changes(sc)
        assert sc["feedback"]["correction_probability"] <= 0.2
        assert changes and sum(bool(c.get("announce")) for c in changes) < len(changes) / 2  # most are silent
        replaced = {t["replaced_by"] for t in sc["tools"] if t.get("replaced_by")}
        for tool in sc["tools"]:  # every tool drifts: renamed, replaced, or is itself a late replacement
            assert len(tool["versions"]) > 1 or tool.get("deprecated_at") or tool["name"] in replaced, tool["name"]


def test_harsh_worlds_together_hold_every_kind_of_drift():
    kinds = set()
    for seed in SEEDS:
        sc = generate_scenario(seed, "harsh")
        horizon = sum(p["steps"] for p in sc["phases"])
        for entity in sc["entities"]:
            for fact in entity["facts"].values():
                if "rotation" in fact:
                    kinds.add(("rotation", fact["rotation"]["period"]))
                values = [fact.get("initial")] + [c["value"] for c in fact.get("changes", [])]
                if any(v in values[:i - 1] for i, v in enumerate(values) if i > 1):
                    kinds.add("change back")
        for tool in sc["tools"]:
            if tool["versions"][0]["from_step"] > 0:
                kinds.add("late tool")
            if tool.get("replaced_by"):
                old = {p["name"] for p in tool["versions"][-1]["params"]}
                new = next(t for t in sc["tools"] if t["name"] == tool["replaced_by"])
                if {p["name"] for p in new["versions"][0]["params"]} != old:
                    kinds.add("replacement with other parameter names")
            for v in tool["versions"][1:]:
                doc = v.get("documented_from", v["from_step"])
                kinds.add("never documented" if doc >= horizon else "documented late" if doc > v["from_step"]
                          else "documented on time")
            canon = [{p.get("input", p["name"]): p["name"] for p in v["params"]} for v in tool["versions"]]
            for c in canon[0]:
                names = [m[c] for m in canon]
                if len(set(names)) >= 3:
                    kinds.add("same parameter renamed twice")
    periods = {k[1] for k in kinds if isinstance(k, tuple)}
    assert len(periods) >= 3  # rotations of varied periods
    assert {"change back", "late tool", "replacement with other parameter names", "never documented",
            "documented late", "documented on time", "same parameter renamed twice"} <= kinds


def test_easy_is_gentler_than_harsh():
    def announced_share(d):
        cs = [c for s in SEEDS for c in _changes(generate_scenario(s, d))]
        return sum(bool(c.get("announce")) for c in cs) / len(cs)
    assert announced_share("easy") > 0.75 > 0.3 > announced_share("harsh")
    assert min(generate_scenario(s, "easy")["feedback"]["correction_probability"] for s in SEEDS) >= 0.7


def test_cli_writes_the_same_valid_file_and_refuses_bad_input(tmp_path):
    out = tmp_path / "w.json"
    kw = {"db": f"sqlite:///{tmp_path / 'm.db'}", "home": tmp_path}
    r = run_cli(["scenario", "generate", "--seed", "3", "--difficulty", "harsh", "-o", str(out)], **kw)
    assert r.code == 0, r.err
    assert json.loads(out.read_text()) == generate_scenario(3, "harsh")
    load_scenario(out)
    assert "unknown difficulty 'brutal'" in assert_clean_error(
        run_cli(["scenario", "generate", "--seed", "3", "--difficulty", "brutal"], **kw))
    assert "cannot write" in assert_clean_error(
        run_cli(["scenario", "generate", "--seed", "3", "-o", str(tmp_path / "no" / "such" / "dir.json")], **kw))
    printed = run_cli(["scenario", "generate", "--seed", "3", "--difficulty", "harsh"], **kw)
    assert printed.code == 0 and json.loads(printed.out) == generate_scenario(3, "harsh")


def test_predicate_change_rates_are_the_generators_own():
    from agentcl.envs.generate import predicate_change_rates

    seen_zero = False
    for seed in range(20):
        rates = predicate_change_rates(seed, "harsh")
        data = generate_scenario(seed, "harsh")
        for entity in data["entities"]:
            for predicate, fact in entity["facts"].items():
                if "rotation" not in fact and rates[predicate] == 0:
                    seen_zero = True
                    assert not fact.get("changes")  # a predicate of rate 0 never changes
    assert seen_zero
    assert set(predicate_change_rates(0, "harsh").values()) <= {0.0, 0.002, 0.004, 0.008}
