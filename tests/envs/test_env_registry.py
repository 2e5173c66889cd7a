"""Environments by name: the builtin drift, unknown names, and a plug-in through the entry point."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

from agentcl.envs import Action, Environment, available_environments, load_environment
from agentcl.envs.scoring import score_run
from memory_store.errors import UserError

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "custom_env"


def test_drift_is_builtin_and_takes_options(tmp_path):
    assert "drift" in available_environments()
    env = load_environment("drift", scenario=EXAMPLE.parent / "my_scenario.json", seed=5)
    assert env.scenario.name == "small-office" and env.reset().step == 0 and env.seed == 5


def test_unknown_environment_or_option_is_a_user_error():
    with pytest.raises(UserError, match=r"unknown environment 'nope'; known: .*drift"):
        load_environment("nope")
    with pytest.raises(UserError, match=r"environment 'drift' does not take these options \(scenari\)"):
        load_environment("drift", scenari="x.json")


@pytest.fixture
def installed_example(tmp_path, monkeypatch):
    """The example package made visible to importlib.metadata as an installed distribution would be:
    a dist-info with its entry_points.txt on sys.path (no pip install needed)."""
    info = tmp_path / "agentcl_flashcards_env-0.1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: agentcl-flashcards-env\nVersion: 0.1.0\n")
    (info / "entry_points.txt").write_text('[agentcl.envs]\nflashcards = flashcards_env:FlashcardsEnv\n')
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.syspath_prepend(str(EXAMPLE / "src"))
    yield
    sys.modules.pop("flashcards_env", None)


def test_custom_environment_through_entry_point(installed_example):
    assert "flashcards" in available_environments()
    env = load_environment("flashcards", rounds=20)
    assert isinstance(env, Environment)
    obs = env.reset(seed=1)
    while obs is not None:
        fb = env.step(Action.say(env.truth(obs.query.subject, step=obs.step) if obs.step % 2 else "Rome"))
        obs = fb.next_observation
    report = score_run(env.records())
    assert report["tasks"] == 20 and report["success_rate"] == 0.5


def test_broken_plugin_is_a_user_error(tmp_path, monkeypatch):
    info = tmp_path / "broken-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: broken\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[agentcl.envs]\nbroken = no_such_module_xyz:Env\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(UserError, match="environment 'broken' .* cannot be loaded"):
        load_environment("broken")
