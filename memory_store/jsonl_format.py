"""The JSONL formats of import and export, one validated line at a time (pure parsing, no I/O beyond
reading the file).

`jsonl` lines are what export writes: {"type": "policy" | "alias" | "fact" | "note", ...}. A fact or note
whose `status` is not active (superseded, expired, retracted) is restored as history with that status;
lines without a status (hand-written files) are active. `conversation` lines are one message each:
{id, speaker, text, time[, thread]}; they become notes whose external_id keeps the message id."""
from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from itertools import count
from pathlib import Path

from .errors import InvalidInputError, UserError, shown
from .facts import FactInput, validate_fact_input
from .normalize import MAX_INPUT_BYTES, parse_json
from .notes import NoteInput, validate_note_input
from .predicate_rules import alias_row, policy_row
from .record_types import FACT_STATUSES, NOTE_STATUSES
from .timeparse import parse_time

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
        obj = parse_json(raw, what=f"line {number}")  # no NaN/Infinity, no duplicate keys, bounded depth
    except json.JSONDecodeError as exc:
        raise InvalidInputError(f"line {number}: not valid JSON ({exc.msg})") from None
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


def iter_records(path: str | Path, fmt: str, namespace: str | None) -> Iterator[Line]:
    """The file's records, validated one line at a time (never the whole file in memory). Only \n (or
    \r\n) ends a line: splitlines() would also split inside text at \r, \u2028, \x1c, \x85...; a
    leading byte-order mark is not data."""
    if fmt not in FORMATS:
        raise InvalidInputError(f"unknown format {shown(fmt)}; use jsonl or conversation")
    try:
        fh = open(path, "rb")  # noqa: SIM115 (closed below; the generator owns it)
    except FileNotFoundError:
        raise UserError(f"no such file: {path}") from None
    except OSError as exc:
        raise UserError(f"cannot read {path}: {exc.strerror or exc}") from None
    with fh:
        # Import reads the file more than once (validate, then write), so a pipe or a device (/dev/zero,
        # /dev/stdin) cannot be imported: refused before one byte is read.
        if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
            raise UserError(f"cannot read {path}: not a regular file (pipes and devices cannot be imported)")
        offset = 0
        for number in count(1):
            try:
                raw = fh.readline(MAX_INPUT_BYTES + 1)  # a line without end never fills memory
            except OSError as exc:
                raise UserError(f"cannot read {path}: {exc.strerror or exc}") from None
            if not raw:
                return
            if len(raw) > MAX_INPUT_BYTES:
                raise InvalidInputError(f"{path}: line {number} is longer than {MAX_INPUT_BYTES // 2 ** 20} MiB")
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise UserError(f"cannot read {path}: not UTF-8 text (byte {offset + exc.start})") from None
            offset += len(raw)
            text = text.removeprefix("\ufeff") if number == 1 else text
            text = text.removesuffix("\n").removesuffix("\r")
            if text.strip():
                yield parse_line(text, number, fmt, namespace)
