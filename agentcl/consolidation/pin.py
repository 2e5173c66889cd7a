"""A rollback pins the checkpoint it activates. Without a pin, the next scheduled run re-learns the same
material from the rolled-back-to state and promotes a new checkpoint, undoing the rollback. A pinned
namespace skips its runs until there is new validated material (a digest of the validated facts and
successful skill usages differs from the one taken at the rollback) or the user unpins it.

The pin lives in AGENTCL_HOME/consolidation/<namespace>/pin.json, beside runs.json."""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from memory_store.timeparse import iso, utcnow

from .lock import ConsolidationPinned
from .select import is_validated, registry_usages

PIN_FILE = "pin.json"


def material_digest(store, registry, *, namespace: str, min_validations: int, trusted_sources) -> str:
    """A digest of what consolidation could learn in `namespace`: validated active facts (id and value)
    and successful skill usages. It changes when new validated material arrives."""
    facts = sorted((f.id, f.subject, f.predicate, f.object) for f in store.facts(namespace=namespace)
                   if is_validated(f, min_validations=min_validations, trusted_sources=trusted_sources))
    usages, _ = registry_usages(registry, namespace=namespace)
    used = sorted(f"{u.skill}|{u.task}|{json.dumps(u.args, sort_keys=True, default=str)}" for u in usages)
    payload = json.dumps({"facts": facts, "usages": used}, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()


def load_pin(directory: Path, checkpoints=None) -> dict | None:
    """The pin, or None. A pin that cannot be read, lacks its fields or (given the namespace's
    `checkpoints`) pins a checkpoint that does not exist is a DamagedFileError: read as "no pin", the
    next run would undo the rollback the user asked for. `consolidate unpin` removes it."""
    from memory_store.errors import DamagedFileError
    from memory_store.file_reads import read_json

    path = directory / PIN_FILE
    if not path.exists():
        return None
    fix = "remove it with 'agentcl consolidate unpin' for this namespace (or delete it)"
    pin = read_json(path, fix=fix)
    checkpoint = pin.get("checkpoint")
    if isinstance(checkpoint, bool) or not isinstance(checkpoint, int) or not all(
            isinstance(pin.get(k), str) for k in ("since", "digest")):
        raise DamagedFileError(path, "not a pin: it needs checkpoint, since and digest", fix)
    if checkpoints is not None and checkpoint not in checkpoints.ids():
        raise DamagedFileError(path, f"it pins checkpoint {checkpoint}, which is missing", fix)
    return pin


def save_pin(directory: Path, *, checkpoint: int, digest: str) -> dict:
    pin = {"checkpoint": checkpoint, "since": iso(utcnow()), "digest": digest}
    tmp = directory / (PIN_FILE + ".tmp")
    tmp.write_text(json.dumps(pin))
    os.replace(tmp, directory / PIN_FILE)
    return pin


def clear_pin(directory: Path) -> dict | None:
    """Remove the pin; returns it (a damaged one, which this removes too, as {"checkpoint": None})."""
    from memory_store.errors import DamagedFileError

    try:
        pin = load_pin(directory)
    except DamagedFileError:
        pin = {"checkpoint": None}
    (directory / PIN_FILE).unlink(missing_ok=True)
    return pin


def check_pin(directory: Path, *, active_checkpoint: int | None, digest: str, namespace: str) -> None:
    """Raise ConsolidationPinned while the pin holds; drop the pin once it no longer does (new validated
    material, or another checkpoint was activated since)."""
    pin = load_pin(directory)
    if pin is None:
        return
    if pin.get("checkpoint") != active_checkpoint or pin.get("digest") != digest:
        clear_pin(directory)
        return
    raise ConsolidationPinned(
        f"checkpoint {pin['checkpoint']} of namespace {namespace!r} is pinned by a rollback at {pin['since']} and "
        f"there is no new validated material since (agentcl consolidate unpin -n {namespace} resumes)")


def guard(store, registry, *, namespace: str, home, min_validations: int, trusted_sources) -> None:
    """What every scheduled or on-demand run checks first: raise ConsolidationPinned while a rollback's pin
    holds (the digest is computed only when a pin exists)."""
    from ..model import CheckpointStore
    from .state import state_dir

    directory = state_dir(home, namespace)
    checkpoints = CheckpointStore(home, namespace=namespace)
    if load_pin(directory, checkpoints) is None:
        return
    digest = material_digest(store, registry, namespace=namespace, min_validations=min_validations,
                             trusted_sources=trusted_sources)
    check_pin(directory, active_checkpoint=checkpoints.active_id(), digest=digest, namespace=namespace)

