"""`agentcl bench drift`: aggregation rules (pure) and one real run of every ablation on a small scenario."""
from pathlib import Path

import pytest

from agentcl_bench.drift_ablations import (
    VARIANTS,
    aggregate,
    mean_curve,
    revisit_ratio,
    rolling_success,
    run_drift_bench,
    summary_rows,
)
from memory_store.errors import UserError

SCENARIO = str(Path(__file__).resolve().parents[2] / "examples" / "my_scenario.json")


def test_rolling_success_and_mean_curve():
    records = [{"step": i, "correct": ok} for i, ok in enumerate([True, False, True, True])]
    assert rolling_success(records, window=2) == [1.0, 0.5, 0.5, 1.0]
    assert rolling_success(list(reversed(records)), window=2) == [1.0, 0.5, 0.5, 1.0]  # by step, not order
    assert mean_curve([[1.0, 0.0, 1.0], [0.0, 0.0]]) == [0.5, 0.0]
    assert mean_curve([]) == []
    assert revisit_ratio({"revisit_success_rate": 0.9, "revisit_baseline_rate": 1.0}) == 0.9
    assert revisit_ratio({"revisit_success_rate": 0.9, "revisit_baseline_rate": 0.0}) is None


def _row(seed, success, stale, recovery, revisit, baseline, changes):
    return {"seed": seed, "success_rate": success, "stale_answer_rate": stale, "median_recovery_tasks": recovery,
            "revisit_success_rate": revisit, "revisit_baseline_rate": baseline,
            "revisit_ratio": revisit / baseline, "success_rate_by_phase": {"a": success}, "lookups": 10,
            "lookups_per_task": 0.1, "consolidations": 0, "model": {"promoted": 0, "acc": None, "bwt": None},
            "model_priors_used": 0, "seconds": 1.0, "tool_changes": changes}


def test_aggregate_and_targets_come_from_the_numbers():
    change = {"tool": "t", "step": 5, "kind": "param_renamed", "recovered": True, "tasks_after": 4,
              "undocumented": True}
    good = [_row(0, 0.99, 0.01, 0.0, 0.98, 1.0, [{**change, "recovery_tasks": 1}]),
            _row(1, 0.97, 0.02, 1.0, 0.95, 0.97, [{**change, "recovery_tasks": None, "recovered": False}])]
    bad = [_row(0, 0.8, 0.2, 3.0, 0.7, 0.9, [{**change, "recovery_tasks": 3}])]
    m = aggregate(good)
    assert m["success_rate"] == pytest.approx(0.98) and m["stale_answer_rate"] == pytest.approx(0.015)
    assert m["median_recovery_tasks"] == 0.5
    assert m["mean_recovery_undocumented"] == pytest.approx((1 + 4) / 2)  # never recovered: all 4 tasks count
    variants = {"append_only": {"label": "append", "short": "append", "mean": aggregate(bad)},
                "full_memory": {"label": "full", "short": "full", "mean": m}}
    rows = {r["metric"]: r for r in summary_rows(variants, [0, 1])}
    stale = rows["stale-answer rate: full (vs append-only)"]
    assert stale["ok"] is True and "append-only 20.0%" in stale["value"]
    assert rows["median recovery after a tool change (tasks): full"]["ok"] is True
    assert rows["revisit success / first-phase success: full"]["ok"] is True
    variants["full_memory"]["mean"] = aggregate(bad)
    rows = {r["metric"]: r for r in summary_rows(variants, [0])}
    assert rows["stale-answer rate: full (vs append-only)"]["ok"] is False
    assert rows["median recovery after a tool change (tasks): full"]["ok"] is False
    assert rows["revisit success / first-phase success: full"]["ok"] is False


