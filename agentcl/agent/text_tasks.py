"""Perceive and revise for tasks given as text only (a world that gives no structured `query` or
`request`, e.g. DriftWorld --text-only): the agent cannot recall a slot by name, so it retrieves facts by
the task's text, and it learns from the outcome without knowing which slot or operation was asked.

- perceive: the facts whose text best matches the task text go to the policy (as data);
- revise, a fact answered right: every fact the policy saw or looked up during the task whose value the
  answer states is confirmed (validated, so consolidation may learn it), and the question is kept as one
  of the ways that fact is asked (consolidation trains the fact on it, in the policy's prompt);
- revise, a tool call: the outcome goes to the registry; a success becomes a usage example."""
from __future__ import annotations

from dataclasses import replace

from agentcl.envs.base import Action, Feedback, Observation
from agentcl.envs.grading import mentions
from agentcl.policies.base import ContextItem
from memory_store.normalize import normalize_name

from .lookup_grounding import ground_lookup

QUESTIONS_PER_SLOT = 3  # the newest few phrasings of a slot's question are enough to train on
ASKED_KEPT = 32  # the latest tasks: consolidation keeps the policy's answers to those it does not train


def retrieve_facts(knowledge, text: str, k: int) -> list[ContextItem]:
    """The k facts of this namespace nearest to the task text (empty when memory is off), each with its
    slot, value and confidence (not the full record: a small model's prompt is short)."""
    if not knowledge.enabled:
        return []
    hits = knowledge.store.search(text, k=k, namespace=knowledge.namespace, kind="fact")
    return [ContextItem(text=r.text, kind="fact", score=r.score, id=r.id,
                        metadata={k: r.metadata.get(k) for k in ("subject", "predicate", "object", "confidence")})
            for r in hits]


def ground_text_lookup(agent, obs: Observation, context, action: Action) -> Action:
    """A text-only question's lookup call with its arguments grounded in the slot the question asks
    (lookup_grounding.ground_lookup: the model decides whether to look up, the agent which slot); any other
    action as it is."""
    call = action.tool_call
    if obs.kind != "fact" or obs.query is not None or call is None or call.name != agent.lookup:
        return action
    known = [(i.metadata.get("subject"), i.metadata.get("predicate")) for i in context.facts]
    grounded = ground_lookup(call.arguments, obs.text, agent.state.questions, known)
    if grounded == call.arguments:
        return action
    return replace(action, tool_call=replace(call, arguments=grounded),
                   rationale=f"lookup grounded: {call.arguments} -> {grounded}")


def facts_to_confirm(knowledge, answer: str, context, lookup: str) -> list:
    """The current facts the answer relied on: of the slots shown to the policy or looked up during the
    task, those whose current value the answer mentions."""
    slots = [(i.metadata.get("subject"), i.metadata.get("predicate")) for i in context.facts]
    for attempt in context.attempts:
        result = attempt.result
        if result is not None and result.ok and result.tool == lookup and isinstance(result.output, dict):
            slots.append((result.output.get("subject"), result.output.get("predicate")))
    out, seen = [], set()
    for subject, predicate in slots:
        fact = knowledge.recall(subject, predicate) if subject and predicate else None
        if fact is not None and fact.id not in seen and mentions(answer, fact.object):
            seen.add(fact.id)
            out.append(fact)
    return out


def remember_question(questions: dict, subject: str, predicate: str, text: str,
                      keep: int = QUESTIONS_PER_SLOT) -> None:
    """Record `text` as a way the slot (subject, predicate) is asked: distinct texts, the newest `keep`,
    keyed as memory keys the slot (normalised names)."""
    key = (normalize_name(subject), normalize_name(predicate))
    texts = [t for t in questions.get(key, []) if t != text] + [text]
    questions[key] = texts[-keep:]


def remember_asked(asked: list, text: str, tool: str | None = None, keep: int = ASKED_KEPT) -> None:
    """Record a task the agent was asked: (text, None) for a fact question, (text, tool) for a tool task
    and the tool called (distinct texts, the newest `keep`, newest last)."""
    asked[:] = [a for a in asked if a[0] != text] + [(text, tool)]
    del asked[:-keep]


def revise_text_task(agent, obs: Observation, action: Action, fb: Feedback, context, info: dict) -> None:
    """What a text-only task teaches (see the module docstring); `agent` is the Agent."""
    call = action.tool_call
    if obs.kind == "fact":
        remember_asked(agent.state.asked, obs.text)
    elif call is not None:
        remember_asked(agent.state.asked, obs.text, call.name)
    if obs.kind == "fact" and call is None:
        if fb.correct and action.answer:
            for fact in facts_to_confirm(agent.knowledge, action.answer, context, agent.lookup):
                agent.knowledge.confirm(fact)
                remember_question(agent.state.questions, fact.subject, fact.predicate, obs.text)
                info.setdefault("learned", []).append({"confirmed": [fact.subject, fact.predicate, fact.object]})
        elif fb.correction is not None:
            c = fb.correction
            res = agent.knowledge.learn(c.subject, c.predicate, c.value, source="feedback",
                                        valid_from=agent.world_time)
            if res is not None:
                agent.knowledge.confirm(res.fact)
                remember_question(agent.state.questions, c.subject, c.predicate, obs.text)
            info.setdefault("learned", []).append({"fact": [c.subject, c.predicate, c.value]})
        return
    if call is not None and fb.task_done:
        error = fb.tool_error
        agent.toolbox.record(call.name, ok=bool(fb.correct), error_kind=(error or {}).get("code") if error else
                             (None if fb.correct else "wrong_result"), task=obs.text, args=call.arguments)
        if fb.correct:
            agent.usages.append({"task": obs.text, "skill": call.name, "args": dict(call.arguments)})
