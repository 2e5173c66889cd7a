"""REST for the memory store, under /v1/ns/{namespace}/...: the same JSON shapes as `agentcl memory ... --json`."""
from __future__ import annotations

import os
import tempfile

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse

from server.backend import Backend
from server.schemas import FactIn, NoteIn, NotesIn, PruneIn, RetractIn, RevertIn, SearchIn, SearchManyIn
from server.tenancy import tenant

router = APIRouter(prefix="/v1/ns/{namespace}", tags=["memory"])
LIMIT = Query(1000, ge=1, le=10_000, description="At most this many rows.")


def backend(request: Request) -> Backend:
    return request.app.state.backend


# -- facts ---------------------------------------------------------------------------------------
@router.post("/facts", summary="Assert a fact (a contradiction supersedes the slot's old value)")
async def add_fact(body: FactIn, ns: str = Depends(tenant), b: Backend = Depends(backend)) -> dict:
    result = await b.run(b.store.add_fact, body.subject, body.predicate, body.object, namespace=ns,
                         valid_from=body.valid_from, ttl=body.ttl, confidence=body.confidence, source=body.source)
    return result.to_dict()


@router.get("/facts", summary="List facts (active by default)")
async def list_facts(subject: str | None = None, predicate: str | None = None, status: str = "active",
                     as_of: str | None = None, valid_at: str | None = None, limit: int = LIMIT,
                     ns: str = Depends(tenant), b: Backend = Depends(backend)) -> list[dict]:
    found = await b.run(b.store.facts, namespace=ns, subject=subject, predicate=predicate, status=status,
                        as_of=as_of, valid_at=valid_at, limit=limit)
    return [f.to_dict() for f in found]


@router.get("/facts/current", summary="A slot's current value with its validity, or null")
async def current(subject: str, predicate: str, ns: str = Depends(tenant), b: Backend = Depends(backend)):
    fact = await b.run(b.store.current, subject, predicate, namespace=ns)
    return None if fact is None else fact.to_dict()


@router.get("/facts/history", summary="Every value a slot has had, oldest first")
async def history(subject: str, predicate: str, ns: str = Depends(tenant), b: Backend = Depends(backend)) -> list:
    return [f.to_dict() for f in await b.run(b.store.history, subject, predicate, namespace=ns)]


@router.post("/facts/{fact_id}/retract", summary="Retract a fact (kept in history)")
async def retract(fact_id: int, body: RetractIn | None = None, ns: str = Depends(tenant),
                  b: Backend = Depends(backend)) -> dict:
    # scoped by the store: another namespace's id is "no such fact" (its existence is not revealed)
    return (await b.run(b.store.retract, fact_id, namespace=ns, reason=body.reason if body else None)).to_dict()


# -- notes ---------------------------------------------------------------------------------------
def _note_fields(note: NoteIn) -> dict:
    return note.model_dump(exclude_none=True)


@router.post("/notes", summary="Store a free-text note (embedded for search)")
async def add_note(body: NoteIn, ns: str = Depends(tenant), b: Backend = Depends(backend)) -> dict:
    fields = _note_fields(body)
    text = fields.pop("text")
    return (await b.run(b.store.add_note, text, namespace=ns, **fields)).to_dict()


@router.post("/notes/batch", summary="Store many notes in one transaction (one version)")
async def add_notes(body: NotesIn, ns: str = Depends(tenant), b: Backend = Depends(backend)) -> list[dict]:
    notes = await b.run(b.store.add_notes, [_note_fields(n) for n in body.notes], namespace=ns)
    return [n.to_dict() for n in notes]


@router.get("/notes", summary="List notes")
async def list_notes(status: str = "active", limit: int = LIMIT, ns: str = Depends(tenant),
                     b: Backend = Depends(backend)) -> list[dict]:
    return [n.to_dict() for n in await b.run(b.store.notes, namespace=ns, status=status, limit=limit)]


@router.post("/notes/{note_id}/retract", summary="Retract a note")
async def retract_note(note_id: int, ns: str = Depends(tenant), b: Backend = Depends(backend)) -> dict:
    return (await b.run(b.store.retract_note, note_id, namespace=ns)).to_dict()


