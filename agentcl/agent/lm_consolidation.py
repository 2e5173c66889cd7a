"""Consolidation when the policy is the local language model (`--policy llm`): the LM job
(consolidation/lm_job.py) trains the adapter of the very model object the policy generates with, so a
promoted round is in use from the next decision on, and a refused one is put back by the job itself.

Usages are the agent's own list, under the names the world offers its tools by (the names the policy
must call), and today's signatures come from the tool specs the agent last saw."""
from __future__ import annotations

from typing import Any


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
    try:
        report = consolidate_lm(agent.store, None, lm=agent.policy.lm, namespace=agent.config.namespace,
                                config=LMConfig(**options), usages=list(agent.usages), tools=signatures, home=agent.store.home)
    except ConsolidationSkipped as exc:
        return {"skipped": True, "reason": str(exc)}
    return report
