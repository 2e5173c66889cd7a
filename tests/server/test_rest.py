"""REST on a real uvicorn server through real httpx: tenancy, bad input, the Python clients, concurrency."""
from __future__ import annotations

import json
import threading

import httpx
import pytest

from agentcl.client import AccessDenied, AsyncClient, Client
from memory_store.errors import InvalidInputError, NotFoundError
from memory_store.record_types import Fact, Note, SearchResult, WriteResult


def _state(http, ns: str) -> tuple:
    """What a bad request must not change: the version number and the namespace's facts and notes."""
    version = http.get("/v1/health").json()["version"]
    facts = http.get(f"/v1/ns/{ns}/facts", params={"status": "all"}).json()
    notes = http.get(f"/v1/ns/{ns}/notes", params={"status": "all"}).json()
    return version, json.dumps(facts, sort_keys=True), json.dumps(notes, sort_keys=True)


def test_docs_and_openapi_need_no_key(served):
    assert httpx.get(served.url + "/docs").status_code == 200
    paths = httpx.get(served.url + "/openapi.json").json()["paths"]
    assert "/v1/ns/{namespace}/facts" in paths and "/v1/ns/{namespace}/search" in paths


def test_a_key_for_tenant_a_gets_403_on_tenant_b(served):
    a = httpx.Client(base_url=served.url, headers=served.headers(served.key_a), timeout=120)
    fact = {"subject": "acme", "predicate": "ceo", "object": "Alice"}
    assert a.post("/v1/ns/tenant-a/facts", json=fact).status_code == 200
    for method, path, body in [("POST", "/v1/ns/tenant-b/facts", fact), ("GET", "/v1/ns/tenant-b/facts", None),
                               ("POST", "/v1/ns/tenant-b/search", {"query": "acme"}),
                               ("GET", "/v1/ns/tenant-b/audit", None), ("GET", "/v1/ns/tenant-b/export", None),
                               ("POST", "/v1/ns/tenant-b/revert", {"version": 1})]:
        response = a.request(method, path, json=body)
        assert response.status_code == 403, (path, response.text)
        assert "tenant-b" in response.json()["error"]
    # tenant-b's own key sees nothing of tenant-a's fact
    b = httpx.Client(base_url=served.url, headers=served.headers(served.key_b), timeout=120)
    assert b.get("/v1/ns/tenant-b/facts").json() == []
    assert b.post("/v1/ns/tenant-b/search", json={"query": "acme ceo Alice"}).json() == []
    # nor can it retract tenant-a's fact by id through its own namespace
    fact_id = a.get("/v1/ns/tenant-a/facts").json()[0]["id"]
    assert b.post(f"/v1/ns/tenant-b/facts/{fact_id}/retract").status_code == 404
    assert a.get("/v1/ns/tenant-a/facts").json()[0]["status"] == "active"


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer acl_not-a-key"}, {"Authorization": "Basic x"}])
def test_missing_or_unknown_key_is_401(served, headers):
    response = httpx.get(served.url + "/v1/ns/tenant-a/facts", headers=headers)
    assert response.status_code == 401
    assert response.json() == {"error": "missing or unknown API key (send 'Authorization: Bearer KEY')"}


BAD = [
    ("POST", "/facts", b"{not json", 422),
    ("POST", "/facts", {"subject": "acme", "predicate": "ceo"}, 422),
    ("POST", "/facts", {"subject": 1, "predicate": "ceo", "object": "x"}, 422),
    ("POST", "/facts", {"subject": "acme", "predicate": "ceo", "object": "x", "colour": "red"}, 422),
    ("POST", "/facts", {"subject": " ", "predicate": "ceo", "object": "x"}, 400),
    ("POST", "/facts", {"subject": "acme", "predicate": "ceo", "object": "x", "confidence": 5}, 400),
    ("POST", "/facts", {"subject": "acme", "predicate": "ceo", "object": "x", "ttl": "soon"}, 400),
    ("POST", "/facts", {"subject": "acme", "predicate": "ceo", "object": "x", "valid_from": "yesterday"}, 400),
    ("POST", "/notes", {"text": ""}, 400),
    ("POST", "/notes", {"text": "x" * 100_001}, 422),
    ("POST", "/notes/batch", {"notes": [{"text": "ok"}, {"text": "  "}]}, 400),
    ("POST", "/notes/batch", {"notes": []}, 422),
    ("POST", "/search", {"query": "x", "k": 0}, 422),
    ("POST", "/search", {"query": "x", "kind": "everything"}, 422),
    ("GET", "/facts?status=sideways", None, 400),
    ("GET", "/facts?as_of=v99999", None, 404),
    ("POST", "/facts/99999/retract", None, 404),
    ("POST", "/facts/abc/retract", None, 422),
    ("POST", "/import", b'{"kind": "fact"}\n', 400),
    ("POST", "/prune", {"older_than": "forever"}, 400),
]


