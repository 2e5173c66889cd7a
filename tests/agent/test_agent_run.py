"""The agent on a small DriftWorld scenario: learning beats append-only memory, stages are logged and
hookable, and `agentcl run` reports what the issue asks for."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from agentcl.agent import Agent, AgentConfig, AgentPlugin
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
    store = MemoryStore.open(f"sqlite:///{tmp_path / 'm.db'}", home=home, embedder=embedder)
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
    stages = {e["stage"] for e in mem.events(agent.run_id)}
    assert {"perceive", "act", "feedback", "revise"} <= stages


def test_unknown_policy_and_environment_are_user_errors(mem):
    with pytest.raises(UserError):
        run_agent(policy="oracle", store=mem, save=False)
    with pytest.raises(UserError):
        run_agent(env="nowhere", store=mem, save=False)


def test_cli_run_json_and_bad_scenario(tmp_path, home):
    out = subprocess.run([sys.executable, "-m", "cli.main", "run", "--scenario", SCENARIO, "--json"],
                         capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert REPORT_KEYS <= set(report) and Path(report["report_path"]).exists()
    bad = tmp_path / "bad.json"
    bad.write_text('{"name": "x",\n "phases": [}')
    out = subprocess.run([sys.executable, "-m", "cli.main", "run", "--scenario", str(bad)],
                         capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert out.returncode == 2 and out.stderr.startswith("error:") and len(out.stderr.strip().splitlines()) == 1
    assert "line 2" in out.stderr
