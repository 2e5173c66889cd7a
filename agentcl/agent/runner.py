"""`agentcl run`: build the environment, policy, store and registry, run the agent, score, save the report."""
from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from agentcl.agent.agent import Agent
from agentcl.agent.config import AgentConfig
from agentcl.agent.saved_runs import save_report
from memory_store.embedding import check_device
from memory_store.errors import UserError

POLICIES = ("local", "openai", "llm")


def make_policy(name: str, *, model: str | None = None, model_dir: str | None = None, device: str = "auto"):
    if model_dir is not None and name != "llm":
        raise UserError("--model-dir is for --policy llm (the local language model)")
    if name == "llm":
        from agentcl.policies.local_lm import LocalLMPolicy

        return LocalLMPolicy(model_dir=model_dir, device=device)
    if name == "local":
        from agentcl.policies.local import LocalPolicy

        return LocalPolicy()
    if name == "openai":
        from agentcl.policies.llm import OpenAIPolicy

        return OpenAIPolicy(model=model)
    raise UserError(f"unknown policy {name!r}; use {', '.join(POLICIES)}")


def default_store(**kwargs):
    """The store of AGENTCL_HOME / AGENTCL_DB_URL, with the embedding memo an agent run wants."""
    from agentcl.agent.embedcache import caching
    from memory_store import MemoryStore
    from memory_store.embedding import get_default_embedder

    kwargs.setdefault("embedder", caching(get_default_embedder()))
    return MemoryStore.open(**kwargs)


def open_registry(store):
    """The skill registry beside the store (same database), or None if it cannot be opened."""
    try:
        from skills import SkillRegistry
    except ImportError:
        return None
    return SkillRegistry.open(store.url, home=store.home, embedder=store.embedder)


def prepare_run(*, env: str = "drift", scenario: str | None = None, episodes: int = 1, policy: str = "local",
                model: str | None = None, seed: int = 0, memory: str = "full", consolidate_every: int = 0,
                device: str = "auto", model_dir: str | None = None, text_only: bool = False, policy_object=None):
    """Check every option a user gives and build the policy and the world, before anything is written:
    bad input (unknown environment or policy, a scenario that does not validate, an unreachable
    endpoint) ends here, as a UserError, with the store untouched."""
    from agentcl.agent.knowledge import MEMORY_MODES
    from agentcl.envs.registry import load_environment

    if episodes < 1:
        raise UserError("--episodes must be at least 1")
    if memory not in MEMORY_MODES:
        raise UserError(f"unknown memory mode {memory!r}; use {', '.join(MEMORY_MODES)}")
    if consolidate_every < 0:
        raise UserError("--consolidate-every must be 0 (never) or a positive number of steps")
    check_device(device)
    from agentcl.envs.registry import accepted_options, environment_class

    if text_only and "text_only" not in accepted_options(environment_class(env), {"text_only": True}):
        raise UserError(f"environment {env!r} has no text-only mode (--text-only)")
    # policy_object: an already built policy (a bench shares one loaded LM between its runs)
    pol = policy_object if policy_object is not None else make_policy(policy, model=model, model_dir=model_dir,
                                                                      device=device)
    kwargs: dict[str, Any] = {}
    if scenario:
        kwargs["scenario"] = scenario
    if text_only:
        kwargs["text_only"] = True
    # The seed is offered, not imposed: an environment whose constructor takes none is seeded by reset().
    world = load_environment(env, optional={"seed": seed}, **kwargs)
    check = getattr(pol, "check", None)
    if callable(check):  # e.g. the openai policy: is the endpoint there at all?
        check()
    return pol, world