@pytest.mark.parametrize("method,path,body,status", BAD, ids=[f"{m} {p} {s}" for m, p, _, s in BAD])
def test_bad_input_is_a_one_line_4xx_and_changes_nothing(http, method, path, body, status):
    ns = "bad-input"
    http.post(f"/v1/ns/{ns}/facts", json={"subject": "acme", "predicate": "hq", "object": "Paris"})
    before = _state(http, ns)
    kwargs = {"content": body, "headers": {"content-type": "application/json"}} if isinstance(body, bytes) \
        else {"json": body}
    response = http.request(method, f"/v1/ns/{ns}{path}", **kwargs)
    assert response.status_code == status, response.text
    assert set(response.json()) == {"error"}
    assert "\n" not in response.text and response.json()["error"]
    assert _state(http, ns) == before


def test_bad_namespace_and_oversized_body(http, served):
    response = http.post("/v1/ns/two%20words/search", json={"query": "x"})
    assert response.status_code == 400 and "whitespace" in response.json()["error"]
    before = http.get("/v1/health").json()["version"]
    big = {"notes": [{"text": "y" * 90_000} for _ in range(100)]}  # ~9 MB: over the 8 MiB bound
    response = http.post("/v1/ns/default/notes/batch", json=big)
    assert response.status_code == 413 and "request body over" in response.json()["error"]
    assert http.get("/v1/health").json()["version"] == before


def test_client_returns_the_stores_records_and_raises_its_errors(served):
    with Client(served.url, api_key=served.key_a, namespace="tenant-a") as client:
        written = client.add_fact("globex", "cto", "Dana", source="test")
        assert isinstance(written, WriteResult) and written.action == "inserted"
        assert isinstance(written.fact, Fact) and written.fact.valid_from.tzinfo is not None
        assert client.current("globex", "cto").object == "Dana"
        note = client.add_note("Dana likes tea", speaker="bob", metadata={"topic": "drinks"})
        assert isinstance(note, Note) and note.metadata == {"topic": "drinks"}
        hits = client.search("what does Dana drink", k=3)
        assert hits and isinstance(hits[0], SearchResult) and hits[0].id == note.id
        assert [h.id for h in client.search_many(["Dana tea"], k=1)[0]] == [note.id]
        assert [f.object for f in client.history("globex", "cto")] == ["Dana"]
        assert client.retract(written.fact.id, reason="test").status == "retracted"
        assert client.current("globex", "cto") is None
        with pytest.raises(InvalidInputError, match="confidence"):
            client.add_fact("globex", "cto", "Eve", confidence=2)
        with pytest.raises(NotFoundError, match="no fact with id"):
            client.retract(10**6)
        with pytest.raises(AccessDenied, match="tenant-b"):
            client.facts(namespace="tenant-b")
        assert [s["name"] for s in client.skills.search("add a number of days to a date", k=1)] == ["date_add"]
        outcome = client.skills.call("date_add", {"date": "2024-01-30", "duration": "2d"})
        assert outcome["ok"] and outcome["result"].startswith("2024-02-01")


def test_async_client(served):
    import asyncio

    async def main():
        async with AsyncClient(served.url, api_key=served.key_b, namespace="tenant-b") as client:
            result = await client.add_fact("initech", "ceo", "Bill")
            found = await client.facts(subject="initech")
            return result, found

    result, found = asyncio.run(main())
    assert result.action == "inserted" and [f.id for f in found] == [result.fact.id]


def test_concurrent_clients_writing_one_slot_keep_one_active_value_and_every_write(served):
    ns, writers, each = "race", 8, 4
    errors, acked = [], []

    def write(w: int) -> None:
        with Client(served.url, api_key=served.admin, namespace=ns) as client:
            for i in range(each):
                try:
                    acked.append(client.add_fact("acme", "ceo", f"w{w}-{i}").version)
                except Exception as exc:  # noqa: BLE001 - collected and asserted below
                    errors.append(repr(exc))

    threads = [threading.Thread(target=write, args=(w,)) for w in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    assert not errors
    with Client(served.url, api_key=served.admin, namespace=ns) as client:
        history = client.history("acme", "ceo")
        active = [f for f in history if f.status == "active"]
        log = client.log(namespace=ns, limit=1000)
    assert len(acked) == writers * each and len(set(acked)) == len(acked)  # one version per write
    assert sorted(f.object for f in history) == sorted(f"w{w}-{i}" for w in range(writers) for i in range(each))
    assert len(active) == 1 and active[0].version == max(acked)  # the last write is the active value
    assert {r.version for r in log} >= set(acked)
