"""Metric functions over hand-made step records, and the grading rules behind `correct` and `stale`."""
from __future__ import annotations

import pytest

from agentcl.envs import Action
from agentcl.envs.base import StepRecord, ToolChange
from agentcl.envs.drift import DriftWorld
from agentcl.envs.grading import grade_fact, matches, mentions
from agentcl.envs.scoring import (
    lookups,
    median_recovery_tasks,
    revisit_rates,
    score_run,
    stale_answer_rate,
    success_rate,
    success_rate_by_phase,
    tool_changes,
)


def rec(step, phase, task_id, correct, *, kind="fact", op=None, stale=False, lookups=0, episode=0):
    return StepRecord(episode=episode, step=step, phase=phase, task_id=task_id, kind=kind, correct=correct,
                      operation=op, stale=stale, lookups=lookups)


RECORDS = [
    rec(0, "a", "f1", True), rec(1, "a", "t1", True, kind="tool", op="conv"),
    rec(2, "a", "f2", False, lookups=1), rec(3, "a", "t2", True, kind="tool", op="fx"),
    rec(4, "b", "t1", False, kind="tool", op="conv"), rec(5, "b", "f1", False, stale=True),
    rec(6, "b", "t1", False, kind="tool", op="conv"), rec(7, "b", "t3", True, kind="tool", op="conv"),
    rec(8, "b", "f3", True, lookups=2), rec(9, "c", "f2", True), rec(10, "c", "f1", True),
]
CHANGES = [ToolChange("conv", 4, "param_renamed", "conv", "value -> quantity"),
           ToolChange("fx", 5, "deprecated", "fx", "replaced by fx2"),
           ToolChange("late", 99, "introduced", "late")]


def test_rates():
    assert success_rate(RECORDS) == pytest.approx(7 / 11)
    assert success_rate([]) is None
    assert success_rate_by_phase(RECORDS) == {"a": 0.75, "b": 0.4, "c": 1.0}
    assert list(success_rate_by_phase(RECORDS)) == ["a", "b", "c"]
    assert stale_answer_rate(RECORDS) == pytest.approx(1 / 6)
    assert stale_answer_rate([r for r in RECORDS if r.kind == "tool"]) is None
    assert lookups(RECORDS) == 3


def test_tool_change_recovery():
    entries = {e["tool"]: e for e in tool_changes(RECORDS, CHANGES)}
    assert entries["conv"]["recovery_tasks"] == 2 and entries["conv"]["first_success_step"] == 7
    assert entries["conv"]["tasks_after"] == 3 and entries["conv"]["recovered"]
    assert entries["fx"] == {**entries["fx"], "recovery_tasks": None, "recovered": False, "tasks_after": 0}
    assert median_recovery_tasks(entries.values()) == 2.0  # changes with no task after are left out
    never = [{"recovery_tasks": None, "recovered": False, "tasks_after": 5},
             {"recovery_tasks": 0, "recovered": True, "tasks_after": 3}]
    assert median_recovery_tasks(never) == 2.5  # unrecovered counts as all its tasks
    assert median_recovery_tasks([]) is None


def test_revisits_compare_with_first_phase():
    # f1: first in a (True), again in b (False, stale) and c (True); t1: first in a (True), b twice (False)
    # f2: first in a (False), again in c (True)
    revisit, baseline = revisit_rates(RECORDS)
    assert revisit == pytest.approx(2 / 5)  # f1@b, f1@c, t1@b x2, f2@c -> 2 of 5
    assert baseline == pytest.approx(2 / 3)  # f1@a, t1@a, f2@a
    assert revisit_rates(RECORDS[:4]) == (None, None)


def test_episodes_are_scored_separately():
    two = RECORDS + [rec(r.step, r.phase, r.task_id, True, kind=r.kind, op=r.operation, episode=1)
                     for r in RECORDS]
    report = score_run(two, CHANGES)
    assert report["episodes"] == 2 and report["tasks"] == 22
    conv = [e for e in report["tool_changes"] if e["tool"] == "conv"]
    assert [e["recovery_tasks"] for e in conv] == [2, 0]
    assert report["revisit_success_rate"] == pytest.approx(7 / 10)


def test_score_run_shape_and_dict_records():
    report = score_run([r.to_dict() for r in RECORDS], [c.to_dict() for c in CHANGES])
    assert set(report) >= {"episodes", "success_rate", "success_rate_by_phase", "stale_answer_rate",
                           "tool_changes", "revisit_success_rate", "revisit_baseline_rate", "lookups"}
    assert report["fact_success_rate"] == pytest.approx(4 / 6) and report["tool_success_rate"] == 0.6


def test_grading_rules():
    assert matches("Bruno Diaz", "bruno diaz") and matches("It is Bruno Diaz.", "Bruno Diaz")
    assert not matches("Bruno", "Bruno Diaz") and not matches("", "Bruno Diaz")
    assert not matches("Alice Park or Bruno Diaz", "Bruno Diaz", others=["Alice Park", "Bruno Diaz"])
    assert mentions("room 3.14 please", "3.14") and not mentions("room 3.145", "3.14")
    assert grade_fact("Alice Park", "Bruno Diaz", earlier=["Alice Park"], all_values=["Alice Park", "Bruno Diaz"]) \
        == (False, True)
    assert grade_fact("Carol", "Bruno Diaz", earlier=["Alice Park"], all_values=["Alice Park", "Bruno Diaz"]) \
        == (False, False)
    # a future value is wrong but not stale
    assert grade_fact("Leon Kennedy", "Claire Redfield", earlier=["Albert Wesker"],
                      all_values=["Albert Wesker", "Claire Redfield", "Leon Kennedy"]) == (False, False)


def test_stale_rate_of_a_frozen_agent_in_drift_world():
    """An agent that never updates (answers with the step-0 value) is stale exactly when the truth moved."""
    env = DriftWorld()
    obs = env.reset(0)
    while obs is not None:
        answer = env.truth(obs.query.subject, obs.query.predicate, step=0) if obs.kind == "fact" else "?"
        obs = env.step(Action.say(answer)).next_observation
    facts = [r for r in env.records() if r.kind == "fact"]
    moved = [r for r in facts
             if env.truth(r.subject, r.predicate, step=r.step) != env.truth(r.subject, r.predicate, step=0)]
    assert stale_answer_rate(facts) == pytest.approx(len(moved) / len(facts)) and moved
    assert all(r.stale and not r.correct for r in moved)
