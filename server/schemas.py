"""Request bodies. Types and sizes are checked here; the values themselves are validated by the store, so a
client gets the same message the CLI prints. Unknown fields are refused (a typo must not be ignored)."""
from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

MAX_BATCH = 1000  # notes or queries in one request
MAX_K = 100


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FactIn(Body):
    subject: str = Field(max_length=100_000)
    predicate: str = Field(max_length=100_000)
    object: str = Field(max_length=100_000)
    valid_from: str | None = Field(None, max_length=100)
    ttl: str | None = Field(None, max_length=100)
    confidence: float = 1.0
    source: str = Field("user", max_length=500)


class NoteIn(Body):
    text: str = Field(max_length=100_000)
    speaker: str | None = Field(None, max_length=500)
    ttl: str | None = Field(None, max_length=100)
    metadata: dict[str, Any] | None = None
    note_type: str = Field("observation", max_length=100)
    thread: str | None = Field(None, max_length=500)
    external_id: str | None = Field(None, max_length=500)
    occurred_at: str | None = Field(None, max_length=100)


class NotesIn(Body):
    notes: list[NoteIn] = Field(min_length=1, max_length=MAX_BATCH)


class SearchIn(Body):
    query: str = Field(max_length=10_000)
    k: int = Field(10, ge=1, le=MAX_K)
    kind: Literal["all", "fact", "note"] = "all"
    include_expired: bool = False
    include_superseded: bool = False
    metadata: dict[str, Any] | None = None
    status: str | None = Field(None, max_length=200, description="Comma-separated statuses, or all.")
    as_of: str | None = Field(None, max_length=100, description="vN or an ISO time: facts as the store held them.")
    valid_at: str | None = Field(None, max_length=100, description="World time: facts true then, notes written by then.")


class SearchManyIn(Body):
    queries: list[str] = Field(min_length=1, max_length=MAX_BATCH)
    k: int = Field(10, ge=1, le=MAX_K)
    kind: Literal["all", "fact", "note"] = "all"
    include_expired: bool = False
    include_superseded: bool = False
    metadata: dict[str, Any] | None = None


class RetractIn(Body):
    reason: str | None = Field(None, max_length=1000)


class RevertIn(Body):
    version: str | int


class PruneIn(Body):
    expired: bool = False
    superseded: bool = False
    retracted: bool = False
    older_than: str = Field("30d", max_length=100)
    dry_run: bool = True  # a client must ask for the deletion


class SkillSearchIn(Body):
    text: str = Field(max_length=10_000)
    k: int = Field(5, ge=1, le=MAX_K)
    include_deprecated: bool = False


class SkillCallIn(Body):
    args: dict[str, Any] = Field(default_factory=dict)
    task: str | None = Field(None, max_length=10_000)
    timeout: float | None = Field(None, gt=0, le=600)


class ConsolidateIn(Body):
    strategy: str = Field("replay", max_length=100)
    epochs: int | None = Field(None, ge=1, le=1000)
    replay_size: int | None = Field(None, ge=0, le=1_000_000)


class RollbackIn(Body):
    checkpoint_id: int = Field(ge=0)
