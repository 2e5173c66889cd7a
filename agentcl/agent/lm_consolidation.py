"""Consolidation when the policy is the local language model (`--policy llm`): the LM job
(consolidation/lm_job.py) trains the adapter of the very model object the policy generates with, so a
promoted round is in use from the next step on, and a refused one is put back by the job itself.

Usages are the agent's own list, under the names the world offers its tools by (the names the policy
must call), and today's signatures come from the tool specs the agent last saw. Tool calls are trained
on, and probed with, the prompt the policy shows for a tool task, and validated facts are trained on the
prompt it shows for a fact question too (PolicyAsker), so the gate judges a round on what the agent will
really ask, and the adapter learns which prompts want a call and which a sentence."""
from __future__ import annotations

from typing import Any

from agentcl.envs.base import ParamSpec, ToolSpec


class PolicyAsker:
    """Asks as LocalLMPolicy does. `user_text` is the policy's user turn for a tool task offered that one
    tool (the text tool calls are trained on); `replies` is LocalLMPolicy.tool_replies (what the gate's
    tool probe grades); `fact_users` the policy's user turns for a fact question (the text validated facts
    are also trained on). `specs`: the tools by name, as the world publishes them; `lookup`: the world's
    lookup tool, offered with fact questions; `questions`: (subject, predicate) -> the question texts the
    world asked about that slot (RunState.questions); `asked`: what the agent was asked lately
    (RunState.asked)."""

    def __init__(self, specs: dict[str, ToolSpec], signatures: dict[str, list[str]] | None = None, *,
                 lookup: ToolSpec | None = None, questions: dict | None = None, asked: list = ()) -> None:
        self.specs, self.signatures = dict(specs), dict(signatures or {})
        self.lookup, self.questions = lookup, dict(questions or {})
        self.asked = [tuple(a) for a in asked]  # (text, None) for a fact question, (text, tool) for a tool task

    def untaught_prompts(self, taught: set[str], current: dict) -> list[str]:
        """The policy's prompts for what the agent was asked (RunState.asked) and this round does not train
        (`taught`: normalised question and task texts): a fact question with the memory retrieval would
        likely show, a tool task with the tool it called (and each other tool, with its description as the
        task). The round keeps the model's answers to them (policy-prompt anchors), so what one slot taught
        is not said to every question in that prompt shape, and tool tasks keep being answered with calls."""
        return [prompt for prompt, _ in self.untaught_asks(taught, current)]

    def untaught_asks(self, taught: set[str], current: dict) -> list[tuple[str, str | None]]:
        """untaught_prompts, each with the name of the one tool its prompt offers (None: none offered)."""
        from agentcl.consolidation.text_examples import memory_for, normalise
        from agentcl.policies.local_lm import fact_question_prompt

        used = {tool for _, tool in self.asked if tool is not None}
        # a tool not called lately is asked with its description as the task: tool prompts keep wanting a call
        out = [(self.user_text(name, spec.description or name), name) for name, spec in sorted(self.specs.items())
               if name not in used and not spec.deprecated]
        lookup = self.lookup.name if self.lookup is not None else None
        for text, tool in self.asked:
            if normalise(text) in taught:
                continue
            out.append((fact_question_prompt(text, memory_for(text, current), self.lookup), lookup) if tool is None
                       else (self.user_text(tool, text), tool))
        return out

    def fact_users(self, slot, value: str, others: list[str]) -> list[str]:
        """The fact question about `slot` (each question the world asked about it, else the first template
        phrasing) as the policy asks it, with memory holding the fact first and `others` (other facts'
        texts) after it. Never with memory that lacks it: trained so, the model answered a changed fact
        from its weights while memory showed the new value (a stale answer)."""
        from agentcl.consolidation.text_examples import fact_questions
        from agentcl.policies.local_lm import fact_question_prompt
        from memory_store.record_types import fact_text

        asked = self.questions.get((slot.subject, slot.predicate)) or fact_questions(slot, trained=1)
        own = fact_text(slot.subject, slot.predicate, value)
        return [fact_question_prompt(q, [own, *others], self.lookup) for q in asked]

    def chat_replies(self, lm, users: list[str], *, adapter: bool = True, max_new_tokens: int) -> list[str]:
        """The replies to policy user turns (`users`, e.g. untaught_prompts) inside the policy's whole chat,
        its system text and worked turns included: what the agent would really see said. `adapter` False:
        the base model's (the gate's shape probe compares the candidate's with them)."""
        from agentcl.policies.local_lm import LocalLMPolicy, policy_chat

        if not users:
            return []
        texts = lm.chat([policy_chat(u) for u in users], adapter=adapter,
                        max_new_tokens=max(max_new_tokens, LocalLMPolicy.CALL_TOKENS))
        return [self._as_policy_reads(t, [*self.specs, *([self.lookup.name] if self.lookup else [])])
                for t in texts]

    @staticmethod
    def _as_policy_reads(text: str, names: list[str]) -> str:
        """A reply as the policy reads it (parse_reply): a call it would execute as canonical JSON, so
        graders see the call the agent would make (bare values quoted, a cut call closed), not raw text."""
        from agentcl.consolidation.text_examples import tool_call_text
        from agentcl.policies.tool_call import parse_reply

        call = parse_reply(text, names).tool_call
        return text if call is None else tool_call_text(call.name, call.arguments)

    @staticmethod
    def chat_context() -> tuple[tuple[str, str], ...]:
        """The turns the policy's chat opens with (its system text and worked turns), as (role, content):
        a corrective round trains the prompts whose reply shape drifted inside them."""
        from agentcl.policies.local_lm import policy_chat

        return tuple((m["role"], m["content"]) for m in policy_chat("")[:-1])

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
        from agentcl.policies.local_lm import LocalLMPolicy

        texts = LocalLMPolicy.tool_replies(lm, [(task, self.spec(name)) for name, task in asks],
                                           max_new_tokens=max(max_new_tokens, LocalLMPolicy.CALL_TOKENS))
        return [self._as_policy_reads(text, [name]) for (name, _), text in zip(asks, texts)]


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
    asker = PolicyAsker({n: s for n, s in agent.toolbox.specs.items() if n != agent.lookup}, signatures,
                        lookup=agent.toolbox.specs.get(agent.lookup), questions=agent.state.questions,
                        asked=agent.state.asked)
    try:
        report = consolidate_lm(agent.store, None, lm=agent.policy.lm, namespace=agent.config.namespace,
                                config=LMConfig(**options), usages=list(agent.usages), tools=signatures,
                                home=agent.store.home, tool_asker=asker)
    except ConsolidationSkipped as exc:
        return {"skipped": True, "reason": str(exc)}
    return report
