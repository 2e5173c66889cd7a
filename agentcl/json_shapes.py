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


def consolidation_status_json(home: str | Path | None, namespace: str) -> dict:
    """`agentcl consolidate status --json`: rounds, last run, active checkpoint, buffer, latest findings."""
    from agentcl.consolidation.persist import check_checkpoint, load_learned
    from agentcl.consolidation.pin import load_pin
    from agentcl.consolidation.state import RunLog, state_dir
    from agentcl.consolidation.trust import trusted_sources
    from agentcl.model import CheckpointStore
    from memory_store.config import agentcl_home

    home = agentcl_home(home)
    sdir = state_dir(home, namespace)
    ckpts = CheckpointStore(home, namespace=namespace)
    active = ckpts.active_id()
    if active is not None:  # a damaged active model is one line here, not a surprise in the next run
        check_checkpoint(ckpts, active)
    state, buffer, _ = load_learned(ckpts, sdir, capacity=None, policy="class_balanced", seed=0)
    log = RunLog.load(sdir)
    pin = load_pin(sdir, ckpts)
    return {
        "namespace": namespace,
        "rounds": state.rounds,
        "last_run_at": log.last_run_at,
        "active_checkpoint": active,
        "checkpoints": len(ckpts.ids()),
        "learned_slots": len(state.slots),
        "buffer_size": len(buffer),
        "skills": state.skill_best,
        "findings": {k: log.findings.get(k, {}) for k in ("stale", "disagree", "forgotten")},
        "last_run": log.history[-1] if log.history else None,
        # A rollback keeps its checkpoint active until new validated material arrives or `consolidate unpin`.
        "pinned": {k: pin[k] for k in ("checkpoint", "since")} if pin else None,
        "trusted_sources": list(trusted_sources(home)),
    }


def consolidation_models_json(home: str | Path | None, namespace: str) -> list[dict]:
    """`agentcl consolidate models --json`: every checkpoint, newest last."""
    from agentcl.model import CheckpointStore
    from memory_store.config import agentcl_home

    return [c.to_dict() for c in CheckpointStore(agentcl_home(home), namespace=namespace).list()]


def consolidation_rollback_json(home: str | Path | None, namespace: str, checkpoint_id: int, *,
                                digest: str) -> dict:
    """`agentcl consolidate rollback ID --json`: re-activate a checkpoint and pin it (`digest`: the
    validated material now, pin.material_digest); says which one was active."""
    from agentcl.consolidation.persist import check_checkpoint
    from agentcl.consolidation.pin import load_pin, save_pin
    from agentcl.consolidation.state import state_dir
    from agentcl.model import CheckpointStore
    from memory_store.config import agentcl_home
    from memory_store.errors import NotFoundError

    ckpts = CheckpointStore(agentcl_home(home), namespace=namespace)
    sdir = state_dir(home, namespace)
    # Everything read before anything is written: a damaged pointer or pin is named, never replaced,
    # and a damaged checkpoint is never activated.
    previous = ckpts.active_id()
    load_pin(sdir, ckpts)
    if int(checkpoint_id) not in ckpts.ids():
        raise NotFoundError(f"no checkpoint {checkpoint_id} in namespace {namespace!r}")
    check_checkpoint(ckpts, checkpoint_id)
    ckpts.activate(checkpoint_id)
    pin = save_pin(sdir, checkpoint=checkpoint_id, digest=digest)
    return {"namespace": namespace, "active_checkpoint": checkpoint_id, "previous": previous,
            "pinned": {k: pin[k] for k in ("checkpoint", "since")}}
