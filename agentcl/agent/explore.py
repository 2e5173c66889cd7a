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
from agentcl.agent.config import AgentConfig
from agentcl.agent.knowledge import TRUSTED, Knowledge
from agentcl.agent.revision import Revision
from agentcl.agent.run_state import RunState
from agentcl.agent.tool_choice import ToolChoice
from agentcl.agent.tool_facts import is_tool_subject
from agentcl.agent.verify import VerifyGate
from agentcl.envs.base import Feedback, Observation, ToolCall
from memory_store import MemoryStore
from memory_store.audit import at_risk, change_intervals


class Exploration:
    """Spends the exploration budget. Uses memory (knowledge, the store's history), the verify gate's
    costs, tool choice, what revision learns from a result, and the run state (budget, arms, counters)."""

    def __init__(self, state: RunState, config: AgentConfig, store: MemoryStore, knowledge: Knowledge,
                 verifier: VerifyGate, tool_choice: ToolChoice, revision: Revision):
        self.state = state
        self.config = config
        self.store = store
        self.knowledge = knowledge
        self.verifier = verifier
        self.tool_choice = tool_choice
        self.revision = revision

    def budget_total(self) -> float:
        """Exploration actions allowed so far: `explore_budget` per task step seen."""
        return self.config.explore_budget * (self.state.step_index + 1)

    def can_explore(self) -> bool:
        return self.knowledge.enabled and self.state.explore_spent < self.budget_total()

    def run(self, env, obs: Observation, info: dict) -> None:
        """Try another tool when the usual one failed for no reason its error gives, re-verify doubted
        facts, practise tools not used for a while; what was done goes to info["actions"]/["learned"]."""
        failed, self.state.failed_tool = self.state.failed_tool, None
        if failed is not None and self.can_explore():
            self.try_alternative(env, *failed, info)
        if self.can_explore() and obs.step % self.config.reverify_every == 0:
            self.reverify(env, info)
        if self.can_explore():
            self.practise(env, obs.step, info)

    def try_alternative(self, env, op: str, failed_tool: str, inputs: dict, info: dict) -> None:
        """The usual tool failed and its error explains nothing: call the best other candidate once, outside
        the task, and adopt it for the operation if it works."""
        ranked = [n for n in self.tool_choice.rank(op) if n != failed_tool]
        if not ranked:
            return
        call = ToolCall(ranked[0], self.tool_choice.arguments(ranked[0], inputs))
        result = env.execute_tool(call)
        self.state.explore_spent += 1
        self.state.counters["alternative_calls"] += 1
        bandit.update(self.state.arms.setdefault(op, {}), call.name, 1.0 if result.ok else 0.0)
        if result.ok:
            self.knowledge.learn_tool_for(op, call.name, source="exploration", when=self.state.world_time)
        else:
            self.revision.learn_from_tool_error(op, call, inputs, result.error, info)
        info["actions"].append({"alternative": op, "tool": call.name, "instead_of": failed_tool, "ok": result.ok})

    def reverify(self, env, info: dict) -> None:
        everything = self.store.facts(namespace=self.config.namespace, status="all")
        world = [f for f in everything if not is_tool_subject(f.subject)]  # the world's facts, not tool knowledge
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
        if not risky or self.state.lookup not in {s.name for s in env.tools()}:
            return
        target = risky[0]
        result = env.execute_tool(ToolCall(self.state.lookup, {"subject": target["subject"], "predicate": target["predicate"]}))
        self.state.explore_spent += 1
        self.state.counters["explore_lookups"] += 1
        if result.ok:
            self.revision.learn_lookup(Feedback(step=self.state.step_index, task_id="explore", correct=None, message="",
                                        tool_result=result), info)
        info["actions"].append({"reverify": [target["subject"], target["predicate"]], "ok": result.ok})

    def practise(self, env, step: int, info: dict) -> None:
        """Call the tool of the operation unused for longest (with its last task's inputs), so a change made
        while it was idle is found before a task needs it."""
        stale = [op for op, last in self.state.last_used.items() if step - last >= self.config.practice_after]
        if not stale:
            return
        op = min(stale, key=lambda o: self.state.last_used[o])
        inputs = self.state.last_inputs.get(op)
        ranked = self.tool_choice.rank(op)
        if not inputs or not ranked:
            return
        call = ToolCall(ranked[0], self.tool_choice.arguments(ranked[0], inputs))
        result = env.execute_tool(call)
        self.state.explore_spent += 1
        self.state.counters["practice_calls"] += 1
        if result.ok:
            self.state.last_used[op] = step
            self.knowledge.learn_tool_for(op, call.name, source="practice", when=self.state.world_time)
        else:
            self.revision.learn_from_tool_error(op, call, inputs, result.error, info)
            self.state.last_used[op] = step - self.config.practice_after + 1  # retry soon, not every step
        info["actions"].append({"practise": op, "tool": call.name, "ok": result.ok})
