"""`agentcl bench llm-agent`'s parts that need no model: the paired steps (right or wrong in each arm,
per step, and which steps consolidation changed) and the revisits world (valid for the scenario loader,
and what it asks comes back)."""
from __future__ import annotations

from collections import Counter

import pytest

from agentcl_bench.llm_agent import paired_steps


def _rec(step, task, correct, *, kind="fact", lookups=0, answer="x"):
    return {"episode": 0, "step": step, "phase": "p", "task_id": task, "kind": kind, "correct": correct,
            "lookups": lookups, "answer": answer}


def test_paired_steps_say_which_steps_consolidation_gained_and_lost():
    base = [_rec(0, "fact/a/ceo", False, lookups=1), _rec(1, "tool/p/0", True, kind="tool"), _rec(2, "fact/a/ceo", False)]
    cons = [_rec(0, "fact/a/ceo", False, lookups=1), _rec(1, "tool/p/0", False, kind="tool"),
            _rec(2, "fact/a/ceo", True, answer="Alice")]
    paired = paired_steps(base, cons)
    assert paired["gained"] == [2] and paired["lost"] == [1]
    assert [(s["step"], s["base"], s["consolidated"]) for s in paired["steps"]] == [(0, False, False), (1, True, False),
                                                                                 (2, False, True)]
    assert paired["steps"][0]["lookups"] == [1, 1] and paired["steps"][2]["answers"] == ["x", "Alice"]
    assert "note" not in paired["steps"][0]


def test_a_step_that_asked_another_task_in_the_other_arm_is_marked():
    paired = paired_steps([_rec(0, "fact/a/ceo", True)], [_rec(0, "fact/b/ceo", True), _rec(5, "fact/c/ceo", True)])
    assert len(paired["steps"]) == 1 and "fact/b/ceo" in paired["steps"][0]["note"]


def test_the_revisits_world_loads_and_its_tasks_come_back(tmp_path, embedder):
    from pathlib import Path

    from agentcl.agent.runner import default_store, run_agent
    from agentcl.envs.scenario import load_scenario

    path = Path(__file__).resolve().parents[2] / "agentcl_bench" / "llm_agent_revisits.json"
    scenario = load_scenario(str(path))
    params = {t.name: [len(v.params) for v in t.versions] for t in scenario.tools}
    assert any(2 in counts for counts in params.values())  # a two-parameter tool
    report = run_agent(scenario=str(path), policy="local", save=False, include_records=True, registry=None,
                       open_store=lambda: default_store(url=f"sqlite:///{tmp_path / 'm.db'}", home=tmp_path),
                       device="cpu")
    tasks = Counter(r["task_id"] for r in report["records"])
    kinds = Counter(r["kind"] for r in report["records"])
    assert 16 <= report["tasks"] <= 24 and kinds["fact"] and kinds["tool"]
    assert sum(n - 1 for n in tasks.values()) >= 5  # revisits: tasks asked again later
    assert any(tasks[t] > 1 for t in tasks if t.startswith("tool/")) and any(
        tasks[t] > 1 for t in tasks if t.startswith("fact/"))


def test_fewer_lookups_bought_with_wrong_answers_is_not_help():
    from agentcl_bench.llm_agent import helped

    assert helped(+0.1, +3) and helped(0.0, -2)
    assert not helped(-0.1, -1)  # the 2026-12-01 run: one lookup fewer, two answers lost
    assert not helped(0.0, 0)


def _seed(seed, base, cons, gained, lost, *, base_lookups=0, cons_lookups=0):
    arm = lambda success, lookups: {"success": success, "stale_answers": 0.0, "lookups": lookups, "tasks": 20}  # noqa: E731
    return {"seed": seed, "arms": {"no consolidation": arm(base, base_lookups), "consolidation": arm(cons, cons_lookups)},
            "paired": {"steps": [], "gained": gained, "lost": lost}}


def test_the_verdict_is_on_the_totals_over_the_seeds():
    from agentcl_bench.llm_agent import seed_totals

    # one seed lost a step, two gained one each: the totals say consolidation helped
    totals = seed_totals([_seed(0, 0.5, 0.45, [], [3]), _seed(1, 0.5, 0.55, [14], []), _seed(2, 0.4, 0.45, [9], [])])
    assert totals["seeds"] == [0, 1, 2] and (totals["gained"], totals["lost"]) == (2, 1)
    assert totals["no consolidation"]["success"] == 0.4667 and totals["consolidation"]["success"] == 0.4833
    assert totals["success_change"] == 0.0167 and totals["helped"]
    # fewer lookups in total, but a lower mean success: not help
    worse = seed_totals([_seed(0, 0.5, 0.45, [], [3], base_lookups=2), _seed(1, 0.5, 0.5, [], [], base_lookups=1)])
    assert worse["lookups_change"] == -3 and not worse["helped"]


@pytest.mark.parametrize("args, says", [(["--seed", "1", "--seeds", "0,1"], "not both"),
                                        (["--seeds", "0,x"], "--seeds must be")])
def test_bench_llm_agent_takes_seed_or_seeds_not_both(args, says, capsys):
    from cli.main import main

    with pytest.raises(SystemExit) as exc:
        main(["bench", "llm-agent", *args])
    err = capsys.readouterr().err
    assert exc.value.code == 2 and says in err and len(err.strip().splitlines()) == 1
