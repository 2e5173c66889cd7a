"""An agent driven from Python (not the CLI), with two plug-ins hooked into its stages.

    python examples/agent_hook.py            # a summary, in a few seconds, offline
    python examples/agent_hook.py --json     # the same as JSON

The world is `examples/my_scenario.json` (a manager replaced without notice, a rotating Wi-Fi password,
a renamed tool parameter, a tool replaced). The agent is the library's own `Agent` with the default
local policy; the plug-ins show the two things hooks are for:

- `ChangeLog` only watches: after each revise and explore stage it keeps what the agent learned (a
  correction that superseded an old fact, a renamed parameter, a replacement tool, a re-verified fact).
- `DoubleCheckOldFacts` changes behaviour: before the act stage, if the agent is about to answer from a
  memory not confirmed for `max_age_days`, it replaces the action with a lookup (the world's
  truth-telling tool), so an old answer is checked before it is given.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

from agentcl.agent import Agent, AgentConfig, AgentPlugin
from agentcl.agent.embedcache import caching
from agentcl.envs.base import Action
from agentcl.envs.drift import DriftWorld
from agentcl.envs.scoring import score_run
from agentcl.policies.local import LocalPolicy
from memory_store import MemoryStore
from memory_store.embedding import get_default_embedder

SCENARIO = Path(__file__).resolve().parent / "my_scenario.json"


class ChangeLog(AgentPlugin):
    """Collects what the revise stage learned, with the step it happened at."""

    def __init__(self) -> None:
        self.entries: list[dict] = []

    def after_revise(self, agent, info) -> None:
        for item in info["learned"]:
            self.entries.append({"step": info["percept"].observation.step, **item})

    def after_explore(self, agent, info) -> None:  # re-verifications and practice calls learn too
        for item in info.get("learned", []):
            self.entries.append({"step": info["observation"].step, "while": "exploring", **item})


class DoubleCheckOldFacts(AgentPlugin):
    """Look a fact up instead of answering from a memory nobody confirmed for a while."""

    def __init__(self, *, max_age_days: float = 12.0) -> None:
        self.max_age = timedelta(days=max_age_days)
        self.checks = 0

    def before_act(self, agent, info) -> None:
        percept = info["percept"]
        obs, fact = percept.observation, percept.belief
        if obs.kind != "fact" or fact is None or percept.context.attempts:
            return  # only the first action on a fact question answered from memory
        checked = fact.last_validated_at or fact.valid_from
        if checked is not None and agent.store.now() - checked > self.max_age:
            self.checks += 1
            info["action"] = Action.call(agent.lookup, {"subject": obs.query.subject,
                                                        "predicate": obs.query.predicate},
                                         rationale=f"memory not confirmed for {self.max_age.days}+ days")


def run_example(*, home: str | Path, seed: int = 0, embedder=None) -> dict:
    """Run one episode of the scenario in a store under `home`; returns a small report."""
    # The embedding memo: an agent asks the same questions again and again, each text is encoded once.
    embedder = caching(embedder or get_default_embedder())
    store = MemoryStore.open(f"sqlite:///{Path(home) / 'memory.db'}", home=home, embedder=embedder)
    try:
        world = DriftWorld(SCENARIO, seed=seed)
        log, guard = ChangeLog(), DoubleCheckOldFacts()
        # verify="trust": the built-in verify rule (agentcl/agent/verify.py) is off, so the hook does the checking
        agent = Agent(store, LocalPolicy(), config=AgentConfig(namespace="example", verify="trust"),
                      plugins=[log, guard])
        agent.run_episode(world, seed=seed)
        score = score_run(world.records(), world.tool_changes())
        stages = sorted({e["stage"] for e in agent.events()})  # the agent's own event log, its namespace only
        return {"tasks": score["tasks"], "success_rate": score["success_rate"],
                "stale_answer_rate": score["stale_answer_rate"], "lookups": world.stats()["lookups"],
                "double_checks": guard.checks, "learned": log.entries, "logged_stages": stages,
                "current_manager": store.current("design team", "manager", namespace="example").object}
    finally:
        store.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="agentcl-example-") as home:
        report = run_example(home=home, seed=args.seed)
    if args.json:
        print(json.dumps(report, indent=2, default=str))
        return 0
    print(f"{report['tasks']} tasks, success {report['success_rate']:.0%}, stale answers "
          f"{report['stale_answer_rate']:.0%}, lookups {report['lookups']} "
          f"({report['double_checks']} forced by the DoubleCheckOldFacts hook)")
    print(f"stages logged as events: {', '.join(report['logged_stages'])}")
    print(f"the design team's manager, as memory holds it now: {report['current_manager']}")
    print("learned along the way:")
    for entry in report["learned"]:
        print(f"  step {entry['step']:>3}: " + ", ".join(f"{k}={v}" for k, v in entry.items() if k != "step"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
