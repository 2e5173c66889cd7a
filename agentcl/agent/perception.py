"""The perceive stage's work for a structured task (`Agent.perceive` dispatches here): for a question,
what memory holds for the slot (and whether to verify it first) or else the local model's guess; for a
tool task, the tools ranked (the local model's guess counting when its record earns trust) and the
arguments mapped. `model` is the promoted local model in use (None before the first consolidation)."""
from __future__ import annotations

from typing import Any

from agentcl.agent.config import AgentConfig
from agentcl.agent.knowledge import TRUSTED, Knowledge
from agentcl.agent.percept import Percept
from agentcl.agent.prior import PriorTrust
from agentcl.agent.run_state import RunState
from agentcl.agent.tool_choice import ToolChoice
from agentcl.agent.toolbox import Toolbox
from agentcl.agent.verify import VerifyGate
from agentcl.envs.base import Observation
from agentcl.policies.base import ContextItem
from memory_store import MemoryStore


class Perception:
    def __init__(self, state: RunState, config: AgentConfig, store: MemoryStore, knowledge: Knowledge,
                 toolbox: Toolbox, verifier: VerifyGate, prior_trust: PriorTrust, tool_choice: ToolChoice):
        self.state = state
        self.config = config
        self.store = store
        self.knowledge = knowledge
        self.toolbox = toolbox
        self.verifier = verifier
        self.prior_trust = prior_trust
        self.tool_choice = tool_choice
        self.model: Any = None

    def fact(self, obs: Observation, percept: Percept) -> None:
        """A question about a slot: the remembered fact (verified first when the verify rule says so), or
        the local model's guess, trusted only on a clean record for the slot."""
        q = obs.query
        fact = self.knowledge.recall(q.subject, q.predicate)
        percept.belief, percept.belief_slot = fact, (q.subject, q.predicate)  # carried into revise
        ctx = percept.context
        value, confidence = self._model_fact(obs.text)
        percept.model_guess = value
        if value is not None:
            ctx.prior = value
        if fact is not None:
            ctx.facts = [ContextItem(text=fact.text, kind="fact", id=fact.id,
                                     metadata={"confidence": fact.confidence, "source": fact.source})]
            trusted = fact.confidence >= TRUSTED
            if trusted:  # trusted, but maybe changed since: verify when a stale answer costs more than a lookup
                decision = self.verifier.decide(self.store, self.config.namespace, fact, step=obs.step)
                ctx.hints["verify"] = decision.to_hint()
                if decision.verify:
                    trusted = False
                    self.verifier.record_lookup()
                    self.state.counters["verify_lookups"] += 1
            ctx.hints["belief"] = {"value": fact.object, "source": "memory", "confidence": fact.confidence,
                                   "trusted": trusted}
        elif self._cycle(q.subject, q.predicate, percept):
            pass
        elif value is not None:
            # Trusted only with a clean track record on this slot, and never for a value memory holds as
            # expired or superseded (one the model has not unlearned yet).
            trusted = (confidence >= self.config.prior_confidence and self.prior_trust.trusted(("fact", q.subject, q.predicate))
                       and not self.knowledge.known_stale(q.subject, q.predicate, value))
            ctx.hints["belief"] = {"value": value, "source": "model", "confidence": confidence, "trusted": trusted}
            self.state.counters["model_priors_used"] += int(trusted)

    def _cycle(self, subject: str, predicate: str, percept: Percept) -> bool:
        """No current value: the one the slot's cycle predicts, trusted when a wrong one costs less than a
        lookup (verify.py); False when the slot shows no cycle."""
        prediction, decision = self.verifier.predict_cycle(self.store, self.config.namespace, subject, predicate)
        if prediction is None:
            return False
        ctx = percept.context
        ctx.hints["verify"] = decision.to_hint()
        ctx.hints["belief"] = {"value": prediction.value, "source": "cycle", "confidence": prediction.p_right,
                               "trusted": not decision.verify}
        if not decision.verify:
            percept.cycle = prediction
            self.state.counters["cycle_answers"] += 1
        return True

    def settle_cycle(self, percept: Percept, answer: str | None, correct: bool | None) -> None:
        """A graded answer that relied on a cycle prediction: a right one is learnt with its predicted end (it
        joins the slot's history), a wrong one is recorded against the cycle."""
        prediction, q = percept.cycle, percept.observation.query
        if prediction is None or correct is None or (answer or "").strip().casefold() != prediction.value.strip().casefold():
            return
        self.verifier.record_prediction(self.config.namespace, q.subject, q.predicate, correct)
        if correct:
            self.knowledge.learn(q.subject, q.predicate, prediction.value, source="cycle",
                                 valid_from=self.state.world_time, expires_at=prediction.valid_until)
        else:
            self.state.counters["cycle_misses"] += 1

    def _model_fact(self, text: str) -> tuple[str | None, float]:
        if self.model is None or not self.config.use_model_prior:
            return None, 0.0
        return self.model.predict_fact(text)

    def tool(self, obs: Observation, percept: Percept) -> None:
        """A task for a tool: the offered tools ranked, the first one's arguments and known renames."""
        op = obs.request.operation
        self.state.last_inputs[op] = dict(obs.request.inputs)
        ranked = self.tool_choice.rank(op, obs.text, skill_prior=self._skill_prior(op, obs.text, percept))
        ctx = percept.context
        by_name = {s.name: s for s in ctx.tools}
        ctx.tools = [by_name[n] for n in ranked if n in by_name] + [s for s in ctx.tools if s.name not in ranked]
        if ranked:
            percept.tool = ranked[0]
            args = self.tool_choice.arguments(ranked[0], obs.request.inputs)
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
