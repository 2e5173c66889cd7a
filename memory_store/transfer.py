"""Import and export JSONL, all-or-nothing and idempotent: the Transfer service of MemoryStore.

An import works in one namespace (default `default`; a row's own `namespace` field is ignored). Every
line is validated before anything is written; the first bad line is reported with its number and
nothing is imported. Active notes are streamed (bulk_notes.py): embedded in batches into a staging file
outside the write lock, then written in batches inside ONE transaction, so memory stays bounded and a
failure or a kill leaves nothing. Facts, policies, aliases and restored history are read into memory.

Idempotent: a message (or note) whose external id the namespace already holds, an exported fact or note
whose id the namespace holds with the same content, and a policy or alias identical to the stored one
are skipped and counted, so `memory export f && memory import f` on one store adds nothing (and an
import that changes nothing writes no version). Active facts of a hand-written file go through the
normal conflict resolution, so importing into a namespace that already holds data merges."""
from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from sqlalchemy import insert, select, update

from . import tables
from .bulk_notes import BULK_BATCH, StagedVectors, batches, is_streamed, present_positions
from .errors import InvalidInputError, UserError
from .fact_reads import facts_by_ids
from .jsonl_format import Line, iter_records
from .normalize import MAX_WHOLE, clean_namespace
from .note_text import embedding_texts
from .predicate_rules import put_alias, put_policy
from .record_types import Note, fact_text
from .safe_write import write_atomically
from .timeparse import utcnow
from .versions import next_version

if TYPE_CHECKING:
    from .context import StoreContext
    from .fact_reads import FactReads
    from .facts import Facts
    from .index_cache import SearchCache
    from .notes import Notes
    from .predicate_rules import PredicateRules

F, N = tables.facts, tables.notes
Progress = Callable[[str, int, int], None]


def _signature(path) -> tuple:
    st = os.stat(path)
    return st.st_size, st.st_mtime_ns, st.st_ino


