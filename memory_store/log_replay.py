"""Replaying the version log (pure): every version record keeps after-images of the rows it touched, so
the state of any row at version N is its last after-image at or before N. Revert (memory_store.revert)
writes that state back as a *new* version; as-of reads of facts use fact_states (memory_store.states)."""
from __future__ import annotations

from . import tables
from .record_types import Fact, VersionRecord

F, N, V = tables.facts, tables.notes, tables.versions
FACT_FIELDS = ("status", "valid_from", "valid_to", "retired_at", "expires_at", "confidence", "validation_count",
               "last_validated_at", "supersedes_id", "superseded_by_id", "in_conflict")
NOTE_FIELDS = ("status", "retired_at", "expires_at")


def rows_as_of(log: list[VersionRecord], version: int, kind: str) -> dict[int, dict | None]:
    """id -> after-image at `version` (None if deleted by then), for rows of `kind` touched up to then."""
    state: dict[int, dict | None] = {}
    for rec in log:
        if rec.version > version:
            break
        # One record can hold facts and notes with the same id (import, revert): match on kind too.
        after = {a["id"]: a for a in (rec.after or []) if isinstance(a, dict) and "id" in a and _kind_of(a) == kind}
        for item in rec.affected:
            if item.get("kind") != kind:
                continue
            if "first_id" in item:  # a streamed import's notes: their image is the row as it wrote them
                marker = {"bulk_version": rec.version, "namespace": rec.namespace}
                state.update((i, marker) for i in range(item["first_id"], item["last_id"] + 1))
                continue
            state[item["id"]] = after.get(item["id"]) if rec.op != "prune" else None
    return state


def _kind_of(snapshot: dict) -> str:
    """An after-image is a Fact.to_dict() (it has a subject) or a Note.to_dict() (it has text)."""
    return "fact" if "subject" in snapshot else "note"


def fact_from_snapshot(snap: dict) -> Fact:
    from .timeparse import parse_time as pt

    times = {k: (pt(snap[k]) if snap.get(k) else None) for k in
             ("valid_from", "valid_to", "recorded_at", "retired_at", "expires_at", "last_validated_at")}
    fields = {k: snap[k] for k in Fact.__dataclass_fields__ if k in snap and k not in times}
    return Fact(**{**fields, **times})
