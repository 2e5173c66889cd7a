"""The default policy: no LLM, no network. It acts on what the agent's perceive stage concluded.

Fact question: answer a lookup made during this task, else a trusted belief (memory, then the local
model's prior), else call the truth-telling `lookup` tool. Tool task: call the first candidate tool
(the agent ranks them: known tool for the operation, then a UCB bandit over skill-search candidates)
with the arguments the agent mapped from the task's inputs."""
from __future__ import annotations

from agentcl.envs.base import Action, Observation
from agentcl.policies.base import PolicyContext

LOOKUP = "lookup"


class LocalPolicy:
    name = "local"

    def __init__(self, *, lookup_tool: str = LOOKUP):
        self.lookup_tool = lookup_tool

    def decide(self, observation: Observation, context: PolicyContext) -> Action:
        if observation.kind == "fact":
            return self._answer(observation, context)
        return self._call_tool(observation, context)

    def _answer(self, obs: Observation, ctx: PolicyContext) -> Action:
        lookup = ctx.hints.get("lookup_tool", self.lookup_tool)
        for attempt in reversed(ctx.attempts):
            result = attempt.result
            if result is not None and result.ok and result.tool == lookup and isinstance(result.output, dict):
                return Action.say(str(result.output.get("value")), rationale="looked up")
        belief = ctx.hints.get("belief")
        if belief and belief.get("trusted"):
            return Action.say(str(belief["value"]), rationale=f"from {belief.get('source', 'memory')}")
        can_lookup = any(t.name == lookup for t in ctx.tools) and obs.query is not None
        if can_lookup and not any(a.action.tool_call and a.action.tool_call.name == lookup
                                  for a in ctx.attempts):
            return Action.call(lookup, {"subject": obs.query.subject, "predicate": obs.query.predicate},
                               rationale="not known or not trusted: verify")
        if belief:
            return Action.say(str(belief["value"]), rationale="best guess")
        return Action.say("unknown", rationale="nothing known")

    def _call_tool(self, obs: Observation, ctx: PolicyContext) -> Action:
        lookup = ctx.hints.get("lookup_tool", self.lookup_tool)
        candidates = [t for t in ctx.tools if t.name != lookup and not t.deprecated] or \
                     [t for t in ctx.tools if t.name != lookup]
        if not candidates:
            return Action.say("no tool available", rationale="no candidate tools")
        tool = candidates[0]
        args = ctx.hints.get("arguments", {}).get(tool.name)
        if args is None:
            args = dict(obs.request.inputs) if obs.request else {}
        return Action.call(tool.name, args, rationale="best candidate tool")
