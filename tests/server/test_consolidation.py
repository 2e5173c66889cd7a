"""Consolidation through the server: a background job with an id to poll, then status, models and rollback
in the shapes of `agentcl consolidate ... --json`; tenancy and bad input as everywhere."""
from __future__ import annotations

import time

import httpx


def _wait(http, ns: str, job_id: int, timeout: float = 600) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = http.get(f"/v1/ns/{ns}/consolidation/jobs/{job_id}").json()
        if job["status"] != "running":
            return job
        time.sleep(0.5)
    raise AssertionError(f"consolidation job {job_id} still running after {timeout} s")


def test_consolidation_runs_in_the_background_and_reports(http, served):
    ns = "learn"
    for company, ceo in (("acme", "Alice"), ("globex", "Bob"), ("initech", "Carol"), ("hooli", "Dana")):
        assert http.post(f"/v1/ns/{ns}/facts", json={"subject": company, "predicate": "ceo", "object": ceo}
                         ).status_code == 200
    started = http.post(f"/v1/ns/{ns}/consolidation/run", json={"epochs": 2})
    assert started.status_code == 202 and started.json()["status"] == "running"
    job_id = started.json()["job"]
    again = http.post(f"/v1/ns/{ns}/consolidation/run", json={"epochs": 2})
    if again.status_code == 409:  # the first one still runs: one at a time
        assert "already running" in again.json()["error"]
    else:  # it had already finished
        assert again.status_code == 202
        _wait(http, ns, again.json()["job"])
    job = _wait(http, ns, job_id)
    assert job["status"] == "done", job
    assert job["report"]["new_facts"] >= 1 and job["report"]["checkpoint_id"] is not None
    status = http.get(f"/v1/ns/{ns}/consolidation/status").json()
    assert status["rounds"] >= 1 and status["namespace"] == ns
    models = http.get(f"/v1/ns/{ns}/consolidation/models").json()
    assert models and models[0]["id"] == job["report"]["checkpoint_id"]
    back = http.post(f"/v1/ns/{ns}/consolidation/rollback", json={"checkpoint_id": models[0]["id"]})
    assert back.status_code == 200 and back.json()["active_checkpoint"] == models[0]["id"]
    # another tenant sees neither the job nor the models
    other = httpx.Client(base_url=served.url, headers=served.headers(served.key_b), timeout=60)
    assert other.get(f"/v1/ns/{ns}/consolidation/jobs/{job_id}").status_code == 403
    assert other.get(f"/v1/ns/tenant-b/consolidation/jobs/{job_id}").status_code == 404
    assert other.get("/v1/ns/tenant-b/consolidation/models").json() == []


def test_consolidation_bad_input(http):
    for body, status, words in [({"strategy": "bogus"}, 400, "unknown strategy 'bogus'"),
                                ({"epochs": 0}, 422, "epochs"), ({"colour": 1}, 422, "colour")]:
        response = http.post("/v1/ns/learn-bad/consolidation/run", json=body)
        assert response.status_code == status and words in response.json()["error"]
    response = http.post("/v1/ns/learn-bad/consolidation/rollback", json={"checkpoint_id": 99})
    assert 400 <= response.status_code < 500 and set(response.json()) == {"error"}
    assert http.get("/v1/ns/learn-bad/consolidation/jobs/12345").status_code == 404
