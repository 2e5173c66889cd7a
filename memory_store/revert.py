"""The Reverter service of MemoryStore: revert one namespace to its state at a version, as one new version (history is never rewritten:
rows born after the version are retracted, not deleted; pruned rows that existed then come back).

Everything is decided inside the write transaction: the log is read, the rows are compared and the
revived rows embedded while the store's write lock is held, so a note another process writes during
the revert is either before it (and undone) or after it (and kept) — never left active by a revert
that promised "the state at vN"."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from sqlalchemy import insert, select, update

from . import tables
from .errors import InvalidInputError, NotFoundError
from .log_replay import FACT_FIELDS, fact_from_snapshot, rows_as_of
from .normalize import clean_namespace
from .record_types import Fact, Note, VersionRecord, fact_text
from .timeparse import parse_time, utcnow
from .versions import next_version

if TYPE_CHECKING:
    from .context import StoreContext
    from .index_cache import SearchCache
    from .versions import VersionLog

F, N = tables.facts, tables.notes


def _ns_rows(state: dict[int, dict | None], namespace: str) -> dict[int, dict | None]:
    """Only this namespace's after-images (records of earlier versions could span namespaces)."""
    return {i: s for i, s in state.items() if s is None or s.get("namespace") == namespace}


def _later_ids(log: list[VersionRecord], target: int, kind: str, namespace: str) -> set[int]:
    ids = set()
    for rec in log:
        if rec.version <= target:
            continue
        own = rec.namespace == namespace
        if own:
            images = {}
        else:  # a record of an earlier version spanning namespaces: only this namespace's rows
            snaps = [x for side in (rec.after, rec.before) for x in (side if isinstance(side, list) else [side])]
            images = {x.get("id"): x.get("namespace") for x in snaps if isinstance(x, dict)}
        for item in rec.affected:
            if item.get("kind") != kind:
                continue
            if "first_id" in item and own:  # a streamed import (always one namespace)
                ids.update(range(item["first_id"], item["last_id"] + 1))
            elif "id" in item and (own or images.get(item["id"]) == namespace):
                ids.add(item["id"])
    return ids


def revert_summary(record: VersionRecord) -> dict:
    """What a revert changed, per row: kind, id, what it says, status before and after."""
    before = {(("fact" if "subject" in b else "note"), b["id"]): b for b in record.before or []}
    changes = []
    for a in record.after or []:
        kind = "fact" if "subject" in a else "note"
        was = before.get((kind, a["id"]))
        what = f"{a['subject']} {a['predicate']} {a['object']}" if kind == "fact" else a["text"][:80]
        changes.append({"kind": kind, "id": a["id"], "what": what, "from": was["status"] if was else "deleted",
                        "to": a["status"]})
    return {**record.to_dict(full=False), "changed": len(changes), "changes": changes}


