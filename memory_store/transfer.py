"""Import and export JSONL, all-or-nothing, mixed into MemoryStore.

`jsonl` lines are {"type": "fact", subject, predicate, object, ...} or {"type": "note", text, ...} (what
export writes). `conversation` lines are one message each: {id, speaker, text, time[, thread]}; they
become notes whose external_id keeps the message id. Every line is validated before anything is
written; the first bad line is reported with its number and nothing is imported."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .errors import InvalidInputError, UserError
from .facts import FactInput, validate_fact_input
from .notes import NoteInput, validate_note_input

FACT_KEYS = {"subject", "predicate", "object", "namespace", "valid_from", "ttl", "expires_at", "confidence",
             "source", "metadata"}
NOTE_KEYS = {"text", "namespace", "note_type", "speaker", "external_id", "thread", "occurred_at", "ttl",
             "expires_at", "metadata"}
CONVERSATION_KEYS = {"id", "speaker", "text", "time", "thread", "metadata"}
FORMATS = ("jsonl", "conversation")


def parse_line(raw: str, number: int, fmt: str, namespace: str | None) -> FactInput | NoteInput:
    try:
        obj = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise InvalidInputError(f"line {number}: not valid JSON ({exc.msg})") from None
    if not isinstance(obj, dict):
        raise InvalidInputError(f"line {number}: expected a JSON object")
    try:
        if fmt == "conversation":
            unknown = set(obj) - CONVERSATION_KEYS
            if unknown:
                raise InvalidInputError(f"unknown field {sorted(unknown)[0]!r}")
            for key in ("id", "text"):
                if key not in obj:
                    raise InvalidInputError(f"missing field {key!r}")
            return validate_note_input(obj["text"], namespace=namespace or "default", note_type="message",
                                       speaker=obj.get("speaker"), external_id=str(obj["id"]),
                                       thread=obj.get("thread"), occurred_at=obj.get("time"),
                                       metadata=obj.get("metadata"))
        kind = obj.get("type")
        fields = {k: v for k, v in obj.items() if k != "type"}
        if namespace:
            fields["namespace"] = namespace
        if kind == "fact":
            fields = {k: v for k, v in fields.items() if k in FACT_KEYS}  # exported extras (ids, status) are ignored
            missing = [k for k in ("subject", "predicate", "object") if k not in fields]
            if missing:
                raise InvalidInputError(f"missing field {missing[0]!r}")
            return validate_fact_input(fields.pop("subject"), fields.pop("predicate"), fields.pop("object"), **fields)
        if kind == "note":
            fields = {k: v for k, v in fields.items() if k in NOTE_KEYS}
            if "text" not in fields:
                raise InvalidInputError("missing field 'text'")
            return validate_note_input(fields.pop("text"), **fields)
        raise InvalidInputError(f"field 'type' must be 'fact' or 'note', got {kind!r}")
    except InvalidInputError as exc:
        raise InvalidInputError(f"line {number}: {exc}") from None


def read_items(path: str | Path, fmt: str, namespace: str | None) -> list[FactInput | NoteInput]:
    if fmt not in FORMATS:
        raise InvalidInputError(f"unknown format {fmt!r}; use jsonl or conversation")
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError(f"no such file: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"cannot read {path}: {exc}") from None
    items = [parse_line(raw, n, fmt, namespace) for n, raw in enumerate(text.splitlines(), 1) if raw.strip()]
    if not items:
        raise InvalidInputError(f"{path}: no records to import")
    return items


class TransferMixin:
    def import_jsonl(self, path: str | Path, *, format: str = "jsonl", namespace: str | None = None,
                     actor: str | None = None) -> dict:
        items = read_items(path, format, namespace)
        facts = [i for i in items if isinstance(i, FactInput)]
        notes = [i for i in items if isinstance(i, NoteInput)]
        facts = [self._resolve_aliases(f) for f in facts]
        from .models import fact_text

        fact_vecs = self.embed([fact_text(f.subject, f.predicate, f.object) for f in facts]) if facts else []
        note_vecs = self.embed_notes(notes) if notes else []
        actions: dict[str, int] = {}
        with self._transaction() as conn:
            version = self._next_version(conn)
            affected, before, after = [], [], []
            for item, vec in zip(facts, fact_vecs):
                res, changed = self._apply_assertion(conn, item, vec, version)
                actions[res.action] = actions.get(res.action, 0) + 1
                before.extend(changed)
                affected.append({"kind": "fact", "id": res.fact.id})
            written = self._insert_notes(conn, notes, note_vecs, version, op="import") if notes else []
            affected += [{"kind": "note", "id": n.id} for n in written]
            touched = self._facts_by_ids(conn, sorted({a["id"] for a in affected if a["kind"] == "fact"} |
                                                       {b["id"] for b in before}))
            after = [f.to_dict() for f in touched] + [n.to_dict() for n in written]
            affected = [{"kind": "fact", "id": f.id} for f in touched] + [{"kind": "note", "id": n.id} for n in written]
            namespaces = {i.namespace for i in items}
            self._insert_version_row(conn, version, op="import", namespace=namespaces.pop() if len(namespaces) == 1 else None,
                                     affected=affected, before=before or None, after=after, actor=actor)
        self._after_write(version, facts=touched, notes=written)
        return {"version": version, "facts": len(facts), "notes": len(written), "actions": actions}

    def export_jsonl(self, path: str | Path, *, namespace: str | None = None, include_history: bool = True) -> int:
        """Write facts (all statuses when include_history) and notes as JSONL; returns the line count."""
        namespaces = [namespace] if namespace else self.namespaces()
        lines = []
        for ns in namespaces:
            for f in self.facts(namespace=ns, status="all" if include_history else "active"):
                lines.append({"type": "fact", **f.to_dict()})
            for n in self.notes(namespace=ns, status="all" if include_history else "active"):
                lines.append({"type": "note", **n.to_dict()})
        target = Path(path)
        tmp = target.with_name(target.name + ".tmp")
        try:
            with open(tmp, "w", encoding="utf-8") as fh:
                for line in lines:
                    fh.write(json.dumps(line, ensure_ascii=False, default=str) + "\n")
            tmp.replace(target)
        except OSError as exc:
            raise UserError(f"cannot write {path}: {exc}") from None
        return len(lines)


