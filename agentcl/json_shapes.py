"""JSON shapes that are built from more than one record, shared by the CLI's `--json` and the server so the
two print the same thing. (Single records carry their own `to_dict()`.)"""
from __future__ import annotations

from pathlib import Path


def audit_json(store, namespace: str, home: str | Path | None) -> dict:
    """`agentcl memory audit --json`: the store's findings plus what the latest consolidation probes found
    (empty when consolidation never ran) for the state directory `home`."""
    from agentcl.consolidation import latest_probe_findings

    report = store.audit(namespace).to_dict()
    report["probes"] = latest_probe_findings(home, namespace=namespace) or {}
    return report


def policy_json(predicate: str, policy) -> dict:
    """`agentcl memory set-policy --json`."""
    return {"predicate": predicate, "functional": policy.functional, "rule": policy.rule,
            "ttl_s": policy.ttl.total_seconds() if policy.ttl else None,
            "source_priority": list(policy.source_priority)}