def test_bench_runs_every_ablation_of_the_same_agent(home):
    result = run_drift_bench(seeds=(0,), scenario=SCENARIO, consolidate_every=20)
    assert result["benchmark"] == "drift" and result["seeds"] == [0] and result["machine"]["cpu_cores"]
    assert list(result["variants"]) == [v.key for v in VARIANTS]
    for row in result["summary"]:
        assert set(row) == {"metric", "value", "target", "ok"}
    targets = [r for r in result["summary"] if r["target"]]
    assert len(targets) == 6 and all(isinstance(r["ok"], bool) for r in targets)
    v = result["variants"]
    assert v["no_memory"]["per_seed"][0]["lookups_per_task"] > v["full_memory"]["per_seed"][0]["lookups_per_task"]
    assert v["full_memory"]["mean"]["stale_answer_rate"] < v["append_only"]["mean"]["stale_answer_rate"]
    for key in ("consolidation_no_replay", "full_system"):
        assert v[key]["per_seed"][0]["consolidations"] == 3 and v[key]["per_seed"][0]["model"]["rounds"] == 3
    assert v["full_memory"]["per_seed"][0]["consolidations"] == 0
    assert {k: len(c) for k, c in result["curves"].items()} == {k.key: 60 for k in VARIANTS}
    points = {(p["step"], p["label"]) for p in result["change_points"]}
    assert (25, "design team manager") in points and (30, "percent_of: value -> base") in points
    assert not any("wifi" in label for _, label in points)  # a rotation's turnover is not a change point


def test_bench_refuses_bad_options():
    with pytest.raises(UserError):
        run_drift_bench(seeds=())
    with pytest.raises(UserError):
        run_drift_bench(seeds=(0,), consolidate_every=0)
    with pytest.raises(UserError, match="does not exist"):
        run_drift_bench(seeds=(0,), scenario="/nonexistent.json")


def test_generated_worlds_report_every_agent_and_the_frontier(home, embedder, tmp_path):
    from agentcl.agent.embedcache import caching
    from agentcl_bench.drift_generated import AGENTS, plot_frontier, run_generated_worlds, summarise

    agents = [a for a in AGENTS if a.key in ("full_system", "no_memory", "always_verify")]
    result = run_generated_worlds(worlds=1, difficulty="easy", seeds=(0,), embedder=caching(embedder),
                                  first_world=5, agents=agents)
    means = {k: a["mean"] for k, a in result["agents"].items()}
    assert set(means) == {"full_system", "no_memory", "always_verify"} and result["worlds"] == [5]
    assert means["no_memory"]["stale_answer_rate"] == 0.0  # it looks every fact up
    # the verify rule looks up less than verifying everything, and memory less than no memory
    assert means["full_system"]["lookups_per_task"] < means["always_verify"]["lookups_per_task"]
    assert means["full_system"]["lookups_per_task"] < means["no_memory"]["lookups_per_task"]
    assert {p["agent"] for p in result["frontier"]} == {a.label for a in agents}
    assert any("lookups per task, full system / no memory" in r["metric"] for r in result["summary"])
    assert summarise(result["agents"]["full_system"]["runs"]) == means["full_system"]
    # the baselines never answer from a predicted cycle: no memory has no history, always-verify looks up
    assert all(r["cycle_predictions"] == {"answered": 0, "wrong": 0}
               for k in ("no_memory", "always_verify") for r in result["agents"][k]["runs"])
    path = plot_frontier(result, tmp_path / "frontier.png")
    assert path is None or path.stat().st_size > 0


def test_bench_drift_cli_refuses_bad_world_options(tmp_path):
    from tests.reliability.helpers import assert_clean_error, run_cli

    kw = {"db": f"sqlite:///{tmp_path / 'm.db'}", "home": tmp_path}
    assert "unknown difficulty" in assert_clean_error(run_cli(["bench", "drift", "--difficulty", "brutal"], **kw))
    assert "--worlds-only" in assert_clean_error(
        run_cli(["bench", "drift", "--worlds-only", "--generated", "0"], **kw))