# -- search --------------------------------------------------------------------------------------
@router.post("/search", summary="Hybrid (dense + keyword) search; filters apply before ranking")
async def search(body: SearchIn, ns: str = Depends(tenant), b: Backend = Depends(backend)) -> list[dict]:
    results = await b.run(b.store.search, body.query, k=body.k, namespace=ns, kind=body.kind,
                          include_expired=body.include_expired, include_superseded=body.include_superseded,
                          metadata=body.metadata, status=body.status, as_of=body.as_of, valid_at=body.valid_at)
    return [r.to_dict() for r in results]


@router.post("/search/batch", summary="Many queries at once (one embedding batch)")
async def search_many(body: SearchManyIn, ns: str = Depends(tenant), b: Backend = Depends(backend)) -> list:
    results = await b.run(b.store.search_many, body.queries, k=body.k, namespace=ns, kind=body.kind,
                          include_expired=body.include_expired, include_superseded=body.include_superseded,
                          metadata=body.metadata)
    return [[r.to_dict() for r in rs] for rs in results]


# -- versions, audit, prune ----------------------------------------------------------------------
@router.get("/log", summary="This namespace's version log (one record per write)")
async def log(since: int | None = Query(None, ge=0), limit: int = Query(100, ge=1, le=10_000),
              full: bool = False, ns: str = Depends(tenant), b: Backend = Depends(backend)) -> list[dict]:
    records = await b.run(b.store.log, since=since, namespace=ns, limit=limit, full=full)
    return [r.to_dict(full=full) for r in records]


@router.post("/revert", summary="Restore this namespace to its state at a version, as one new version")
async def revert(body: RevertIn, ns: str = Depends(tenant), b: Backend = Depends(backend)) -> dict:
    """The same shape as `agentcl memory revert --json`: the new version and each row it changed."""
    from memory_store.revert import revert_summary

    return revert_summary(await b.run(b.store.revert, body.version, namespace=ns))


@router.get("/audit", summary="Conflicts, expired-but-present, near-duplicates, low confidence, at risk, probes")
async def audit(ns: str = Depends(tenant), b: Backend = Depends(backend)) -> dict:
    from agentcl.json_shapes import audit_json

    return await b.run(audit_json, b.store, ns, b.home)


@router.post("/prune", summary="Delete retired memories older than the retention (dry run unless dry_run=false)")
async def prune(body: PruneIn, ns: str = Depends(tenant), b: Backend = Depends(backend)) -> dict:
    expired = body.expired or not (body.superseded or body.retracted)
    return await b.run(b.store.prune, namespace=ns, expired=expired, superseded=body.superseded,
                       retracted=body.retracted, older_than=body.older_than, dry_run=body.dry_run)


# -- import / export -----------------------------------------------------------------------------
@router.get("/export", summary="This namespace's facts (with history) and notes as JSONL, streamed")
async def export(ns: str = Depends(tenant), b: Backend = Depends(backend)) -> StreamingResponse:
    fd, path = tempfile.mkstemp(suffix=".jsonl")
    os.close(fd)
    try:
        await b.run(b.store.export_jsonl, path, namespace=ns)
    except BaseException:
        os.unlink(path)
        raise

    def chunks():
        try:
            with open(path, "rb") as fh:
                while block := fh.read(64 * 1024):
                    yield block
        finally:
            os.unlink(path)
    return StreamingResponse(chunks(), media_type="application/x-ndjson")


@router.post("/import", summary="Import JSONL into this namespace, all or nothing (body: the JSONL text)")
async def import_(request: Request, format: str = Query("jsonl", pattern="^(jsonl|conversation)$"),
                  ns: str = Depends(tenant), b: Backend = Depends(backend)) -> dict:
    data = await request.body()  # bounded by the body limit
    fd, path = tempfile.mkstemp(suffix=".jsonl")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        return await b.run(b.store.import_jsonl, path, format=format, namespace=ns)
    finally:
        os.unlink(path)
