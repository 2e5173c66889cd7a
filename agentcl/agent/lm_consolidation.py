"""Consolidation when the policy is the local language model (`--policy llm`): the LM job
(consolidation/lm_job.py) trains the adapter of the very model object the policy generates with, so a
promoted round is in use from the next step on, and a refused one is put back by the job itself.

Usages are the agent's own list, under the names the world offers its tools by (the names the policy
must call), and today's signatures come from the tool specs the agent last saw. Tool calls are trained
on, and probed with, the prompt the policy shows for a tool task (PolicyToolAsker), so the gate judges
a round on what the agent will really ask."""
from __future__ import annotations

from typing import Any

from agentcl.envs.base import ParamSpec, ToolSpec


class PolicyToolAsker:
    """Asks tool tasks as LocalLMPolicy does: `user_text` is the policy's user turn for a tool task
    offered that one tool (the text tool calls are trained on); `replies` is LocalLMPolicy.tool_replies
    (what the gate's tool probe grades). `specs`: the tools by name, as the world publishes them."""

    def __init__(self, specs: dict[str, ToolSpec], signatures: dict[str, list[str]] | None = None) -> None:
        self.specs, self.signatures = dict(specs), dict(signatures or {})

    def spec(self, name: str) -> ToolSpec:
        known = self.specs.get(name)
        if known is not None:
            return known
        params = tuple(ParamSpec(p, "string", "") for p in self.signatures.get(name, []))
        return ToolSpec(name, "", params)  # a tool the world no longer lists: its name and last parameters

    def user_text(self, name: str, task: str) -> str:
        from agentcl.policies.local_lm import tool_task_prompt

        return tool_task_prompt(task, self.spec(name))

    def replies(self, lm, asks: list[tuple[str, str]], *, max_new_tokens: int) -> list[str]:
        """The policy's replies, each read as the policy reads it (parse_reply): a call it would execute is
        given back as canonical JSON, so the gate grades the call the agent would make, not the raw text."""
        from agentcl.consolidation.text_examples import tool_call_text
        from agentcl.policies.local_lm import LocalLMPolicy
        from agentcl.policies.tool_call import parse_reply

        texts = LocalLMPolicy.tool_replies(lm, [(task, self.spec(name)) for name, task in asks],
                                           max_new_tokens=max(max_new_tokens, LocalLMPolicy.CALL_TOKENS))
        out = []
        for (name, _), text in zip(asks, texts):
            call = parse_reply(text, [name]).tool_call
            out.append(text if call is None else tool_call_text(call.name, call.arguments))
        return out


def consolidate_policy_lm(agent) -> Any:
    """One LM consolidation round for the agent's namespace: its report, or {"skipped": True, ...}
    when another job holds the namespace."""
    from agentcl.consolidation.lm_job import consolidate_lm
    from agentcl.consolidation.lm_state import LMConfig
    from agentcl.consolidation.lock import ConsolidationSkipped
    from agentcl.consolidation.trust import trusted_sources

    options = {"replay": agent.config.consolidation_replay, "trusted_sources": trusted_sources(agent.store.home),
               **agent.config.lm_consolidation}
    signatures = {spec.name: [p.name for p in spec.parameters] for spec in agent.toolbox.specs.values()
                  if spec.name != agent.lookup}
    asker = PolicyToolAsker({n: s for n, s in agent.toolbox.specs.items() if n != agent.lookup}, signatures)
    try:
        report = consolidate_lm(agent.store, None, lm=agent.policy.lm, namespace=agent.config.namespace,
                                config=LMConfig(**options), usages=list(agent.usages), tools=signatures,
                                home=agent.store.home, tool_asker=asker)
    except ConsolidationSkipped as exc:
        return {"skipped": True, "reason": str(exc)}
    return report
