"""The learning agent: perceive -> act -> feedback -> revise -> explore, every stage a method a user can
override or hook (AgentPlugin), every stage logged as an event in the store.

What it learns goes into the versioned store (facts, including how to call tools, and reflection
notes) and the skill registry (outcomes, usage examples, usage notes); every N steps a consolidation
distils validated memories into the local model, whose prior the perceive stage consults."""
from __future__ import annotations

import time
import uuid
from typing import Any

from agentcl.agent.config import AgentConfig
from agentcl.agent.event_log import EventLog
from agentcl.agent.explore import Exploration
from agentcl.agent.knowledge import Knowledge
from agentcl.agent.lm_consolidation import consolidate_policy_lm
from agentcl.agent.percept import Percept
from agentcl.agent.perception import Perception
from agentcl.agent.plugins import AgentPlugin, dispatch
from agentcl.agent.prior import PriorTrust
from agentcl.agent.revision import Revision
from agentcl.agent.run_state import LOOKUP, RunState
from agentcl.agent.text_tasks import ground_text_lookup, retrieve_facts, revise_text_task
from agentcl.agent.tool_choice import ToolChoice
from agentcl.agent.tool_facts import TOOL_SUBJECT_PREFIXES
from agentcl.agent.toolbox import Toolbox
from agentcl.agent.verify import VerifyGate
from agentcl.envs.base import Action, Feedback, Observation
from agentcl.policies.base import Attempt, ContextItem, PolicyContext
from memory_store import MemoryStore
from memory_store.facade import attribute_of
from memory_store.timeparse import parse_time, utcnow


def lookup_tool_name(env) -> str:
    spec = getattr(env, "lookup_spec", None)
    return spec().name if callable(spec) else LOOKUP


