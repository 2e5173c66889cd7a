"""The agent on a small DriftWorld scenario: learning beats append-only memory, stages are logged and
hookable, and `agentcl run` reports what the issue asks for."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from agentcl.agent import Agent, AgentConfig, AgentPlugin
from agentcl.agent.embedcache import caching
from agentcl.agent.runner import run_agent
from agentcl.envs.drift import DriftWorld
from agentcl.policies.local import LocalPolicy
from memory_store import MemoryStore, UserError

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = str(ROOT / "examples" / "my_scenario.json")
REPORT_KEYS = {"episodes", "success_rate", "success_rate_by_phase", "stale_answer_rate", "tool_changes",
               "revisit_success_rate", "revisit_baseline_rate", "lookups", "consolidations"}


@pytest.fixture
def mem(tmp_path, embedder, home):
    store = MemoryStore.open(f"sqlite:///{tmp_path / 'm.db'}", home=home, embedder=caching(embedder))
    yield store
    store.close()


def test_full_memory_beats_append_only_on_stale_answers(mem):
    full = run_agent(scenario=SCENARIO, store=mem, registry=None, memory="full", save=False)
    append = run_agent(scenario=SCENARIO, store=mem, registry=None, memory="append", save=False)
    assert REPORT_KEYS <= set(full)
    assert full["success_rate"] >= 0.8
    assert full["stale_answer_rate"] <= append["stale_answer_rate"]
    assert full["success_rate"] >= append["success_rate"]
    for change in full["tool_changes"]:
        assert {"tool", "step", "recovery_tasks"} <= set(change)


def test_stages_are_logged_and_hookable(mem):
    seen = []

    class Recorder(AgentPlugin):
        def after_perceive(self, agent, info):
            seen.append(("perceive", info["observation"].step))

        def after_revise(self, agent, info):
            seen.append(("revise", info["feedback"].correct))

    world = DriftWorld(SCENARIO)
    agent = Agent(mem, LocalPolicy(), config=AgentConfig(namespace="hooks"), plugins=[Recorder()])
    agent.run_episode(world, seed=1)
    steps = {s for stage, s in seen if stage == "perceive"}
    assert steps == set(range(world.horizon))
    events = agent.events()
    for stage in ("perceive", "explore"):  # once per task
        assert sorted(e["step"] for e in events if e["stage"] == stage) == list(range(world.horizon))
    for stage in ("act", "feedback", "revise"):  # once per action (a lookup is an action too)
        assert {e["step"] for e in events if e["stage"] == stage} == set(range(world.horizon))
    assert all(e["run_id"] == agent.run_id and e["episode"] == 0 for e in events)


def test_exploration_stays_within_its_budget(mem):
    spent = {}
    for budget in (0.0, 0.1):
        world = DriftWorld(SCENARIO)
        config = AgentConfig(namespace=f"budget-{budget}", explore_budget=budget, practice_after=8)
        agent = Agent(mem, LocalPolicy(), config=config)
        agent.run_episode(world, seed=3)
        assert agent.explore_spent <= agent.explore_budget_total() == pytest.approx(budget * world.horizon)
        assert world.stats()["practice_calls"] == agent.explore_spent  # every exploration action hit the world
        spent[budget] = agent.explore_spent
    assert spent[0.0] == 0 and spent[0.1] > 0


def test_unknown_policy_and_environment_are_user_errors(mem):
    with pytest.raises(UserError):
        run_agent(policy="oracle", store=mem, save=False)
    with pytest.raises(UserError):
        run_agent(env="nowhere", store=mem, save=False)


@pytest.mark.parametrize(("args", "message"), [
    (["--policy", "oracle"], "unknown policy 'oracle'"),
    (["--env", "nowhere"], "unknown environment 'nowhere'"),
    (["--memory", "sometimes"], "unknown memory mode"),
    (["--episodes", "0"], "--episodes must be at least 1"),
    (["--consolidate-every", "-1"], "--consolidate-every"),
    (["--device", "tpu"], "unknown device 'tpu'"),
    (["--scenario", "/nonexistent/scenario.json"], "does not exist"),
])
def test_cli_bad_input_is_one_line_exit_2_and_writes_nothing(home, capsys, args, message):
    from cli.main import main

    with pytest.raises(SystemExit) as exit_info:
        main(["run", *args])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and err.startswith("error:") and message in err
    assert len(err.strip().splitlines()) == 1
    assert list(home.iterdir()) == []  # checked before the store is even opened


def test_cli_run_json_and_bad_scenario(tmp_path, home):
    out = subprocess.run([sys.executable, "-m", "cli.main", "run", "--scenario", SCENARIO, "--json"],
                         capture_output=True, text=True, cwd=ROOT, timeout=600, check=False)
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert REPORT_KEYS <= set(report) and Path(report["report_path"]).exists()
    bad = tmp_path / "bad.json"
    bad.write_text('{"name": "x",\n "phases": [}')
    out = subprocess.run([sys.executable, "-m", "cli.main", "run", "--scenario", str(bad)],
                         capture_output=True, text=True, cwd=ROOT, timeout=300, check=False)
    assert out.returncode == 2 and out.stderr.startswith("error:") and len(out.stderr.strip().splitlines()) == 1
    assert "line 2" in out.stderr