def run_agent(*, env: str = "drift", scenario: str | None = None, episodes: int = 1, policy: str = "local",
              model: str | None = None, seed: int = 0, consolidate_every: int = 0, namespace: str | None = None,
              memory: str = "full", consolidation_replay: bool = True, device: str = "auto", store=None,
              open_store: Callable[[], Any] | None = None, registry: Any = "auto", config: AgentConfig | None = None,
              on_step: Callable[[int], None] | None = None, on_start: Callable[[int | None], None] | None = None,
              save: bool = True, plugins=None, include_records: bool = False, verify: str = "cost",
              stale_cost: float = 10.0, lookup_cost: float | None = None, model_dir: str | None = None,
              text_only: bool = False, policy_object=None) -> dict:
    """Run the agent for `episodes` episodes; returns the JSON report (also saved under AGENTCL_HOME/runs).

    `store`: an open MemoryStore to use (left open); otherwise `open_store()` (default: `default_store`)
    is called once the options are known to be good, and the store is closed at the end.
    `verify`, `stale_cost`, `lookup_cost`: when a remembered value is looked up first (agentcl/agent/verify.py).
    `on_start(total)` is told the number of steps to come (None when the world does not say), `on_step(step)`
    after each one. `include_records`: add every graded task ("records") to the report (for plots)."""
    from agentcl.agent.verify import VERIFY_MODES
    from agentcl.envs.scoring import score_run

    if verify not in VERIFY_MODES:  # before anything is built or written, like prepare_run's checks
        raise UserError(f"unknown verify mode {verify!r}; use {', '.join(VERIFY_MODES)}")
    pol, world = prepare_run(env=env, scenario=scenario, episodes=episodes, policy=policy, model=model, seed=seed,
                             memory=config.memory if config else memory,
                             consolidate_every=config.consolidate_every if config else consolidate_every,
                             device=config.device if config else device, model_dir=model_dir,
                             text_only=text_only, policy_object=policy_object)
    run_id = uuid.uuid4().hex[:12]
    ns = namespace or f"run-{run_id}"
    own_store = store is None
    if own_store:
        store = (open_store or default_store)()
    try:
        if registry == "auto":
            registry = open_registry(store)
        cfg = config or AgentConfig(namespace=ns, memory=memory, consolidate_every=consolidate_every,
                                    consolidation_replay=consolidation_replay, device=device, verify=verify,
                                    stale_cost=stale_cost, lookup_cost=lookup_cost)
        cfg.namespace = ns
        cfg.env_name = getattr(world, "name", env)
        if on_start is not None:
            horizon = getattr(world, "horizon", None)
            on_start(horizon * episodes if isinstance(horizon, int) else None)
        started = time.perf_counter()
        agents = []
        try:
            for episode in range(episodes):
                # Each episode is a fresh world (its clock restarts), so it gets its own memory namespace.
                ep_cfg = AgentConfig(**{**cfg.__dict__, "namespace": ns if episodes == 1 else f"{ns}.ep{episode}"})
                enter = getattr(pol, "enter_namespace", None)
                if callable(enter):  # a model policy takes this namespace's consolidated weights, no other's
                    enter(store.home, ep_cfg.namespace)
                agent = Agent(store, pol, registry=registry, config=ep_cfg, plugins=plugins, run_id=run_id)
                agent.episode = episode
                agents.append(agent)
                agent.run_episode(world, seed=seed, on_step=on_step)
        except Exception as exc:  # keep what the run did so far; a fault becomes one line (RunStopped)
            from agentcl.agent.interrupted import stop_run

            stopped = stop_run(exc, agents=agents, world=world, url=store.url, base={
                "run_id": run_id, "env": env, "scenario": scenario or "default", "policy": policy, "seed": seed,
                "namespace": ns, "seconds": round(time.perf_counter() - started, 2)})
            if stopped is None:
                raise
            raise stopped from None
        seconds = time.perf_counter() - started
        records = world.records()
        report = score_run(records, world.tool_changes() if hasattr(world, "tool_changes") else [])
        stats = world.stats() if hasattr(world, "stats") else {}
        counters: dict[str, float] = {}
        for agent in agents:
            for k, v in agent.counters.items():
                counters[k] = counters.get(k, 0) + v
        report.update({
            "run_id": run_id, "env": env, "scenario": scenario or "default", "policy": policy,
            "model": getattr(pol, "model", None) if policy != "local" else None, "text_only": text_only,
            "seed": seed, "memory": cfg.memory, "consolidate_every": cfg.consolidate_every,
            "consolidation_replay": cfg.consolidation_replay, "namespace": ns,
            "task_lookups": report.get("lookups"), "lookups": stats.get("lookups", report.get("lookups")),
            "consolidations": int(counters.get("consolidations", 0)),
            "consolidation_reports": [r for a in agents for r in a.consolidation_reports],
            "exploration": {"budget": round(sum(a.explore_budget_total() for a in agents), 2),
                            "spent": sum(a.explore_spent for a in agents),
                            **{k: int(counters.get(k, 0)) for k in ("explore_lookups", "practice_calls",
                                                                     "alternative_calls")}},
            "learned": {k: int(counters.get(k, 0)) for k in ("renames_learned", "replacements_learned")},
            "model_priors_used": int(counters.get("model_priors_used", 0)),
            "verify_lookups": int(counters.get("verify_lookups", 0)),
            # answers predicted from a slot's cycle without a lookup (agentcl/agent/verify.py), and how many were wrong
            "cycle_predictions": {"answered": int(counters.get("cycle_answers", 0)),
                                  "wrong": int(counters.get("cycle_misses", 0))},
            # the local model's guesses, made in the shadow of every task and checked against its outcome
            "model_guesses": {"checked": sum(a.prior_trust.checked for a in agents),
                              "right": sum(a.prior_trust.right for a in agents)},
            "seconds": round(seconds, 2),
            "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        })
        if include_records:
            report["records"] = [r.to_dict() for r in records]
    finally:
        if own_store:
            store.close()
    if save:
        report["report_path"] = str(save_report(report))
    return report
