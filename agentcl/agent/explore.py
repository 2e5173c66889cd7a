"""The explore stage of the agent, on its own: what it does with its exploration budget.

- try another tool when the usual one failed and its error explained nothing;
- re-verify doubted facts (an announced change, a wrong answer); values merely at risk are checked when
  asked, by the verify rule (agentcl/agent/verify.py);
- practise tools not used for a while, so a change made while they were idle is found before a task
  needs them.

Every exploration action (a lookup or a tool call outside any task) costs one unit of a budget that grows
by `AgentConfig.explore_budget` per task step."""
from __future__ import annotations

from agentcl.agent import bandit
from agentcl.agent.knowledge import TRUSTED
from agentcl.agent.plugins import dispatch
from agentcl.envs.base import Feedback, Observation, ToolCall
from memory_store.audit import at_risk, change_intervals

TOOL_SUBJECTS = ("operation ", "tool ")  # the agent's own tool knowledge, not facts of the world


class Exploration:
    """Mixed into `Agent`: uses its knowledge, toolbox, bandit arms, counters and events."""
    def explore_budget_total(self) -> float:
        """Exploration actions allowed so far: `explore_budget` per task step seen."""
        return self.config.explore_budget * (self.step_index + 1)

    def _can_explore(self) -> bool:
        return self.knowledge.enabled and self.explore_spent < self.explore_budget_total()

    def explore(self, env, obs: Observation) -> None:
        """Spend the exploration budget: try another tool when the usual one failed for no reason its
        error gives, re-verify doubted facts, practise tools not used for a while."""
        info = {"observation": obs, "actions": [], "learned": []}
        dispatch(self.plugins, "before_explore", self, info)
        failed, self._failed_tool = self._failed_tool, None
        if failed is not None and self._can_explore():
            self._try_alternative(env, *failed, info)
        if self._can_explore() and obs.step % self.config.reverify_every == 0:
            self._reverify(env, info)
        if self._can_explore():
            self._practise(env, obs.step, info)
        dispatch(self.plugins, "after_explore", self, info)
        self._event("explore", {"actions": info["actions"], "learned": info["learned"], "spent": self.explore_spent,
                                "budget": round(self.explore_budget_total(), 2)})

    def _try_alternative(self, env, op: str, failed_tool: str, inputs: dict, info: dict) -> None:
        """The usual tool failed and its error explains nothing: call the best other candidate once, outside
        the task, and adopt it for the operation if it works."""
        ranked = [n for n in self._rank_tools(op, op.replace("_", " ")) if n != failed_tool]
        if not ranked:
            return
        call = ToolCall(ranked[0], self._arguments(ranked[0], inputs))
        result = env.execute_tool(call)
        self.explore_spent += 1
        self.counters["alternative_calls"] += 1
        bandit.update(self.arms.setdefault(op, {}), call.name, 1.0 if result.ok else 0.0)
        if result.ok:
            self.knowledge.learn_tool_for(op, call.name, source="exploration", when=self.world_time)
        else:
            self._learn_from_tool_error(op, call, inputs, result.error, info)
        info["actions"].append({"alternative": op, "tool": call.name, "instead_of": failed_tool, "ok": result.ok})

    def _reverify(self, env, info: dict) -> None:
        everything = self.store.facts(namespace=self.config.namespace, status="all")
        world = [f for f in everything if not f.subject.startswith(TOOL_SUBJECTS)]
        active = [f for f in world if f.status == "active"]
        # Doubted facts (an announced change, a wrong answer): they would be looked up when next asked anyway.
        # Values merely at risk are not checked here but when asked (agentcl/agent/verify.py): a value that
        # passes the verify rule is looked up then anyway, so checking it now only moves that lookup earlier,
        # or wastes it when the value is not asked again before it changes; one below the rule is not worth a
        # lookup at all. (Measured on generated harsh worlds: checking rule-passing values here too cost
        # more lookups and more stale answers; README, `bench drift`.)
        risky = [{"subject": f.subject, "predicate": f.predicate} for f in active if f.confidence < TRUSTED]
        if self.verifier.mode == "trust":  # the agent before the verify rule: the most overdue by the audit's signal
            risky += sorted(at_risk(active, change_intervals(world), self.store.now()),
                            key=lambda r: -r["unchecked_for_s"] / max(r["typical_change_s"], 1.0))
        if not risky or self.lookup not in {s.name for s in env.tools()}:
            return
        target = risky[0]
        result = env.execute_tool(ToolCall(self.lookup, {"subject": target["subject"], "predicate": target["predicate"]}))
        self.explore_spent += 1
        self.counters["explore_lookups"] += 1
        if result.ok:
            self._learn_lookup(Feedback(step=self.step_index, task_id="explore", correct=None, message="",
                                        tool_result=result), info)
        info["actions"].append({"reverify": [target["subject"], target["predicate"]], "ok": result.ok})

    def _practise(self, env, step: int, info: dict) -> None:
        """Call the tool of the operation unused for longest (with its last task's inputs), so a change made
        while it was idle is found before a task needs it."""
        stale = [op for op, last in self.last_used.items() if step - last >= self.config.practice_after]
        if not stale:
            return
        op = min(stale, key=lambda o: self.last_used[o])
        inputs = self.last_inputs.get(op)
        ranked = self._rank_tools(op, op.replace("_", " "))
        if not inputs or not ranked:
            return
        call = ToolCall(ranked[0], self._arguments(ranked[0], inputs))
        result = env.execute_tool(call)
        self.explore_spent += 1
        self.counters["practice_calls"] += 1
        if result.ok:
            self.last_used[op] = step
            self.knowledge.learn_tool_for(op, call.name, source="practice", when=self.world_time)
        else:
            self._learn_from_tool_error(op, call, inputs, result.error, info)
            self.last_used[op] = step - self.config.practice_after + 1  # retry soon, not every step
        info["actions"].append({"practise": op, "tool": call.name, "ok": result.ok})
