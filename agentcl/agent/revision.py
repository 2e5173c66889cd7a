"""What the revise stage learns, on its own (the stage itself, `Agent.revise`, dispatches to `Revision`):

- a lookup's answer becomes a fact, with its expiry when the world gives one;
- a fact answer: success confirms the fact relied on, a correction supersedes it, a bare "wrong" doubts it;
- a tool call: the outcome goes to the registry and the bandit; success confirms the tool and parameter
  names it relied on, an error that names a replacement or renamed parameters is learnt from, and one
  that explains nothing doubts the tool usually used;
- the local model's shadow guess is scored against what the task revealed (its trust record)."""
from __future__ import annotations

from agentcl.agent import bandit
from agentcl.agent.knowledge import TRUSTED, Knowledge
from agentcl.agent.percept import Percept
from agentcl.agent.prior import PriorTrust
from agentcl.agent.run_state import RunState
from agentcl.agent.tool_learning import renames_from_error, replacement_from_error
from agentcl.agent.toolbox import Toolbox
from agentcl.envs.base import Action, Feedback, Observation, ToolCall
from memory_store import Fact
from memory_store.timeparse import parse_time


class Revision:
    """What a finished attempt teaches: writes to memory (knowledge), the registry (toolbox), the bandit arms,
    the usages and counters (run state), and the local model's track record (prior trust)."""

    def __init__(self, state: RunState, knowledge: Knowledge, toolbox: Toolbox, prior_trust: PriorTrust):
        self.state = state
        self.knowledge = knowledge
        self.toolbox = toolbox
        self.prior_trust = prior_trust

    def check_model_guess(self, percept: Percept, action: Action, fb: Feedback) -> None:
        """Score the local model's shadow guess for this task against what the task revealed."""
        guess, obs = percept.model_guess, percept.observation
        if guess is None:
            return
        if obs.kind == "fact" and obs.query is not None:
            key = ("fact", obs.query.subject, obs.query.predicate)
            looked_up = [a.result.output.get("value") for a in percept.context.attempts
                         if a.result is not None and a.result.ok and a.result.tool == self.state.lookup
                         and isinstance(a.result.output, dict)]
            truth = (action.answer if fb.correct else fb.correction.value if fb.correction is not None
                     else looked_up[-1] if looked_up else None)
            if truth is not None:
                self.prior_trust.record(key, guess, truth)
            elif action.answer is not None and guess.casefold() == action.answer.strip().casefold():
                self.prior_trust.record_outcome(key, False)  # the guess was given, and was wrong
        elif obs.request is not None and action.tool_call is not None:
            key = ("tool", obs.request.operation)
            if fb.correct:
                self.prior_trust.record(key, guess, action.tool_call.name)
            elif guess == action.tool_call.name:
                self.prior_trust.record_outcome(key, False)

    def learn_lookup(self, fb: Feedback, info: dict, percept: Percept | None = None) -> None:
        """A lookup's answer becomes a fact; the task's percept (if any) no longer holds the slot's current fact."""
        result = fb.tool_result
        if result is None or not result.ok or not isinstance(result.output, dict):
            return
        out = result.output
        expires = parse_time(out["valid_until"]) if out.get("valid_until") else None
        res = self.knowledge.learn(out["subject"], out["predicate"], str(out["value"]), source="lookup",
                                   valid_from=self.state.world_time, expires_at=expires)
        if percept is not None and percept.belief_slot == (out["subject"], out["predicate"]):
            percept.belief_slot = None
        info.setdefault("learned", []).append({"fact": [out["subject"], out["predicate"], out["value"]],
                                "action": res.action if res else None})

    def relied_on(self, percept: Percept) -> Fact | None:
        """The fact the answer relied on: the one perceived, carried in the percept; read again only when
        this task wrote to the slot since (or the percept is for another slot)."""
        q = percept.observation.query
        slot = (q.subject, q.predicate)
        if percept.belief_slot != slot:
            percept.belief, percept.belief_slot = self.knowledge.recall(*slot), slot
        return percept.belief

    def revise_fact(self, obs: Observation, action: Action, fb: Feedback, percept: Percept, info: dict) -> None:
        q = obs.query
        used = self.relied_on(percept)
        percept.belief_slot = None  # what follows confirms, doubts or supersedes it: a further attempt reads again
        answered = (action.answer or "").strip()
        if fb.correct:
            if used is not None and used.object.strip().casefold() == answered.casefold():
                self.knowledge.confirm(used)
            elif answered:
                res = self.knowledge.learn(q.subject, q.predicate, answered, source="feedback",
                                           valid_from=self.state.world_time)
                if res is not None:
                    self.knowledge.confirm(res.fact)
            return
        if fb.correction is not None:
            c = fb.correction
            if self.knowledge.mode == "append":
                self.knowledge.doubt(used)
            # A value with a natural lifetime (the slot's earlier values expired) comes here without its end:
            # learnt, but below trust, so it is re-verified (and its expiry learnt) before it is relied on.
            lifetime = self.knowledge.has_lifetime(c.subject, c.predicate)
            res = self.knowledge.learn(c.subject, c.predicate, c.value, source="feedback", valid_from=self.state.world_time,
                                       confidence=TRUSTED * 0.8 if lifetime else 1.0)
            info["learned"].append({"correction": [c.subject, c.predicate, c.value], "action": res.action if res else None})
        else:
            self.knowledge.doubt(used)
            info["learned"].append({"doubt": [q.subject, q.predicate, answered]})
        self.knowledge.reflect(f"Answered {answered!r} to {obs.text!r} and was told: {fb.message}",
                               occurred_at=self.state.world_time, metadata={"task": obs.task_id, "step": obs.step})

    def revise_tool(self, obs: Observation, call: ToolCall, fb: Feedback, info: dict) -> None:
        op = obs.request.operation
        inputs = obs.request.inputs
        arms = self.state.arms.setdefault(op, {})
        error = fb.tool_error
        self.toolbox.record(call.name, ok=bool(fb.correct), error_kind=(error or {}).get("code") if error else
                            (None if fb.correct else "wrong_result"), task=obs.text, args=call.arguments)
        if fb.correct:
            bandit.update(arms, call.name, 1.0)
            self.state.last_used[op] = obs.step
            # Success validates what the call relied on: the tool for the operation, its parameter names.
            self.knowledge.learn_tool_for(op, call.name, source="feedback", when=self.state.world_time)
            self.knowledge.confirm_renames(call.name, {k for k in call.arguments if k not in inputs})
            self.learn_argument_names(call, inputs, info)
            self.state.usages.append({"task": obs.text, "skill": call.name, "args": dict(call.arguments)})
            return
        bandit.update(arms, call.name, 0.0)
        if not self.learn_from_tool_error(op, call, inputs, error, info):
            self.state.failed_tool = (op, call.name, dict(inputs))  # explore may try another tool for it
        self.knowledge.reflect(f"Called {call.name}({call.arguments}) for {obs.text!r} and got: {fb.message}",
                               occurred_at=self.state.world_time, metadata={"task": obs.task_id, "step": obs.step,
                                                                      "tool": call.name})

    def learn_argument_names(self, call: ToolCall, inputs: dict, info: dict) -> None:
        known = self.knowledge.renames(call.name)
        for canonical, value in inputs.items():
            sent = next((k for k, v in call.arguments.items() if v == value and k != canonical), None)
            if sent and known.get(canonical) != sent and canonical not in call.arguments:
                self.knowledge.learn_rename(call.name, canonical, sent, source="feedback", when=self.state.world_time)
                info["learned"].append({"param": [call.name, canonical, sent]})

    def learn_from_tool_error(self, op: str, call: ToolCall, inputs: dict, error: dict | None, info: dict) -> bool:
        """Learn what a failed call's error says (a replacement tool, renamed parameters); False when it
        explains nothing, and the tool usually used for the operation is doubted instead."""
        info.setdefault("learned", [])
        replacement = replacement_from_error(error)
        if replacement:
            self.knowledge.learn_tool_for(op, replacement, source="tool_error", when=self.state.world_time)
            self.toolbox.note(call.name, f"deprecated: use {replacement} instead")
            self.state.counters["replacements_learned"] += 1
            info["learned"].append({"replacement": [call.name, replacement]})
            return True
        renames = renames_from_error(error)
        if renames:
            sent_to_canonical = {}
            for canonical, value in inputs.items():
                for k, v in call.arguments.items():
                    if v == value:
                        sent_to_canonical.setdefault(k, canonical)
            for old, new in renames.items():
                canonical = sent_to_canonical.get(old, old)
                self.knowledge.learn_rename(call.name, canonical, new, source="tool_error", when=self.state.world_time)
                self.toolbox.note(call.name, f"parameter {old!r} is now {new!r}")
                self.state.counters["renames_learned"] += 1
                info["learned"].append({"rename": [call.name, old, new]})
            return True
        known = self.knowledge.tool_for(op)
        if known is not None and known.object == call.name:  # the usual tool failed: try others next time
            self.knowledge.doubt(known, by=0.6)
        return False
