"""remember / recall / forget over the agent's memory store, always inside the agent's own namespace
(the namespace comes from the registry's context, never from the call's arguments)."""
from __future__ import annotations

from ..context import SkillContext
from ..decorator import skill


@skill(tags=["memory"], examples=["Remember that Alice's manager is Bob", "Note that the office moved to Berlin"])
def remember(subject: str, predicate: str, value: str, context: SkillContext) -> dict:
    """Store a fact (subject, predicate, value) in memory; a new value for the same slot supersedes the old.

    Args:
        subject: What the fact is about, for example "alice".
        predicate: The relation, for example "manager".
        value: The value, for example "bob".
    """
    result = context.memory.add_fact(subject, predicate, value, namespace=context.namespace, source="agent")
    return {"id": result.fact.id, "action": result.action, "subject": result.fact.subject,
            "predicate": result.fact.predicate, "value": result.fact.object, "superseded": result.superseded}


@skill(tags=["memory"], examples=["What do I know about Alice's manager?", "Recall the office location"])
def recall(query: str, context: SkillContext, k: int = 5) -> list[dict]:
    """Search memory for facts and notes relevant to a query (current values only).

    Args:
        query: What to look for.
        k: How many results to return.
    """
    hits = context.memory.search(query, k=max(1, min(int(k), 50)), namespace=context.namespace)
    return [{"id": h.id, "kind": h.kind, "text": h.text, "score": round(float(h.score), 4)} for h in hits]


@skill(tags=["memory"], examples=["Forget Alice's phone number"])
def forget(subject: str, predicate: str, context: SkillContext) -> dict:
    """Retract the current fact for (subject, predicate); history keeps it, searches no longer return it.

    Args:
        subject: What the fact is about.
        predicate: The relation to forget.
    """
    fact = context.memory.current(subject, predicate, namespace=context.namespace)
    if fact is None:
        return {"forgotten": False, "reason": f"nothing remembered for ({subject}, {predicate})"}
    context.memory.retract(fact.id, namespace=context.namespace, reason="forget skill")
    return {"forgotten": True, "id": fact.id, "value": fact.object}
