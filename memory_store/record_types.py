"""Typed records returned by the store (Fact, Note, SearchResult, WriteResult, VersionRecord). Plain
dataclasses with a stable `to_dict()` JSON shape; the SQL tables they are read from are tables.py."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from .timeparse import as_utc, iso

FACT_STATUSES = ("active", "superseded", "expired", "retracted")
NOTE_STATUSES = ("active", "expired", "retracted")


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso(value)
    return value


@dataclass
class Fact:
    id: int
    namespace: str
    subject: str
    predicate: str
    object: str
    status: str
    valid_from: datetime
    valid_to: datetime | None
    recorded_at: datetime
    retired_at: datetime | None
    expires_at: datetime | None
    confidence: float
    source: str
    validation_count: int
    last_validated_at: datetime | None
    supersedes_id: int | None
    superseded_by_id: int | None
    in_conflict: bool
    version: int
    created_version: int
    metadata: dict = field(default_factory=dict)

    @property
    def text(self) -> str:
        return fact_text(self.subject, self.predicate, self.object)

    def to_dict(self) -> dict:
        return {k: _jsonable(v) for k, v in asdict(self).items()}

    @classmethod
    def from_row(cls, row: Any) -> Fact:
        m = row._mapping
        return cls(
            id=m["id"], namespace=m["namespace"], subject=m["subject"], predicate=m["predicate"],
            object=m["object"], status=m["status"], valid_from=as_utc(m["valid_from"]),
            valid_to=as_utc(m["valid_to"]), recorded_at=as_utc(m["recorded_at"]),
            retired_at=as_utc(m["retired_at"]), expires_at=as_utc(m["expires_at"]),
            confidence=float(m["confidence"]), source=m["source"], validation_count=m["validation_count"],
            last_validated_at=as_utc(m["last_validated_at"]), supersedes_id=m["supersedes_id"],
            superseded_by_id=m["superseded_by_id"], in_conflict=bool(m["in_conflict"]),
            version=m["version"], created_version=m["created_version"], metadata=dict(m["meta"] or {}),
        )


@dataclass
class Note:
    id: int
    namespace: str
    note_type: str
    text: str
    speaker: str | None
    external_id: str | None
    thread: str | None
    occurred_at: datetime | None
    recorded_at: datetime
    expires_at: datetime | None
    retired_at: datetime | None
    status: str
    version: int
    created_version: int
    metadata: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {k: _jsonable(v) for k, v in asdict(self).items()}

    @classmethod
    def from_row(cls, row: Any) -> Note:
        m = row._mapping
        return cls(
            id=m["id"], namespace=m["namespace"], note_type=m["note_type"], text=m["text"],
            speaker=m["speaker"], external_id=m["external_id"], thread=m["thread"],
            occurred_at=as_utc(m["occurred_at"]), recorded_at=as_utc(m["recorded_at"]),
            expires_at=as_utc(m["expires_at"]), retired_at=as_utc(m["retired_at"]), status=m["status"],
            version=m["version"], created_version=m["created_version"], metadata=dict(m["meta"] or {}),
        )


@dataclass
class SearchResult:
    id: int
    kind: str  # "fact" | "note"
    text: str
    score: float
    metadata: dict
    status: str
    namespace: str

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class WriteResult:
    """What one add_fact did: inserted, validated, superseded (older ones), history (old news),
    conflict (a tie the rule cannot break: both stay active), or added (multi-valued predicate)."""

    fact: Fact
    action: str
    version: int
    superseded: list[int] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"action": self.action, "version": self.version, "superseded": self.superseded,
                "fact": self.fact.to_dict()}


@dataclass
class VersionRecord:
    version: int
    at: datetime
    actor: str
    op: str
    namespace: str | None
    affected: list
    before: Any = None
    after: Any = None

    def to_dict(self, *, full: bool = True) -> dict:
        data = {"version": self.version, "at": iso(self.at), "actor": self.actor, "op": self.op,
                "namespace": self.namespace, "affected": self.affected}
        if full:
            data.update(before=self.before, after=self.after)
        return data


def fact_text(subject: str, predicate: str, obj: str) -> str:
    """The sentence a fact is embedded and keyword-indexed as."""
    return f"{subject} {predicate.replace('_', ' ')} {obj}"
