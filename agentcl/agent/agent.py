"""The learning agent: perceive -> act -> feedback -> revise -> explore, every stage a method a user can
override or hook (AgentPlugin), every stage logged as an event in the store.

What it learns goes into the versioned store (facts, including how to call tools, and reflection
notes) and the skill registry (outcomes, usage examples, usage notes); every N steps a consolidation
distils validated memories into the local model, whose prior the perceive stage consults."""
from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from agentcl.agent import bandit
from agentcl.agent.config import AgentConfig
from agentcl.agent.explore import TOOL_SUBJECTS, Exploration
from agentcl.agent.knowledge import TRUSTED, Knowledge
from agentcl.agent.lm_consolidation import consolidate_policy_lm
from agentcl.agent.plugins import AgentPlugin, dispatch
from agentcl.agent.prior import PriorTrust
from agentcl.agent.revision import Revision
from agentcl.agent.text_tasks import retrieve_facts, revise_text_task
from agentcl.agent.tool_learning import map_arguments
from agentcl.agent.toolbox import Toolbox
from agentcl.agent.verify import VerifyGate
from agentcl.envs.base import Action, Feedback, Observation
from agentcl.policies.base import Attempt, ContextItem, PolicyContext
from memory_store import MemoryStore
from memory_store.timeparse import parse_time, utcnow

LOOKUP = "lookup"  # default name of a world's truth-telling tool (DriftWorld lets scenarios rename it)


def lookup_tool_name(env) -> str:
    spec = getattr(env, "lookup_spec", None)
    return spec().name if callable(spec) else LOOKUP


@dataclass
class Percept:
    observation: Observation
    context: PolicyContext
    belief: Any = None  # the Fact a fact answer would rely on
    tool: str | None = None
    sent_args: dict = field(default_factory=dict)
    model_guess: str | None = None  # what the local model said (fact value or tool), checked once the task ends