class Transfer:
    def __init__(self, ctx: StoreContext, facts: Facts, reads: FactReads, notes: Notes, rules: PredicateRules,
                 cache: SearchCache):
        self.ctx = ctx
        self.facts = facts
        self.reads = reads
        self.notes = notes
        self.rules = rules
        self.cache = cache

    def import_jsonl(self, path: str | Path, *, format: str = "jsonl", namespace: str = "default",
                     actor: str | None = None, batch_size: int = BULK_BATCH, progress: Progress | None = None) -> dict:
        ns = clean_namespace(namespace)
        small: list[Line] = []
        streamed = 0
        for ln in iter_records(path, format, ns):  # pass 1: validate everything, keep only the small kinds
            if is_streamed(ln):
                streamed += 1
            else:
                small.append(ln)
        if not small and not streamed:
            raise InvalidInputError(f"{path}: no records to import")
        signature = _signature(path)
        records = lambda: (ln for ln in iter_records(path, format, ns) if is_streamed(ln))  # noqa: E731
        facts = [ln for ln in small if ln.kind == "fact"]
        notes = [ln for ln in small if ln.kind == "note"]
        for ln in facts:
            if ln.status == "active":
                self.rules.resolve_aliases(ln.item)
        fact_vecs = self.ctx.embed([fact_text(ln.item.subject, ln.item.predicate, ln.item.object) for ln in facts])
        note_vecs = self.notes.embed_notes([ln.item for ln in notes]) if notes else []
        skipped = {"facts": 0, "notes": 0, "policies": 0, "aliases": 0}
        with tempfile.TemporaryDirectory(prefix=".import-", dir=self.ctx.home) as tmp:
            stage = StagedVectors(Path(tmp) / "vectors.f32", self.ctx.embedder.dim)
            self._stage_notes(stage, records(), ns, batch_size, streamed, progress)  # pass 2: no lock held
            if _signature(path) != signature:
                raise UserError(f"{path} changed while it was being imported; nothing was imported")
            with self.ctx.transaction() as conn:  # pass 3: one transaction
                version = next_version(conn)
                affected, before, touched, written, actions = self._write_small(
                    conn, small, facts, fact_vecs, notes, note_vecs, ns, version, skipped)
                bulk = self._write_staged(conn, stage, records(), ns, version, batch_size, streamed, progress)
                skipped["notes"] += bulk["skipped"]
                if bulk["count"]:
                    affected.append({"kind": "note", "first_id": bulk["first_id"], "last_id": bulk["last_id"],
                                     "count": bulk["count"]})
                if affected:
                    self.ctx.write_version(conn, version=version, op="import", namespace=ns, affected=affected,
                                             before=before or None, after=[f.to_dict() for f in touched] +
                                             [n.to_dict() for n in written], actor=actor)
        if not affected:
            return {"version": None, "facts": 0, "notes": 0, "policies": 0, "aliases": 0, "actions": {},
                    "skipped": skipped}
        self.cache.after_write(version, facts=touched, notes=written)
        if bulk["count"]:
            self.cache.refresh(ns)
        return {"version": version, "facts": sum(actions.values()), "notes": len(written) + bulk["count"],
                "policies": sum(a["kind"] == "policy" for a in affected),
                "aliases": sum(a["kind"] == "alias" for a in affected), "actions": actions, "skipped": skipped}

    def _stage_notes(self, stage: StagedVectors, records, ns: str, batch_size: int, total: int,
                     progress: Progress | None) -> None:
        """Embed the streamed notes batch by batch into the staging file (notes already stored get a zero
        vector and are skipped when written)."""
        done = 0
        for batch in batches(records, batch_size):
            with self.ctx.engine.connect() as conn:
                present = present_positions(conn, ns, batch)
            texts = embedding_texts([ln.item for ln in batch])
            vecs = np.zeros((len(batch), self.ctx.embedder.dim), dtype=np.float32)
            fresh = [i for i in range(len(batch)) if i not in present]
            if fresh:
                vecs[fresh] = self.ctx.embedder.encode([texts[i] for i in fresh], batch_size=64)
            stage.append(vecs)
            done += len(batch)
            if progress:
                progress("embedding", done, total)
        stage.finish()

    def _write_staged(self, conn, stage: StagedVectors, records, ns: str, version: int, batch_size: int,
                      total: int, progress: Progress | None) -> dict:
        out = {"count": 0, "skipped": 0, "first_id": None, "last_id": None}
        done = 0
        for batch, vecs in zip(batches(records, batch_size), stage.read_batches(batch_size)):
            present = present_positions(conn, ns, batch)  # also sees this import's own earlier batches
            keep, keys = [], set()
            for i, ln in enumerate(batch):
                key = ln.item.external_id
                if i in present or (key is not None and key in keys):
                    out["skipped"] += 1
                    continue
                keys.add(key) if key is not None else None
                keep.append(i)
            if keep:
                notes = self.notes.insert_notes(conn, [batch[i].item for i in keep], vecs[keep], version, op="import")
                out["first_id"] = out["first_id"] or notes[0].id
                out["last_id"] = notes[-1].id
                out["count"] += len(notes)
            done += len(batch)
            if progress:
                progress("writing", done, total)
        return out

    def _write_small(self, conn, small, facts, fact_vecs, notes, note_vecs, ns, version, skipped):
        """Policies, aliases, facts and restored notes (what is read into memory), skipping what the
        namespace already holds. Returns (affected, before, touched facts, written notes, actions)."""
        affected, before = [], []
        P, A = tables.policies, tables.aliases
        for ln in small:
            if ln.kind == "policy":
                old = conn.execute(select(P).where(P.c.namespace == ns, P.c.predicate == ln.item["predicate"])).first()
                if old is not None and {k: old._mapping[k] for k in ln.item} == ln.item:
                    skipped["policies"] += 1
                    continue
                old = put_policy(conn, ln.item)
                before += [old] if old else []
                affected.append({"kind": "policy", "id": ln.item["predicate"]})
            elif ln.kind == "alias":
                old = conn.execute(select(A.c.canonical).where(A.c.namespace == ns, A.c.kind == ln.item["kind"],
                                                               A.c.alias == ln.item["alias"])).first()
                if old is not None and old[0] == ln.item["canonical"]:
                    skipped["aliases"] += 1
                    continue
                put_alias(conn, ln.item)
                affected.append({"kind": "alias", "id": ln.item["alias"]})
        new_ids: dict[int, int] = {}  # exported id -> new id, to relink restored history
        actions: dict[str, int] = {}
        written_facts = []
        for ln, vec in zip(facts, fact_vecs):
            own = ln.links.get("id")
            row = conn.execute(select(F.c.subject, F.c.predicate, F.c.object).where(
                F.c.id == own, F.c.namespace == ns)).first() if own is not None and 0 < own <= MAX_WHOLE else None
            if row is not None and tuple(row) == (ln.item.subject, ln.item.predicate, ln.item.object):
                skipped["facts"] += 1  # this store's own row, exported and imported back
                new_ids[own] = own
                continue
            if ln.status == "active":
                res, changed = self.facts.apply_assertion(conn, ln.item, vec, version)
                before.extend(changed)
                action, fact_id = res.action, res.fact.id
            else:
                action, fact_id = f"restored {ln.status}", self._insert_history(conn, ln, vec, version)
            actions[action] = actions.get(action, 0) + 1
            if own is not None:
                new_ids[own] = fact_id
            ln.links["new"] = fact_id
            written_facts.append(ln)
        self._relink(conn, written_facts, new_ids)
        keep = [i for i in sorted(set(range(len(notes))) - present_positions(conn, ns, notes))]
        skipped["notes"] += len(notes) - len(keep)
        notes, note_vecs = [notes[i] for i in keep], [note_vecs[i] for i in keep]
        written = self.notes.insert_notes(conn, [ln.item for ln in notes], note_vecs, version, op="import") \
            if notes else []
        now = utcnow()
        for ln, note in zip(notes, written):
            if ln.status != "active":
                conn.execute(update(N).where(N.c.id == note.id).values(
                    status=ln.status, retired_at=ln.retired_at or now))
        if written:
            written = [Note.from_row(r) for r in conn.execute(
                select(N).where(N.c.id.in_([n.id for n in written])).order_by(N.c.id))]
        touched = facts_by_ids(conn, sorted({ln.links["new"] for ln in written_facts} |
                                                   {b["id"] for b in before if "subject" in b}))
        affected += [{"kind": "fact", "id": f.id} for f in touched] + [{"kind": "note", "id": n.id} for n in written]
        return affected, before, touched, written, actions

    def _insert_history(self, conn, ln: Line, vector, version: int) -> int:
        """An exported superseded / expired / retracted fact, stored as it was: never active."""
        item, now = ln.item, utcnow()
        row = dict(namespace=item.namespace, subject=item.subject, predicate=item.predicate, object=item.object,
                   status=ln.status, valid_from=item.valid_from or self.ctx.now(), valid_to=ln.valid_to, recorded_at=now,
                   retired_at=ln.retired_at or now, expires_at=item.expires_at, confidence=item.confidence,
                   source=item.source, validation_count=0, last_validated_at=None, supersedes_id=None,
                   superseded_by_id=None, in_conflict=False, meta=item.metadata,
                   embedding=np.asarray(vector, dtype=np.float32).tobytes(), created_version=version, version=version)
        return int(conn.execute(insert(F).values(**row)).inserted_primary_key[0])

    @staticmethod
    def _relink(conn, facts: list[Line], new_ids: dict[int, int]) -> None:
        """Supersede links between rows of the same file point at their new ids (links to rows the file
        does not hold are dropped rather than left pointing at unrelated rows)."""
        for ln in facts:
            if ln.status == "active":
                continue
            values = {k: new_ids[ln.links[k]] for k in ("supersedes_id", "superseded_by_id")
                      if ln.links.get(k) in new_ids}
            if values:
                conn.execute(update(F).where(F.c.id == ln.links["new"]).values(**values))

    def export_jsonl(self, path: str | Path, *, namespace: str = "default", include_history: bool = True) -> int:
        """Write one namespace's policies, aliases, facts (all statuses when include_history) and notes as
        JSONL; returns the line count. Written through a symlink to its regular file, never over a
        device or a directory, and atomically (a temporary file beside it, renamed)."""
        import json

        ns = clean_namespace(namespace)
        status = "all" if include_history else "active"
        count = 0

        def write(fh) -> None:
            nonlocal count
            with self.ctx.engine.connect() as conn:
                for r in conn.execute(select(tables.policies).where(tables.policies.c.namespace == ns)
                                      .order_by(tables.policies.c.predicate)):
                    fh.write(json.dumps({"type": "policy", **dict(r._mapping)}, ensure_ascii=False, default=str) + "\n")
                    count += 1
                for r in conn.execute(select(tables.aliases).where(tables.aliases.c.namespace == ns)
                                      .order_by(tables.aliases.c.kind, tables.aliases.c.alias)):
                    fh.write(json.dumps({"type": "alias", **dict(r._mapping)}, ensure_ascii=False, default=str) + "\n")
                    count += 1
            for kind, rows in (("fact", self.reads.facts(namespace=ns, status=status)),
                               ("note", self.notes.notes(namespace=ns, status=status))):
                for row in rows:
                    fh.write(json.dumps({"type": kind, **row.to_dict()}, ensure_ascii=False, default=str) + "\n")
                    count += 1

        write_atomically(path, write)
        return count
