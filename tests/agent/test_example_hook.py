"""examples/agent_hook.py: an agent driven from Python with stage hooks, run for real (offline, seconds)."""
import importlib.util
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "agent_hook.py"


def _load():
    spec = importlib.util.spec_from_file_location("agent_hook_example", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_agent_hook_example_runs_and_its_hooks_act(monkeypatch, capsys, embedder):
    example = _load()
    reports = []

    def run_with_the_session_model(*, home, seed, _run=example.run_example):
        reports.append(_run(home=home, seed=seed, embedder=embedder))
        return reports[-1]

    monkeypatch.setattr(example, "run_example", run_with_the_session_model)
    assert example.main([]) == 0  # exactly what `python examples/agent_hook.py` runs
    out = capsys.readouterr().out
    assert "60 tasks" in out and "DoubleCheckOldFacts" in out and "learned along the way" in out
    report = reports[0]
    assert report["tasks"] == 60 and report["success_rate"] >= 0.9
    assert report["logged_stages"] == ["act", "explore", "feedback", "perceive", "revise"]
    assert report["double_checks"] >= 1  # the before_act hook replaced answers with lookups
    # the manager was replaced silently at step 25: the agent ends up holding the new one
    assert report["current_manager"] == "Tom Becker"
    learned = report["learned"]
    assert any(e.get("fact", [None, None, None])[1:] == ["manager", "Tom Becker"] for e in learned)
    # the renamed parameter of the replacement date tool was learned
    assert any(e.get("param") == ["date_shift", "start", "date"] for e in learned)
