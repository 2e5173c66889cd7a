"""Time travel over the version log: reads *as of* a version or time, and revert.

Every version record keeps after-images of the rows it touched, so the state of any row at version N
is its last after-image at or before N. Revert writes that state back as a *new* version: history is
never rewritten; rows born after N are retracted, not deleted."""
from __future__ import annotations

import re
from typing import Any

import numpy as np
from sqlalchemy import insert, select, update

from . import schema
from .errors import InvalidInputError, NotFoundError
from .models import Fact, Note, VersionRecord, fact_text
from .timeparse import parse_time, utcnow

F, N, V = schema.facts, schema.notes, schema.versions
_VERSION = re.compile(r"^v?(\d+)$", re.IGNORECASE)
FACT_FIELDS = ("status", "valid_from", "valid_to", "retired_at", "expires_at", "confidence", "validation_count",
               "last_validated_at", "supersedes_id", "superseded_by_id", "in_conflict")
NOTE_FIELDS = ("status", "retired_at", "expires_at")


def _rows_as_of(log: list[VersionRecord], version: int, kind: str) -> dict[int, dict | None]:
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
            state[item["id"]] = after.get(item["id"]) if rec.op != "prune" else None
    return state


def _kind_of(snapshot: dict) -> str:
    """An after-image is a Fact.to_dict() (it has a subject) or a Note.to_dict() (it has text)."""
    return "fact" if "subject" in snapshot else "note"


def _fact_from_snapshot(snap: dict) -> Fact:
    from .timeparse import parse_time as pt

    times = {k: (pt(snap[k]) if snap.get(k) else None) for k in
             ("valid_from", "valid_to", "recorded_at", "retired_at", "expires_at", "last_validated_at")}
    fields = {k: snap[k] for k in Fact.__dataclass_fields__ if k in snap and k not in times}
    return Fact(**{**fields, **times})


class HistoryMixin:
    def parse_as_of(self, value: Any) -> int:
        """'v12' / 12 -> version 12; an ISO time -> the last version written at or before it."""
        text = str(value).strip()
        match = _VERSION.match(text)
        version = int(match.group(1)) if match else self.version_at(parse_time(text))
        self.require_version(version)
        return version

    def facts_as_of(self, version: int, *, namespace: str) -> list[Fact]:
        """Every fact of `namespace` as stored at `version` (one indexed query on fact_states)."""
        from .states import as_of_query

        with self.engine.connect() as conn:
            return [Fact.from_row(r) for r in conn.execute(as_of_query(namespace, version))]

    def revert(self, version: Any, *, actor: str | None = None) -> VersionRecord:
        """Restore facts and notes to their state at `version`, as one new version."""
        target = self.parse_as_of(version)
        latest = self.current_version()
        if target == latest:
            raise InvalidInputError(f"version {target} is already the current state")
        log = self.log()
        fact_then = _rows_as_of(log, target, "fact")
        note_then = _rows_as_of(log, target, "note")
        later_facts = {i["id"] for r in log if r.version > target for i in r.affected if i.get("kind") == "fact"}
        later_notes = {i["id"] for r in log if r.version > target for i in r.affected if i.get("kind") == "note"}
        # Pruned rows that existed then come back: their vectors are recomputed before the transaction.
        with self.engine.connect() as conn:
            present_f = {r[0] for r in conn.execute(select(F.c.id).where(F.c.id.in_(later_facts)))} if later_facts else set()
            present_n = {r[0] for r in conn.execute(select(N.c.id).where(N.c.id.in_(later_notes)))} if later_notes else set()
        revive_f = [fact_then[i] for i in later_facts - present_f if fact_then.get(i)]
        revive_n = [note_then[i] for i in later_notes - present_n if note_then.get(i)]
        fvecs = self.embed([fact_text(s["subject"], s["predicate"], s["object"]) for s in revive_f])
        nvecs = self.embed([s["text"] for s in revive_n])
        now = utcnow()
        with self._transaction() as conn:
            new_version = self._next_version(conn)
            affected, before, after = [], [], []
            for fid in sorted(later_facts):
                snap = fact_then.get(fid)
                row = conn.execute(select(F).where(F.c.id == fid)).first()
                if row is not None:
                    before.append(Fact.from_row(row).to_dict())
                if snap is None and row is not None:
                    values = {"status": "retracted", "retired_at": now, "in_conflict": False}
                elif snap is not None and row is not None:
                    restored = _fact_from_snapshot(snap)
                    values = {k: getattr(restored, k) for k in FACT_FIELDS}
                elif snap is not None:
                    restored = _fact_from_snapshot(snap)
                    vec = fvecs[revive_f.index(snap)]
                    conn.execute(insert(F).values(
                        id=fid, **{k: getattr(restored, k) for k in FACT_FIELDS}, namespace=restored.namespace,
                        subject=restored.subject, predicate=restored.predicate, object=restored.object,
                        recorded_at=restored.recorded_at, source=restored.source, meta=restored.metadata,
                        embedding=np.asarray(vec, dtype=np.float32).tobytes(),
                        created_version=new_version, version=new_version))
                    values = None
                else:
                    continue
                if values is not None:
                    conn.execute(update(F).where(F.c.id == fid).values(version=new_version, **values))
                affected.append({"kind": "fact", "id": fid})
                after.append(Fact.from_row(conn.execute(select(F).where(F.c.id == fid)).one()).to_dict())
            for nid in sorted(later_notes):
                snap = note_then.get(nid)
                row = conn.execute(select(N).where(N.c.id == nid)).first()
                if row is not None:
                    before.append(Note.from_row(row).to_dict())
                if row is not None:
                    values = ({"status": "retracted", "retired_at": now} if snap is None else
                              {"status": snap["status"], "retired_at": parse_time(snap["retired_at"]) if snap.get("retired_at") else None,
                               "expires_at": parse_time(snap["expires_at"]) if snap.get("expires_at") else None})
                    conn.execute(update(N).where(N.c.id == nid).values(version=new_version, **values))
                elif snap is not None:
                    vec = nvecs[revive_n.index(snap)]
                    conn.execute(insert(N).values(
                        id=nid, namespace=snap["namespace"], note_type=snap["note_type"], text=snap["text"],
                        speaker=snap.get("speaker"), external_id=snap.get("external_id"), thread=snap.get("thread"),
                        occurred_at=parse_time(snap["occurred_at"]) if snap.get("occurred_at") else None,
                        recorded_at=parse_time(snap["recorded_at"]), status=snap["status"],
                        expires_at=parse_time(snap["expires_at"]) if snap.get("expires_at") else None,
                        retired_at=None, meta=snap.get("metadata") or {},
                        embedding=np.asarray(vec, dtype=np.float32).tobytes(),
                        created_version=new_version, version=new_version))
                else:
                    continue
                affected.append({"kind": "note", "id": nid})
                after.append(Note.from_row(conn.execute(select(N).where(N.c.id == nid)).one()).to_dict())
            if not affected:
                raise NotFoundError(f"nothing changed after version {target}")
            self._insert_version_row(conn, new_version, op="revert", namespace=None, affected=affected,
                                     before=before, after=after, actor=actor)
        for ns in list(self._indexes):
            self._catch_up(ns, self._indexes[ns])
        return self.log(since=new_version - 1, limit=1)[0]