class Reverter:
    def __init__(self, ctx: StoreContext, versions: VersionLog, cache: SearchCache):
        self.ctx = ctx
        self.versions = versions
        self.cache = cache

    def revert(self, version: Any, *, namespace: str = "default", actor: str | None = None) -> VersionRecord:
        """Restore `namespace`'s facts and notes to their state at `version`, as one new version."""
        ns = clean_namespace(namespace)
        target = self.versions.parse_as_of(version)
        now = utcnow()
        with self.ctx.transaction() as conn:
            new_version = next_version(conn)
            if target == new_version - 1:
                raise InvalidInputError(f"version {target} is already the current state")
            log = self.versions.log(namespace=ns, shared=True, conn=conn)
            fact_then = _ns_rows(rows_as_of(log, target, "fact"), ns)
            note_then = _ns_rows(rows_as_of(log, target, "note"), ns)
            later_facts, later_notes = _later_ids(log, target, "fact", ns), _later_ids(log, target, "note", ns)
            rows_f = {r.id: r for r in conn.execute(select(F).where(F.c.id.in_(later_facts), F.c.namespace == ns))}
            rows_n = {r.id: r for r in conn.execute(select(N).where(N.c.id.in_(later_notes), N.c.namespace == ns))}
            revive_f = {i: fact_then[i] for i in sorted(later_facts - set(rows_f)) if fact_then.get(i)}
            # A streamed import's notes have no image in the log (only their row): never revived once pruned.
            revive_n = {i: note_then[i] for i in sorted(later_notes - set(rows_n))
                        if note_then.get(i) and "bulk_version" not in note_then[i]}
            fvecs = dict(zip(revive_f, self.ctx.embed([fact_text(s["subject"], s["predicate"], s["object"])
                                                   for s in revive_f.values()])))
            nvecs = dict(zip(revive_n, self.ctx.embed([s["text"] for s in revive_n.values()])))
            affected, before, after = [], [], []
            for fid in sorted(later_facts):
                snap, row = fact_then.get(fid), rows_f.get(fid)
                current = Fact.from_row(row) if row is not None else None
                if current is not None and snap is None:
                    if current.status == "retracted":
                        continue  # born later and already retracted: nothing to undo
                    values = {"status": "retracted", "retired_at": now, "in_conflict": False}
                elif current is not None and snap is not None:
                    restored = fact_from_snapshot(snap)
                    values = {k: getattr(restored, k) for k in FACT_FIELDS}
                    if all(getattr(current, k) == v for k, v in values.items()):
                        continue  # changed and changed back: already as it was
                elif snap is not None:
                    restored = fact_from_snapshot(snap)
                    conn.execute(insert(F).values(
                        id=fid, **{k: getattr(restored, k) for k in FACT_FIELDS}, namespace=ns,
                        subject=restored.subject, predicate=restored.predicate, object=restored.object,
                        recorded_at=restored.recorded_at, source=restored.source, meta=restored.metadata,
                        embedding=np.asarray(fvecs[fid], dtype=np.float32).tobytes(),
                        created_version=new_version, version=new_version))
                    values = None
                else:
                    continue
                if current is not None:
                    before.append(current.to_dict())
                if values is not None:
                    conn.execute(update(F).where(F.c.id == fid).values(version=new_version, **values))
                affected.append({"kind": "fact", "id": fid})
                after.append(Fact.from_row(conn.execute(select(F).where(F.c.id == fid)).one()).to_dict())
            for nid in sorted(later_notes):
                snap, row = note_then.get(nid), rows_n.get(nid)
                if row is not None:
                    current = Note.from_row(row)
                    if snap is None and current.status == "retracted":
                        continue  # born later and already retracted: nothing to undo
                    values = ({"status": "retracted", "retired_at": now} if snap is None else
                              {"status": "active", "retired_at": None} if "bulk_version" in snap else
                              {"status": snap["status"],
                               "retired_at": parse_time(snap["retired_at"]) if snap.get("retired_at") else None,
                               "expires_at": parse_time(snap["expires_at"]) if snap.get("expires_at") else None})
                    if snap is not None and all(getattr(current, k) == v for k, v in values.items()):
                        continue  # already as it was
                    before.append(current.to_dict())
                    conn.execute(update(N).where(N.c.id == nid).values(version=new_version, **values))
                elif snap is not None and "bulk_version" not in snap:
                    conn.execute(insert(N).values(
                        id=nid, namespace=ns, note_type=snap["note_type"], text=snap["text"],
                        speaker=snap.get("speaker"), external_id=snap.get("external_id"), thread=snap.get("thread"),
                        occurred_at=parse_time(snap["occurred_at"]) if snap.get("occurred_at") else None,
                        recorded_at=parse_time(snap["recorded_at"]), status=snap["status"],
                        expires_at=parse_time(snap["expires_at"]) if snap.get("expires_at") else None,
                        retired_at=None, meta=snap.get("metadata") or {},
                        embedding=np.asarray(nvecs[nid], dtype=np.float32).tobytes(),
                        created_version=new_version, version=new_version))
                else:
                    continue
                affected.append({"kind": "note", "id": nid})
                after.append(Note.from_row(conn.execute(select(N).where(N.c.id == nid)).one()).to_dict())
            if not affected:
                raise NotFoundError(f"nothing in namespace {ns!r} changed after version {target}")
            self.ctx.write_version(conn, version=new_version, op="revert", namespace=ns, affected=affected,
                                     before=before, after=after, actor=actor)
        self.cache.refresh(ns)
        return self.versions.log(namespace=ns, since=new_version - 1, limit=1)[0]
