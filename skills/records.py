"""Read models of the registry: what `list`, `show`, `stats` and `search` return. JSON via to_dict()."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any


@dataclass
class VersionStats:
    calls: int = 0
    successes: int = 0
    failures: dict[str, int] = field(default_factory=dict)
    total_latency_ms: float = 0.0
    last_used_at: datetime | None = None

    @property
    def mean_latency_ms(self) -> float | None:
        return round(self.total_latency_ms / self.calls, 3) if self.calls else None

    @property
    def success_rate(self) -> float | None:
        return round(self.successes / self.calls, 4) if self.calls else None

    def to_dict(self) -> dict:
        out = asdict(self)
        out["last_used_at"] = self.last_used_at.isoformat() if self.last_used_at else None
        out["mean_latency_ms"] = self.mean_latency_ms
        out["success_rate"] = self.success_rate
        out["total_latency_ms"] = round(self.total_latency_ms, 3)
        return out


@dataclass
class UsageExample:
    task: str
    args: dict
    version: int
    created_at: datetime | None = None

    def to_dict(self) -> dict:
        return {"task": self.task, "args": self.args, "version": self.version,
                "created_at": self.created_at.isoformat() if self.created_at else None}


@dataclass
class SkillVersion:
    id: int
    version: int
    label: str | None
    description: str
    parameters: dict
    tags: list[str]
    examples: list[str]
    kind: str
    definition: dict | None
    fingerprint: str
    diff: dict | None
    created_at: datetime
    notes: list[str] = field(default_factory=list)
    stats: VersionStats = field(default_factory=VersionStats)

    def to_dict(self) -> dict:
        return {"version": self.version, "label": self.label, "description": self.description,
                "parameters": self.parameters, "tags": self.tags, "examples": self.examples, "kind": self.kind,
                "definition": self.definition, "fingerprint": self.fingerprint, "diff": self.diff,
                "created_at": self.created_at.isoformat(), "notes": self.notes, "stats": self.stats.to_dict()}


@dataclass
class SkillInfo:
    id: int
    name: str
    origin: str
    kind: str
    status: str
    enabled: bool
    deprecated: bool
    replacement: str | None
    current_version: int
    versions: list[SkillVersion] = field(default_factory=list)

    @property
    def current(self) -> SkillVersion:
        return next(v for v in self.versions if v.version == self.current_version)

    @property
    def usable(self) -> bool:
        return self.enabled and self.status == "active"

    def summary(self) -> dict[str, Any]:
        cur = self.current
        return {"name": self.name, "version": self.current_version, "label": cur.label, "kind": self.kind,
                "origin": self.origin, "status": self.status, "enabled": self.enabled,
                "deprecated": self.deprecated, "replacement": self.replacement, "description": cur.description,
                "parameters": list(cur.parameters.get("properties", {})), "tags": cur.tags}

    def to_dict(self) -> dict[str, Any]:
        out = self.summary()
        out["parameters"] = self.current.parameters
        out["versions"] = [v.to_dict() for v in self.versions]
        return out


@dataclass
class SearchHit:
    name: str
    version: int
    score: float
    description: str
    deprecated: bool = False
    replacement: str | None = None

    def to_dict(self) -> dict:
        return {"name": self.name, "version": self.version, "score": round(self.score, 4),
                "description": self.description, "deprecated": self.deprecated, "replacement": self.replacement}