class Agent:
    """The loop and its stages. The work of a stage is done by small services with explicit
    dependencies, all sharing one RunState (run_state.py; its fields are the agent's attributes of the
    same name): ToolChoice (tool_choice.py: rank tools, map arguments), Perception (perception.py: what
    memory and the local model say for a task), Revision (revision.py: what an attempt teaches),
    Exploration (explore.py: spend the exploration budget)."""

    def __init__(self, store: MemoryStore, policy, *, registry=None, config: AgentConfig | None = None,
                 plugins: list[AgentPlugin] | None = None, run_id: str | None = None):
        self.store = store
        self.policy = policy
        self.config = config or AgentConfig()
        self.plugins = list(plugins or [])
        self.run_id = run_id or uuid.uuid4().hex[:12]
        self.knowledge = Knowledge(store, self.config.namespace, self.config.memory)
        if hasattr(registry, "for_namespace"):  # what it learns about its tools stays in its namespace, like its memory
            registry = registry.for_namespace(self.config.namespace)
        self.toolbox = Toolbox(registry=registry, embedder=store.embedder, source=self.config.env_name)
        self.registry = registry
        self.prior_trust = PriorTrust(checks=self.config.prior_checks)
        self.verifier = VerifyGate(mode=self.config.verify, stale_cost=self.config.stale_cost,
                                   lookup_cost=self.config.lookup_cost, budget=self.config.verify_budget,
                                   exclude_subjects=TOOL_SUBJECT_PREFIXES)
        self.state = RunState()
        self.tool_choice = ToolChoice(self.state, self.knowledge, self.toolbox)
        self.revision = Revision(self.state, self.knowledge, self.toolbox, self.prior_trust)
        self.perception = Perception(self.state, self.config, store, self.knowledge, self.toolbox, self.verifier,
                                     self.prior_trust, self.tool_choice)
        self.exploration = Exploration(self.state, self.config, store, self.knowledge, self.verifier,
                                       self.tool_choice, self.revision)
        self.consolidation_reports: list[dict] = []
        self._events: list[dict] = []
        self.event_log = EventLog(store.engine)  # the agent's own table, on the store's database
        store.clock = lambda: self.world_time or utcnow()  # the world's clock, when it has one

    # -- the run state, shared by the services -----------------------------------------------
    lookup = attribute_of("state", "lookup", settable=True)
    world_time = attribute_of("state", "world_time", settable=True)
    episode = attribute_of("state", "episode", settable=True)
    step_index = attribute_of("state", "step_index", settable=True)
    explore_spent = attribute_of("state", "explore_spent", settable=True)
    arms = attribute_of("state", "arms", settable=True)
    last_used = attribute_of("state", "last_used", settable=True)
    last_inputs = attribute_of("state", "last_inputs", settable=True)
    usages = attribute_of("state", "usages", settable=True)
    counters = attribute_of("state", "counters", settable=True)
    model = attribute_of("perception", "model", settable=True)  # the promoted local model in use

    # -- the loop ----------------------------------------------------------------------------
    def run_episode(self, env, *, seed: int | None = None, on_step=None) -> None:
        obs = env.reset(seed)
        self.lookup = lookup_tool_name(env)
        dispatch(self.plugins, "before_episode", self, {"episode": self.episode, "seed": seed})
        while obs is not None:
            obs = self.step(env, obs)
            if on_step:
                on_step(self.step_index)
        dispatch(self.plugins, "after_episode", self, {"episode": self.episode})
        self.flush_events()
        self.episode += 1

    def step(self, env, obs: Observation) -> Observation | None:
        self.step_index = obs.step
        self.world_time = parse_time(obs.time) if obs.time else None
        percept = self.perceive(env, obs)
        while True:
            action = self.act(percept)
            feedback = self.feedback(env, percept, action)
            self.revise(percept, action, feedback)
            if feedback.task_done or feedback.next_observation is None:
                break
            percept.observation = feedback.next_observation
        self.explore(env, obs)
        self._maybe_consolidate(obs.step)
        if len(self._events) >= 200:
            self.flush_events()
        return feedback.next_observation

    # -- stages ------------------------------------------------------------------------------
    def perceive(self, env, obs: Observation) -> Percept:
        info = {"observation": obs}
        dispatch(self.plugins, "before_perceive", self, info)
        for notice in obs.notices:  # an announced change: what we remember of that slot is now doubtful
            self.knowledge.doubt(self.knowledge.recall(notice.subject, notice.predicate), by=1.0)
        self.toolbox.sync(env.tools())
        ctx = PolicyContext(tools=list(self.toolbox.specs.values()), hints={"lookup_tool": self.lookup})
        percept = Percept(observation=obs, context=ctx)
        if obs.kind == "fact" and obs.query is not None:
            self.perception.fact(obs, percept)
        elif obs.request is not None:
            self.perception.tool(obs, percept)
        elif obs.kind == "fact":  # text only: no slot to recall by name, so retrieve by the question's text
            ctx.facts = retrieve_facts(self.knowledge, obs.text, self.config.retrieve_k)
        else:  # a text-only tool task: the tools ranked for its text, best first (a policy may offer the first only)
            ranked = self.toolbox.rank_tools(obs.text, exclude=(self.lookup,))
            by_name = {s.name: s for s in ctx.tools}
            ctx.tools = [by_name[n] for n in ranked] + [s for s in ctx.tools if s.name not in ranked]
        ctx.notes = [ContextItem.from_search_result(r) for r in
                     (self.knowledge.search_notes(obs.text, self.config.retrieve_k) if obs.kind == "fact" else [])]
        info.update(percept=percept)
        dispatch(self.plugins, "after_perceive", self, info)
        self._event("perceive", {"task": obs.task_id, "kind": obs.kind,
                                 "belief": ctx.hints.get("belief"), "tool": percept.tool,
                                 "candidates": [t.name for t in ctx.tools[:3]]})
        return percept

    def act(self, percept: Percept) -> Action:
        info = {"percept": percept}
        dispatch(self.plugins, "before_act", self, info)
        action = info.get("action") or ground_text_lookup(self, percept.observation, percept.context,
                                                          self.policy.decide(percept.observation, percept.context))
        info["action"] = action
        dispatch(self.plugins, "after_act", self, info)
        action = info["action"]
        if action.tool_call is not None:
            percept.sent_args = dict(action.tool_call.arguments)
        self._event("act", {"answer": action.answer, "tool": action.tool_call.name if action.tool_call else None,
                            "args": action.tool_call.arguments if action.tool_call else None,
                            "why": action.rationale})
        return action

    def feedback(self, env, percept: Percept, action: Action) -> Feedback:
        dispatch(self.plugins, "before_feedback", self, {"percept": percept, "action": action})
        started = time.perf_counter()
        fb = env.step(action)
        percept.context.attempts.append(Attempt(action=action, result=fb.tool_result, message=fb.message))
        info = {"percept": percept, "action": action, "feedback": fb, "latency_ms": (time.perf_counter() - started) * 1000}
        dispatch(self.plugins, "after_feedback", self, info)
        self._event("feedback", {"correct": fb.correct, "message": fb.message[:200], "done": fb.task_done})
        return fb

    def revise(self, percept: Percept, action: Action, fb: Feedback) -> None:
        info = {"percept": percept, "action": action, "feedback": fb, "learned": []}
        dispatch(self.plugins, "before_revise", self, info)
        obs = percept.observation
        call = action.tool_call
        if call is not None and call.name == self.lookup:
            self.verifier.observe_cost(fb.cost)
            self.revision.learn_lookup(fb, info, percept)
        elif obs.kind == "fact" and obs.query is not None:
            self.perception.settle_cycle(percept, action.answer, fb.correct)  # before revise_fact recalls the slot
            self.revision.revise_fact(obs, action, fb, percept, info)
        elif obs.request is not None and call is not None:
            self.revision.revise_tool(obs, call, fb, info)
        elif obs.query is None and obs.request is None:
            revise_text_task(self, obs, action, fb, percept.context, info)
        if fb.task_done:
            self.revision.check_model_guess(percept, action, fb)
        dispatch(self.plugins, "after_revise", self, info)
        self._event("revise", {"learned": info["learned"]})

    # -- explore -----------------------------------------------------------------------------
    def explore_budget_total(self) -> float:
        """Exploration actions allowed so far: `explore_budget` per task step seen."""
        return self.exploration.budget_total()

    def explore(self, env, obs: Observation) -> None:
        """Spend the exploration budget: try another tool when the usual one failed for no reason its
        error gives, re-verify facts at risk, practise tools not used for a while."""
        info = {"observation": obs, "actions": [], "learned": []}
        dispatch(self.plugins, "before_explore", self, info)
        self.exploration.run(env, obs, info)
        dispatch(self.plugins, "after_explore", self, info)
        self._event("explore", {"actions": info["actions"], "learned": info["learned"], "spent": self.explore_spent,
                                "budget": round(self.explore_budget_total(), 2)})

    # -- consolidation -----------------------------------------------------------------------
    def _maybe_consolidate(self, step: int) -> None:
        every = self.config.consolidate_every
        if every and (step + 1) % every == 0 and self.knowledge.enabled:
            self.consolidate()

    def consolidate(self) -> dict:
        from agentcl.consolidation import ConsolidationConfig, consolidate
        from agentcl.consolidation.lock import ConsolidationSkipped
        from agentcl.consolidation.pin import guard
        from agentcl.consolidation.trust import trusted_sources
        from agentcl.model import load_promoted

        if getattr(self.policy, "lm", None) is not None:  # the policy is a local LM: consolidate into it
            return self._record_consolidation(consolidate_policy_lm(self))
        config = ConsolidationConfig(strategy="replay" if self.config.consolidation_replay else "naive",
                                     trusted_sources=trusted_sources(self.store.home))
        try:  # the same checks as `agentcl consolidate run`: a rollback's pin, another job's lock
            guard(self.store, self.registry, namespace=self.config.namespace, home=self.store.home,
                  min_validations=config.min_validations, trusted_sources=config.trusted_sources)
            # With a registry, every successful call is already there as a usage example (under its registry
            # name); the agent's own list is for registry-less runs, so no usage is learned twice.
            report = consolidate(self.store, self.registry, namespace=self.config.namespace,
                                 device=self.config.device, config=config,
                                 usages=self.usages if self.registry is None else [])
        except ConsolidationSkipped as exc:
            self._event("consolidate", {"skipped": True, "reason": str(exc)})
            return {"skipped": True, "reason": str(exc)}
        self.model = load_promoted(self.store.home, namespace=self.config.namespace, embedder=self.store.embedder)
        return self._record_consolidation(report)

    def _record_consolidation(self, report) -> dict:
        if isinstance(report, dict) and report.get("skipped"):
            self._event("consolidate", report)
            return report
        data = report.to_dict() if hasattr(report, "to_dict") else dict(report)
        self.consolidation_reports.append(data)
        self.counters["consolidations"] += 1
        if data.get("promoted", True) or getattr(self.policy, "lm", None) is None:
            self.usages = []  # learned (a refused LM round keeps them for the next one)
        dispatch(self.plugins, "after_consolidation", self, {"report": data})
        self._event("consolidate", {k: data.get(k) for k in ("promoted", "reason", "examples", "stale_detected")})
        return data

    # -- events ------------------------------------------------------------------------------
    def _event(self, stage: str, payload: dict) -> None:
        if self.config.log_events:
            self._events.append({"namespace": self.config.namespace, "run_id": self.run_id, "episode": self.episode,
                                 "step": self.step_index, "stage": stage, "payload": _jsonable(payload)})

    def flush_events(self) -> None:
        if self._events:
            self.event_log.log_events(self._events)
            self._events = []

    def events(self, run_id: str | None = None, *, stage: str | None = None) -> list[dict]:
        """Logged events of `run_id` (default: this agent's run) in this agent's namespace."""
        return self.event_log.events(run_id or self.run_id, namespace=self.config.namespace, stage=stage)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)
