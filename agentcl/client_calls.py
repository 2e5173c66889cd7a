"""What the agentcl clients send and how they read the answers: one `Call` per method, shared by the blocking
and the asyncio client (agentcl.client), which differ only in how a Call is carried."""
from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import quote

from memory_store.errors import InvalidInputError, NotFoundError, UserError
from memory_store.record_types import Fact, Note, SearchResult, VersionRecord, WriteResult

DEFAULT_URL = "http://127.0.0.1:8765"
DEFAULT_TIMEOUT_S = 120.0  # a first search may build a namespace's index


class AccessDenied(UserError):
    """401 (no or unknown API key) or 403 (the key may not use that namespace)."""


class ServerError(UserError):
    """The server failed (5xx) or could not be reached."""


# -- JSON -> the store's records ----------------------------------------------------------------------
def _record(cls, data: dict):
    """A store dataclass from its to_dict() JSON (ISO times back to datetimes)."""
    values = {}
    for f in dataclasses.fields(cls):
        if f.name not in data:
            continue
        value = data[f.name]
        if isinstance(value, str) and "datetime" in str(f.type):
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        values[f.name] = value
    return cls(**values)


def _fact(data):
    return None if data is None else _record(Fact, data)


def _write_result(data: dict) -> WriteResult:
    return WriteResult(fact=_fact(data["fact"]), action=data["action"], version=data["version"],
                       superseded=list(data.get("superseded", [])))


def _version(data: dict) -> VersionRecord:
    return _record(VersionRecord, data)


def _many(parse: Callable) -> Callable:
    return lambda rows: [parse(r) for r in rows]


def _identity(data):
    return data


@dataclass
class Call:
    """One HTTP request and how to read its answer."""

    method: str
    path: str
    parse: Callable[[Any], Any] = _identity
    params: dict | None = None
    body: Any = None
    content: bytes | None = None
    raw: bool = False  # the answer is text (export), not JSON

    def query(self) -> dict | None:
        if self.params is None:
            return None
        return {k: (str(v).lower() if isinstance(v, bool) else v) for k, v in self.params.items() if v is not None}


def _raise_for(status: int, text: str) -> None:
    try:
        message = json.loads(text).get("error") or text
    except (ValueError, AttributeError):
        message = text.strip() or f"HTTP {status}"
    message = " ".join(str(message).split())
    if status == 404:
        raise NotFoundError(message)
    if status in (401, 403):
        raise AccessDenied(message)
    if status >= 500:
        raise ServerError(f"server error: {message}")
    raise InvalidInputError(message)


