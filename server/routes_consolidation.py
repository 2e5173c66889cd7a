"""REST for consolidation, under /v1/ns/{namespace}/consolidation: run in the background (a job id to poll),
status, models and rollback, with the JSON shapes of `agentcl consolidate ... --json`."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from server.backend import Backend
from server.schemas import ConsolidateIn, RollbackIn
from server.tenancy import tenant

router = APIRouter(prefix="/v1/ns/{namespace}/consolidation", tags=["consolidation"])


def backend(request: Request) -> Backend:
    return request.app.state.backend


def _work(b: Backend, ns: str, body: ConsolidateIn):
    """What the job thread runs: its own store and registry over the same database (the server's stay free
    for requests), the server's embedder."""
    from agentcl.consolidation import ConsolidationConfig, consolidate, make_strategy
    from agentcl.consolidation.pin import guard
    from agentcl.consolidation.trust import trusted_sources
    from memory_store import MemoryStore
    from skills import SkillRegistry

    make_strategy(body.strategy)  # a bad name fails the request, not the job
    options = {"strategy": body.strategy, "trusted_sources": trusted_sources(b.home)} | {k: v for k, v in (("epochs", body.epochs),
                                                                ("replay_size", body.replay_size)) if v is not None}
    config = ConsolidationConfig(**options)

    def run() -> dict:
        store = MemoryStore.open(b.store.url, home=b.home, embedder=b.store.embedder, actor="consolidation")
        registry = SkillRegistry.open(b.store.url, home=b.home, embedder=b.store.embedder, memory=store)
        try:
            guard(store, registry, namespace=ns, home=b.home, min_validations=config.min_validations,
                  trusted_sources=config.trusted_sources)
            return consolidate(store, registry, namespace=ns, device=b.config.device, config=config).to_dict()
        finally:
            registry.close()
            store.close()
    return options, run


@router.post("/run", status_code=202, summary="Start a consolidation in the background; returns the job to poll")
async def run(body: ConsolidateIn, ns: str = Depends(tenant), b: Backend = Depends(backend)) -> dict:
    options, work = _work(b, ns, body)
    return b.jobs.start(ns, options, work).to_dict()


@router.get("/jobs/{job_id}", summary="A consolidation job: running, done (with its report) or failed")
async def job(job_id: int, ns: str = Depends(tenant), b: Backend = Depends(backend)) -> dict:
    return b.jobs.get(job_id, ns).to_dict()


@router.get("/status", summary="Rounds, last run, active checkpoint, buffer size, latest findings")
async def status(ns: str = Depends(tenant), b: Backend = Depends(backend)) -> dict:
    from agentcl.json_shapes import consolidation_status_json

    return await b.run(consolidation_status_json, b.home, ns)


@router.get("/models", summary="Every checkpoint (promoted or rejected), newest last")
async def models(ns: str = Depends(tenant), b: Backend = Depends(backend)) -> list[dict]:
    from agentcl.json_shapes import consolidation_models_json

    return await b.run(consolidation_models_json, b.home, ns)


@router.post("/rollback", summary="Re-activate an earlier checkpoint")
async def rollback(body: RollbackIn, ns: str = Depends(tenant), b: Backend = Depends(backend)) -> dict:
    from agentcl.consolidation import ConsolidationConfig
    from agentcl.consolidation.pin import material_digest
    from agentcl.consolidation.trust import trusted_sources
    from agentcl.json_shapes import consolidation_rollback_json

    def rollback_and_pin() -> dict:
        config = ConsolidationConfig(trusted_sources=trusted_sources(b.home))
        digest = material_digest(b.store, b.registry, namespace=ns, min_validations=config.min_validations,
                                 trusted_sources=config.trusted_sources)
        return consolidation_rollback_json(b.home, ns, body.checkpoint_id, digest=digest)
    return await b.run(rollback_and_pin)
