"""REST for the skill registry: the same JSON shapes as `agentcl skills ... --json`. The registry is shared by
the namespaces of one database; the usage examples a call records and search ranks over are the namespace's."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from server.backend import Backend
from server.schemas import SkillCallIn, SkillSearchIn
from server.tenancy import tenant

router = APIRouter(prefix="/v1/ns/{namespace}/skills", tags=["skills"])


def backend(request: Request) -> Backend:
    return request.app.state.backend


@router.get("", summary="All registered skills (current version)")
async def list_skills(ns: str = Depends(tenant), b: Backend = Depends(backend)) -> list[dict]:
    return [s.summary() for s in await b.run(lambda: b.skills(ns).list())]


@router.get("/stats", summary="Calls, successes, failures by kind, latency and last use per skill version")
async def stats(name: str | None = None, ns: str = Depends(tenant), b: Backend = Depends(backend)) -> list[dict]:
    return await b.run(lambda: b.skills(ns).stats(name))


@router.get("/{name}", summary="One skill: schema, versions, usage notes, this namespace's learned examples")
async def show(name: str, ns: str = Depends(tenant), b: Backend = Depends(backend)) -> dict:
    def run():
        reg = b.skills(ns)
        data = reg.get(name).to_dict()
        data["learned_examples"] = [e.to_dict() for e in reg.examples(name)]
        return data
    return await b.run(run)


@router.post("/search", summary="Rank skills for a task text")
async def search(body: SkillSearchIn, ns: str = Depends(tenant), b: Backend = Depends(backend)) -> list[dict]:
    hits = await b.run(lambda: b.skills(ns).search(body.text, body.k, include_deprecated=body.include_deprecated))
    return [h.to_dict() for h in hits]


@router.post("/{name}/call", summary="Call a skill's current version (a failed call is a result with ok=false)")
async def call(name: str, body: SkillCallIn, ns: str = Depends(tenant), b: Backend = Depends(backend)) -> dict:
    outcome = await b.run(lambda: b.skills(ns).call(name, body.args, task=body.task, timeout_s=body.timeout))
    return outcome.to_dict()