# -- the operations (shared by both clients) ---------------------------------------------------------
@dataclass
class _Operations:
    url: str | None = None
    api_key: str | None = field(default=None, repr=False)  # a secret: never in a repr or a log
    namespace: str = "default"
    timeout: float = DEFAULT_TIMEOUT_S
    _http: Any = field(default=None, repr=False)

    def __post_init__(self):
        self.url = (self.url or os.environ.get("AGENTCL_SERVER") or DEFAULT_URL).rstrip("/")
        self.api_key = self.api_key or os.environ.get("AGENTCL_API_KEY") or None
        self.skills = _Skills(self)

    def _headers(self) -> dict:
        return {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}

    def _ns(self, namespace: str | None) -> str:
        return f"/v1/ns/{quote(namespace or self.namespace, safe='')}"

    def _do(self, call: Call):  # pragma: no cover - each client implements it
        raise NotImplementedError

    # facts
    def add_fact(self, subject: str, predicate: str, obj: str, *, namespace: str | None = None,
                 valid_from: Any = None, ttl: Any = None, confidence: float = 1.0, source: str = "user"):
        body = {"subject": subject, "predicate": predicate, "object": obj, "valid_from": _text(valid_from),
                "ttl": _text(ttl), "confidence": confidence, "source": source}
        return self._do(Call("POST", self._ns(namespace) + "/facts", _write_result, body=body))

    def facts(self, *, namespace: str | None = None, subject: str | None = None, predicate: str | None = None,
              status: str = "active", as_of: Any = None, valid_at: Any = None, limit: int | None = None):
        params = {"subject": subject, "predicate": predicate, "status": status, "as_of": _text(as_of),
                  "valid_at": _text(valid_at), "limit": limit}
        return self._do(Call("GET", self._ns(namespace) + "/facts", _many(_fact), params=params))

    def current(self, subject: str, predicate: str, *, namespace: str | None = None):
        return self._do(Call("GET", self._ns(namespace) + "/facts/current", _fact,
                             params={"subject": subject, "predicate": predicate}))

    def history(self, subject: str, predicate: str, *, namespace: str | None = None):
        return self._do(Call("GET", self._ns(namespace) + "/facts/history", _many(_fact),
                             params={"subject": subject, "predicate": predicate}))

    def retract(self, fact_id: int, *, reason: str | None = None, namespace: str | None = None):
        return self._do(Call("POST", f"{self._ns(namespace)}/facts/{int(fact_id)}/retract", _fact,
                             body={"reason": reason}))

    # notes
    def add_note(self, text: str, *, namespace: str | None = None, note_type: str = "observation",
                 speaker: str | None = None, external_id: str | None = None, thread: str | None = None,
                 occurred_at: Any = None, ttl: Any = None, metadata: dict | None = None):
        body = {"text": text, "note_type": note_type, "speaker": speaker, "external_id": external_id,
                "thread": thread, "occurred_at": _text(occurred_at), "ttl": _text(ttl), "metadata": metadata}
        return self._do(Call("POST", self._ns(namespace) + "/notes", lambda d: _record(Note, d), body=_compact(body)))

    def add_notes(self, notes: list[dict], *, namespace: str | None = None):
        body = {"notes": [_compact({k: _text(v) if k in ("occurred_at", "ttl") else v for k, v in n.items()})
                          for n in notes]}
        return self._do(Call("POST", self._ns(namespace) + "/notes/batch", _many(lambda d: _record(Note, d)),
                             body=body))

    def notes(self, *, namespace: str | None = None, status: str = "active", limit: int | None = None):
        return self._do(Call("GET", self._ns(namespace) + "/notes", _many(lambda d: _record(Note, d)),
                             params={"status": status, "limit": limit}))

    def retract_note(self, note_id: int, *, namespace: str | None = None):
        return self._do(Call("POST", f"{self._ns(namespace)}/notes/{int(note_id)}/retract",
                             lambda d: _record(Note, d)))

    # search
    def search(self, query: str, *, k: int = 10, namespace: str | None = None, kind: str = "all",
               include_expired: bool = False, include_superseded: bool = False, metadata: dict | None = None,
               status: str | None = None, as_of: Any = None, valid_at: Any = None):
        body = {"query": query, "k": k, "kind": kind, "include_expired": include_expired,
                "include_superseded": include_superseded, "metadata": metadata, "status": status,
                "as_of": _text(as_of), "valid_at": _text(valid_at)}
        return self._do(Call("POST", self._ns(namespace) + "/search", _many(lambda d: SearchResult(**d)), body=body))

    def search_many(self, queries: list[str], *, k: int = 10, namespace: str | None = None, kind: str = "all",
                    include_expired: bool = False, include_superseded: bool = False, metadata: dict | None = None):
        body = {"queries": list(queries), "k": k, "kind": kind, "include_expired": include_expired,
                "include_superseded": include_superseded, "metadata": metadata}
        return self._do(Call("POST", self._ns(namespace) + "/search/batch",
                             _many(_many(lambda d: SearchResult(**d))), body=body))

    # versions, audit, prune, transfer
    def log(self, *, since: int | None = None, namespace: str | None = None, limit: int | None = 100,
            full: bool = False):
        return self._do(Call("GET", self._ns(namespace) + "/log", _many(_version),
                             params={"since": since, "limit": limit, "full": full}))

    def revert(self, version: Any, *, namespace: str | None = None) -> dict:
        """What `agentcl memory revert --json` prints: the new version and each row it changed."""
        return self._do(Call("POST", self._ns(namespace) + "/revert", body={"version": version}))

    def audit(self, namespace: str | None = None) -> dict:
        """The audit report as `agentcl memory audit --json` prints it (a dict, with the probes)."""
        return self._do(Call("GET", self._ns(namespace) + "/audit"))

    def prune(self, *, namespace: str | None = None, expired: bool = True, superseded: bool = False,
              retracted: bool = False, older_than: Any = "30d", dry_run: bool = False) -> dict:
        body = {"expired": expired, "superseded": superseded, "retracted": retracted,
                "older_than": _text(older_than), "dry_run": dry_run}
        return self._do(Call("POST", self._ns(namespace) + "/prune", body=body))

    def export_text(self, *, namespace: str | None = None) -> str:
        """The namespace as JSONL text (what export_jsonl writes to a file)."""
        return self._do(Call("GET", self._ns(namespace) + "/export", raw=True))

    def import_text(self, text: str, *, format: str = "jsonl", namespace: str | None = None) -> dict:
        return self._do(Call("POST", self._ns(namespace) + "/import", params={"format": format},
                             content=text.encode()))

    def health(self) -> dict:
        return self._do(Call("GET", "/v1/health"))


class _Skills:
    """SkillRegistry's common reads and calls, seen from the client's namespace."""

    def __init__(self, ops: _Operations):
        self._ops = ops

    def _path(self, namespace: str | None, rest: str = "") -> str:
        return self._ops._ns(namespace) + "/skills" + rest

    def list(self, *, namespace: str | None = None):
        return self._ops._do(Call("GET", self._path(namespace)))

    def get(self, name: str, *, namespace: str | None = None):
        return self._ops._do(Call("GET", self._path(namespace, "/" + quote(name, safe=""))))

    def search(self, text: str, k: int = 5, *, include_deprecated: bool = False, namespace: str | None = None):
        return self._ops._do(Call("POST", self._path(namespace, "/search"),
                                  body={"text": text, "k": k, "include_deprecated": include_deprecated}))

    def call(self, name: str, args: dict | None = None, *, task: str | None = None, timeout_s: float | None = None,
             namespace: str | None = None):
        return self._ops._do(Call("POST", self._path(namespace, f"/{quote(name, safe='')}/call"),
                                  body={"args": args or {}, "task": task, "timeout": timeout_s}))

    def stats(self, name: str | None = None, *, namespace: str | None = None):
        return self._ops._do(Call("GET", self._path(namespace, "/stats"), params={"name": name}))


def _text(value: Any) -> Any:
    """Times and durations travel as text (ISO 8601, '90s', 'v3')."""
    if isinstance(value, datetime):
        return value.isoformat()
    if value is None or isinstance(value, str):
        return value
    if hasattr(value, "total_seconds"):
        return f"{value.total_seconds()}s"
    return str(value)


def _compact(body: dict) -> dict:
    return {k: v for k, v in body.items() if v is not None}
