"""`agentcl run`: build the environment, policy, store and registry, run the agent, score, save the report."""
from __future__ import annotations

import json
import os
import time
import uuid
from pathlib import Path
from typing import Any, Callable

from agentcl.agent.agent import Agent
from agentcl.agent.config import AgentConfig
from memory_store.errors import UserError

POLICIES = ("local", "openai")


def make_policy(name: str, *, model: str | None = None):
    if name == "local":
        from agentcl.policies.local import LocalPolicy

        return LocalPolicy()
    if name == "openai":
        from agentcl.policies.llm import OpenAIPolicy

        return OpenAIPolicy(model=model)
    raise UserError(f"unknown policy {name!r}; use {' or '.join(POLICIES)}")


def open_registry(store):
    """The skill registry beside the store (same database), or None if it cannot be opened."""
    try:
        from skills import SkillRegistry
    except ImportError:
        return None
    return SkillRegistry.open(store.url, home=store.home, embedder=store.embedder)


def run_agent(*, env: str = "drift", scenario: str | None = None, episodes: int = 1, policy: str = "local",
              model: str | None = None, seed: int = 0, consolidate_every: int = 0, namespace: str | None = None,
              memory: str = "full", store=None, registry: Any = "auto", config: AgentConfig | None = None,
              on_step: Callable[[int], None] | None = None, save: bool = True, plugins=None) -> dict:
    """Run the agent for `episodes` episodes; returns the JSON report (also saved under AGENTCL_HOME/runs)."""
    from agentcl.envs.registry import load_environment
    from agentcl.envs.scoring import score_run

    if episodes < 1:
        raise UserError("--episodes must be at least 1")
    pol = make_policy(policy, model=model)
    kwargs = {"seed": seed}
    if scenario:
        kwargs["scenario"] = scenario
    world = load_environment(env, **kwargs)
    run_id = uuid.uuid4().hex[:12]
    ns = namespace or f"run-{run_id}"
    own_store = store is None
    if own_store:
        from memory_store import MemoryStore

        store = MemoryStore.open()
    try:
        if registry == "auto":
            registry = open_registry(store)
        cfg = config or AgentConfig(namespace=ns, memory=memory, consolidate_every=consolidate_every)
        cfg.namespace = ns
        cfg.env_name = getattr(world, "name", env)
        started = time.perf_counter()
        agents = []
        for episode in range(episodes):
            # Each episode is a fresh world (its clock restarts), so it gets its own memory namespace.
            ep_cfg = AgentConfig(**{**cfg.__dict__, "namespace": ns if episodes == 1 else f"{ns}.ep{episode}"})
            agent = Agent(store, pol, registry=registry, config=ep_cfg, plugins=plugins, run_id=run_id)
            agent.episode = episode
            agent.run_episode(world, seed=seed, on_step=on_step)
            agents.append(agent)
        seconds = time.perf_counter() - started
        report = score_run(world.records(), world.tool_changes() if hasattr(world, "tool_changes") else [])
        stats = world.stats() if hasattr(world, "stats") else {}
        counters: dict[str, int] = {}
        for agent in agents:
            for k, v in agent.counters.items():
                counters[k] = counters.get(k, 0) + v
        report.update({
            "run_id": run_id, "env": env, "scenario": scenario or "default", "policy": policy, "model": model,
            "seed": seed, "memory": cfg.memory, "namespace": ns, "task_lookups": report.get("lookups"),
            "lookups": stats.get("lookups", report.get("lookups")), "consolidations": counters.get("consolidations", 0),
            "consolidation_reports": [r for a in agents for r in a.consolidation_reports],
            "exploration": {k: counters.get(k, 0) for k in ("explore_lookups", "practice_calls")},
            "learned": {k: counters.get(k, 0) for k in ("renames_learned", "replacements_learned")},
            "seconds": round(seconds, 2),
        })
    finally:
        if own_store:
            store.close()
    if save:
        report["report_path"] = str(save_report(report))
    return report


def save_report(report: dict) -> Path:
    from memory_store.config import agentcl_home

    directory = agentcl_home() / "runs"
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{report['run_id']}.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(report, indent=2, default=str))
    os.replace(tmp, path)
    return path