class Agent(Exploration, Revision):
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
        self.arms: dict[str, dict[str, bandit.Arm]] = {}
        self.last_used: dict[str, int] = {}  # operation -> step of its last successful call
        self.last_inputs: dict[str, dict] = {}  # operation -> inputs of its last task (for practice)
        self.usages: list[dict] = []  # successful skill usages (consolidation examples)
        self.model = None
        self.prior_trust = PriorTrust(checks=self.config.prior_checks)
        self.verifier = VerifyGate(mode=self.config.verify, stale_cost=self.config.stale_cost,
                                   lookup_cost=self.config.lookup_cost, budget=self.config.verify_budget,
                                   exclude_subjects=TOOL_SUBJECTS)
        self.world_time: datetime | None = None
        self.lookup = LOOKUP
        self.episode = 0
        self.step_index = 0
        self.explore_spent = 0
        self.counters = {"explore_lookups": 0, "practice_calls": 0, "alternative_calls": 0, "renames_learned": 0,
                         "replacements_learned": 0, "model_priors_used": 0, "consolidations": 0,
                         "verify_lookups": 0}
        self._failed_tool: tuple[str, str, dict] | None = None  # (operation, tool, inputs) of an unexplained failure
        self.consolidation_reports: list[dict] = []
        self._events: list[dict] = []
        store.clock = lambda: self.world_time or utcnow()  # the world's clock, when it has one

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
            self._perceive_fact(obs, percept)
        elif obs.request is not None:
            self._perceive_tool(obs, percept)
        elif obs.kind == "fact":  # text only: no slot to recall by name, so retrieve by the question's text
            ctx.facts = retrieve_facts(self.knowledge, obs.text, self.config.retrieve_k)
        ctx.notes = [ContextItem.from_search_result(r) for r in
                     (self.knowledge.search_notes(obs.text, self.config.retrieve_k) if obs.kind == "fact" else [])]
        info.update(percept=percept)
        dispatch(self.plugins, "after_perceive", self, info)
        self._event("perceive", {"task": obs.task_id, "kind": obs.kind,
                                 "belief": ctx.hints.get("belief"), "tool": percept.tool,
                                 "candidates": [t.name for t in ctx.tools[:3]]})
        return percept

    def _perceive_fact(self, obs: Observation, percept: Percept) -> None:
        q = obs.query
        fact = self.knowledge.recall(q.subject, q.predicate)
        ctx = percept.context
        value, confidence = self._model_fact(obs.text)
        percept.model_guess = value
        if value is not None:
            ctx.prior = value
        if fact is not None:
            percept.belief = fact
            ctx.facts = [ContextItem(text=fact.text, kind="fact", id=fact.id,
                                     metadata={"confidence": fact.confidence, "source": fact.source})]
            trusted = fact.confidence >= TRUSTED
            if trusted:  # trusted, but maybe changed since: verify when a stale answer costs more than a lookup
                decision = self.verifier.decide(self.store, self.config.namespace, fact, step=obs.step)
                ctx.hints["verify"] = decision.to_hint()
                if decision.verify:
                    trusted = False
                    self.verifier.record_lookup()
                    self.counters["verify_lookups"] += 1
            ctx.hints["belief"] = {"value": fact.object, "source": "memory", "confidence": fact.confidence,
                                   "trusted": trusted}
        elif value is not None:
            # Trusted only with a clean track record on this slot, and never for a value memory holds as
            # expired or superseded (one the model has not unlearned yet).
            trusted = (confidence >= self.config.prior_confidence and self.prior_trust.trusted(("fact", q.subject, q.predicate))
                       and not self.knowledge.known_stale(q.subject, q.predicate, value))
            ctx.hints["belief"] = {"value": value, "source": "model", "confidence": confidence, "trusted": trusted}
            self.counters["model_priors_used"] += int(trusted)

    def _model_fact(self, text: str) -> tuple[str | None, float]:
        if self.model is None or not self.config.use_model_prior:
            return None, 0.0
        return self.model.predict_fact(text)

    def _perceive_tool(self, obs: Observation, percept: Percept) -> None:
        op = obs.request.operation
        self.last_inputs[op] = dict(obs.request.inputs)
        ranked = self._rank_tools(op, obs.text, skill_prior=self._skill_prior(op, obs.text, percept))
        ctx = percept.context
        by_name = {s.name: s for s in ctx.tools}
        ctx.tools = [by_name[n] for n in ranked if n in by_name] + [s for s in ctx.tools if s.name not in ranked]
        if ranked:
            percept.tool = ranked[0]
            args = self._arguments(ranked[0], obs.request.inputs)
            ctx.hints["arguments"] = {ranked[0]: args}
            ctx.usage = {ranked[0]: [f"{k} -> {v}" for k, v in self.knowledge.renames(ranked[0]).items()]}

    def _skill_prior(self, operation: str, text: str, percept: Percept) -> str | None:
        """The promoted local model's guess of the tool for a task, when its track record for the
        operation earns trust (None otherwise); the guess is kept to be checked when the task ends."""
        if self.model is None or not self.config.use_model_prior:
            return None
        name, _, confidence = self.model.predict_skill(text)
        name = self.toolbox.tool_name(name) if name else None
        percept.model_guess = name
        if (name is None or confidence < self.config.prior_confidence or name not in self.toolbox.specs
                or not self.prior_trust.trusted(("tool", operation))):
            return None
        percept.context.hints["skill_prior"] = {"tool": name, "confidence": confidence}
        return name

    def _rank_tools(self, operation: str, text: str, *, skill_prior: str | None = None) -> list[str]:
        """The known tool for the operation first; otherwise a UCB bandit over skill-search candidates,
        the local model's guess (if any) counting as the best-ranked candidate."""
        usable = {s.name for s in self.toolbox.usable()} - {self.lookup}
        known = self.knowledge.tool_for(operation)
        if known is not None and known.object in usable and known.confidence >= TRUSTED:
            return [known.object]
        hits = self.toolbox.candidates(f"{operation.replace('_', ' ')}: {text}", k=3, exclude=(self.lookup,))
        prior = {n: s for n, s in hits}
        if skill_prior in usable:
            prior[skill_prior] = max(prior.values(), default=0.0) + 1.0
            if skill_prior not in [n for n, _ in hits]:
                hits = [(skill_prior, prior[skill_prior]), *hits]
        names = [n for n, _ in hits]
        if not names:
            return []
        arms = self.arms.setdefault(operation, {})
        first = bandit.ucb_choice(names, arms, prior=prior)
        return [first] + [n for n in names if n != first]

    def _arguments(self, tool: str, inputs: dict) -> dict:
        spec = self.toolbox.specs.get(tool)
        params = [p.name for p in spec.parameters] if spec else []
        descriptions = {p.name: p.description for p in spec.parameters} if spec else {}
        return map_arguments(inputs, params, learned=self.knowledge.renames(tool), descriptions=descriptions)

    def act(self, percept: Percept) -> Action:
        info = {"percept": percept}
        dispatch(self.plugins, "before_act", self, info)
        action = info.get("action") or self.policy.decide(percept.observation, percept.context)
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
            self._learn_lookup(fb, info)
        elif obs.kind == "fact" and obs.query is not None:
            self._revise_fact(obs, action, fb, percept, info)
        elif obs.request is not None and call is not None:
            self._revise_tool(obs, call, fb, info)
        elif obs.query is None and obs.request is None:
            revise_text_task(self, obs, action, fb, percept.context, info)
        if fb.task_done:
            self._check_model_guess(percept, action, fb)
        dispatch(self.plugins, "after_revise", self, info)
        self._event("revise", {"learned": info["learned"]})

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
            self.store.log_events(self._events)
            self._events = []


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)
