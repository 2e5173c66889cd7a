"""Import and export JSONL, all-or-nothing, mixed into MemoryStore.

`jsonl` lines are what export writes: {"type": "policy" | "alias" | "fact" | "note", ...}. A fact or note
whose `status` is not active (superseded, expired, retracted) is restored as history with that status, so
an export imports back as the same memory (a retracted fact never comes back as true); active facts go
through the normal conflict resolution, so importing into a namespace that already holds data merges.
Lines without a status (hand-written files) are active. `conversation` lines are one message each:
{id, speaker, text, time[, thread]}; they become notes whose external_id keeps the message id. Every
line is validated before anything is written; the first bad line is reported with its number and
nothing is imported."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np
from sqlalchemy import insert, select, update

from . import schema
from .errors import InvalidInputError, UserError, shown
from .facts import FactInput, validate_fact_input
from .models import FACT_STATUSES, NOTE_STATUSES, Note, fact_text
from .normalize import clean_namespace
from .notes import NoteInput, validate_note_input
from .policies import alias_row, policy_row
from .timeparse import parse_time, utcnow

F, N = schema.facts, schema.notes
FACT_KEYS = {"subject", "predicate", "object", "namespace", "valid_from", "ttl", "expires_at", "confidence",
             "source", "metadata"}
NOTE_KEYS = {"text", "namespace", "note_type", "speaker", "external_id", "thread", "occurred_at", "ttl",
             "expires_at", "metadata"}
RESTORE_KEYS = {"id", "status", "valid_to", "retired_at", "supersedes_id", "superseded_by_id"}
POLICY_KEYS = {"namespace", "predicate", "functional", "ttl_seconds", "rule", "source_priority"}
ALIAS_KEYS = {"namespace", "kind", "alias", "canonical"}
CONVERSATION_KEYS = {"id", "speaker", "text", "time", "thread", "metadata"}
FORMATS = ("jsonl", "conversation")


@dataclass
class Line:
    """One validated line: what to write, and how an exported row is restored."""

    kind: str  # fact | note | policy | alias
    item: FactInput | NoteInput | dict
    status: str = "active"
    valid_to: datetime | None = None
    retired_at: datetime | None = None
    links: dict = field(default_factory=dict)  # exported id, supersedes_id, superseded_by_id


def _optional_id(obj: dict, key: str) -> int | None:
    value = obj.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInputError(f"field {key!r} must be a whole number, got {shown(value)}")
    return value


def _restore(obj: dict, kind: str, allowed: tuple[str, ...]) -> dict:
    status = obj.get("status", "active")
    if status not in allowed:
        raise InvalidInputError(f"unknown {kind} status {shown(status)}; use one of {', '.join(allowed)}")
    times = {k: parse_time(obj[k]) if obj.get(k) not in (None, "") else None for k in ("valid_to", "retired_at")}
    links = {k: _optional_id(obj, k) for k in ("id", "supersedes_id", "superseded_by_id")}
    return {"status": status, **times, "links": links}


def _parse_object(raw: str, number: int) -> dict:
    try:
        obj = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise InvalidInputError(f"line {number}: not valid JSON ({exc.msg})") from None
    except RecursionError:
        raise InvalidInputError(f"line {number}: JSON nested too deeply") from None
    if not isinstance(obj, dict):
        raise InvalidInputError(f"line {number}: expected a JSON object")
    return obj


def parse_line(raw: str, number: int, fmt: str, namespace: str | None) -> Line:
    obj = _parse_object(raw, number)
    try:
        if fmt == "conversation":
            unknown = set(obj) - CONVERSATION_KEYS
            if unknown:
                raise InvalidInputError(f"unknown field {shown(min(unknown))}")
            for key in ("id", "text"):
                if key not in obj:
                    raise InvalidInputError(f"missing field {key!r}")
            if isinstance(obj["id"], bool) or not isinstance(obj["id"], (str, int)):
                raise InvalidInputError(f"field 'id' must be text or a whole number, got {shown(obj['id'])}")
            return Line("note", validate_note_input(
                obj["text"], namespace=namespace or "default", note_type="message", speaker=obj.get("speaker"),
                external_id=str(obj["id"]), thread=obj.get("thread"), occurred_at=obj.get("time"),
                metadata=obj.get("metadata")))
        kind = obj.get("type")
        fields = {k: v for k, v in obj.items() if k != "type"}
        if namespace:
            fields["namespace"] = namespace
        if kind == "fact":
            missing = [k for k in ("subject", "predicate", "object") if k not in fields]
            if missing:
                raise InvalidInputError(f"missing field {missing[0]!r}")
            restore = _restore(fields, "fact", FACT_STATUSES)
            args = {k: v for k, v in fields.items() if k in FACT_KEYS}  # other exported fields are derived
            item = validate_fact_input(args.pop("subject"), args.pop("predicate"), args.pop("object"), **args)
            return Line("fact", item, **restore)
        if kind == "note":
            if "text" not in fields:
                raise InvalidInputError("missing field 'text'")
            restore = _restore(fields, "note", NOTE_STATUSES)
            args = {k: v for k, v in fields.items() if k in NOTE_KEYS}
            return Line("note", validate_note_input(args.pop("text"), **args), **restore)
        if kind == "policy":
            if "predicate" not in fields:
                raise InvalidInputError("missing field 'predicate'")
            args = {k: v for k, v in fields.items() if k in POLICY_KEYS}
            ttl = args.pop("ttl_seconds", None)
            return Line("policy", policy_row(args.pop("predicate"), ttl=ttl, **args))
        if kind == "alias":
            missing = [k for k in ("alias", "canonical") if k not in fields]
            if missing:
                raise InvalidInputError(f"missing field {missing[0]!r}")
            args = {k: v for k, v in fields.items() if k in ALIAS_KEYS}
            return Line("alias", alias_row(args.pop("alias"), args.pop("canonical"), **args))
        raise InvalidInputError(f"field 'type' must be 'fact', 'note', 'policy' or 'alias', got {shown(kind)}")
    except InvalidInputError as exc:
        raise InvalidInputError(f"line {number}: {exc}") from None


def read_lines(path: str | Path, fmt: str, namespace: str | None) -> list[Line]:
    if fmt not in FORMATS:
        raise InvalidInputError(f"unknown format {shown(fmt)}; use jsonl or conversation")
    try:
        # Bytes, then decode: read_text's universal newlines would end a line at a lone \r, which JSON
        # allows as whitespace inside a record. A leading byte-order mark is not data.
        text = Path(path).read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        raise UserError(f"no such file: {path}") from None
    except UnicodeDecodeError as exc:
        raise UserError(f"cannot read {path}: not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise UserError(f"cannot read {path}: {exc.strerror or exc}") from None
    # Only \n (or \r\n) ends a line: splitlines() would also split inside text at \r, \u2028, \x1c, \x85...
    lines = [parse_line(raw.removesuffix("\r"), n, fmt, namespace)
             for n, raw in enumerate(text.split("\n"), 1) if raw.strip()]
    if not lines:
        raise InvalidInputError(f"{path}: no records to import")
    return lines


class TransferMixin:
    def import_jsonl(self, path: str | Path, *, format: str = "jsonl", namespace: str | None = None,
                     actor: str | None = None) -> dict:
        if namespace is not None:
            namespace = clean_namespace(namespace)
        lines = read_lines(path, format, namespace)
        facts = [ln for ln in lines if ln.kind == "fact"]
        notes = [ln for ln in lines if ln.kind == "note"]
        for ln in facts:
            if ln.status == "active":
                self._resolve_aliases(ln.item)
        fact_vecs = self.embed([fact_text(ln.item.subject, ln.item.predicate, ln.item.object) for ln in facts])
        note_vecs = self.embed_notes([ln.item for ln in notes]) if notes else []
        actions: dict[str, int] = {}
        with self._transaction() as conn:
            version = self._next_version(conn)
            affected, before = [], []
            for ln in lines:
                if ln.kind == "policy":
                    old = self._put_policy(conn, ln.item)
                    before += [old] if old else []
                    affected.append({"kind": "policy", "id": ln.item["predicate"]})
                elif ln.kind == "alias":
                    self._put_alias(conn, ln.item)
                    affected.append({"kind": "alias", "id": ln.item["alias"]})
            new_ids: dict[int, int] = {}  # exported id -> new id, to relink restored history
            for ln, vec in zip(facts, fact_vecs):
                if ln.status == "active":
                    res, changed = self._apply_assertion(conn, ln.item, vec, version)
                    before.extend(changed)
                    action, fact_id = res.action, res.fact.id
                else:
                    action, fact_id = f"restored {ln.status}", self._insert_history(conn, ln, vec, version)
                actions[action] = actions.get(action, 0) + 1
                if ln.links.get("id") is not None:
                    new_ids[ln.links["id"]] = fact_id
                ln.links["new"] = fact_id
            self._relink(conn, facts, new_ids)
            written = self._insert_notes(conn, [ln.item for ln in notes], note_vecs, version, op="import") \
                if notes else []
            now = utcnow()
            for ln, note in zip(notes, written):
                if ln.status != "active":
                    conn.execute(update(N).where(N.c.id == note.id).values(
                        status=ln.status, retired_at=ln.retired_at or now))
            if any(ln.status != "active" for ln in notes):
                written = [Note.from_row(r) for r in conn.execute(
                    select(N).where(N.c.id.in_([n.id for n in written])).order_by(N.c.id))]
            touched = self._facts_by_ids(conn, sorted({ln.links["new"] for ln in facts} |
                                                       {b["id"] for b in before if "subject" in b}))
            after = [f.to_dict() for f in touched] + [n.to_dict() for n in written]
            affected += [{"kind": "fact", "id": f.id} for f in touched] + [{"kind": "note", "id": n.id} for n in written]
            namespaces = {ln.item.namespace if ln.kind in ("fact", "note") else ln.item["namespace"] for ln in lines}
            self._insert_version_row(conn, version, op="import", namespace=namespaces.pop() if len(namespaces) == 1 else None,
                                     affected=affected, before=before or None, after=after, actor=actor)
        self._after_write(version, facts=touched, notes=written)
        return {"version": version, "facts": len(facts), "notes": len(written),
                "policies": sum(ln.kind == "policy" for ln in lines), "aliases": sum(ln.kind == "alias" for ln in lines),
                "actions": actions}

    def _insert_history(self, conn, ln: Line, vector, version: int) -> int:
        """An exported superseded / expired / retracted fact, stored as it was: never active."""
        item, now = ln.item, utcnow()
        row = dict(namespace=item.namespace, subject=item.subject, predicate=item.predicate, object=item.object,
                   status=ln.status, valid_from=item.valid_from or self.now(), valid_to=ln.valid_to, recorded_at=now,
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

    def export_jsonl(self, path: str | Path, *, namespace: str | None = None, include_history: bool = True) -> int:
        """Write policies, aliases, facts (all statuses when include_history) and notes as JSONL; returns
        the line count. The file is written beside the target and renamed, so a failure leaves no half file."""
        namespaces = [clean_namespace(namespace)] if namespace is not None else self.namespaces()
        lines = []
        with self.engine.connect() as conn:
            for ns in namespaces:
                for r in conn.execute(select(schema.policies).where(schema.policies.c.namespace == ns)
                                      .order_by(schema.policies.c.predicate)):
                    lines.append({"type": "policy", **dict(r._mapping)})
                for r in conn.execute(select(schema.aliases).where(schema.aliases.c.namespace == ns)
                                      .order_by(schema.aliases.c.kind, schema.aliases.c.alias)):
                    lines.append({"type": "alias", **dict(r._mapping)})
        for ns in namespaces:
            for f in self.facts(namespace=ns, status="all" if include_history else "active"):
                lines.append({"type": "fact", **f.to_dict()})
            for n in self.notes(namespace=ns, status="all" if include_history else "active"):
                lines.append({"type": "note", **n.to_dict()})
        target = Path(path)
        tmp = target.with_name(target.name + ".tmp")
        try:
            with open(tmp, "w", encoding="utf-8") as fh:
                fh.writelines(json.dumps(line, ensure_ascii=False, default=str) + "\n" for line in lines)
            tmp.replace(target)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise UserError(f"cannot write {path}: {exc.strerror or exc}") from None
        return len(lines)
