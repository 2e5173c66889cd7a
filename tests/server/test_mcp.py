"""The MCP tools through the SDK's real client: over streamable HTTP (/mcp on the running server) and over
stdio (`agentcl mcp` started as a subprocess, as a desktop assistant would)."""
from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

import httpx
import pytest
from mcp import Client, StdioServerParameters

REPO = Path(__file__).resolve().parents[2]
TOOLS = {"remember_fact", "add_note", "search_memory", "recall", "history", "forget", "audit", "search_skills",
         "call_skill"}


def _http_client(served, key: str, namespace: str) -> Client:
    from mcp.client.streamable_http import streamable_http_client

    headers = {"Authorization": f"Bearer {key}", "X-Agentcl-Namespace": namespace}
    try:
        import httpx2 as transport_httpx  # the SDK's own HTTP client package
    except ImportError:  # pragma: no cover - older SDKs use httpx
        transport_httpx = httpx
    http = transport_httpx.AsyncClient(headers=headers, timeout=120)
    return Client(streamable_http_client(served.url + "/mcp", http_client=http))


def _data(result):
    assert not result.is_error, result.content[0].text
    if result.structured_content is not None:
        data = result.structured_content
        return data.get("result", data) if set(data) == {"result"} else data
    return json.loads(result.content[0].text)


async def _session_over_http(served):
    async with _http_client(served, served.key_a, "tenant-a") as client:
        names = {t.name for t in (await client.list_tools()).tools}
        descriptions = {t.name: t.description for t in (await client.list_tools()).tools}
        wrote = _data(await client.call_tool("remember_fact", {"subject": "hooli", "predicate": "ceo",
                                                               "value": "Gavin"}))
        again = _data(await client.call_tool("remember_fact", {"subject": "hooli", "predicate": "ceo",
                                                               "value": "Jack"}))
        recall = _data(await client.call_tool("recall", {"subject": "hooli", "predicate": "ceo"}))
        history = _data(await client.call_tool("history", {"subject": "hooli", "predicate": "ceo"}))
        note = _data(await client.call_tool("add_note", {"text": "Gavin founded the company in a garage"}))
        found = _data(await client.call_tool("search_memory", {"query": "who founded hooli", "k": 3}))
        bad_arg = await client.call_tool("remember_fact", {"subject": "x", "predicate": "y", "value": "z",
                                                           "confidence": 7})
        bad_value = await client.call_tool("remember_fact", {"subject": "x", "predicate": "y", "value": "z",
                                                             "ttl": "soon"})
        gone = await client.call_tool("forget", {"fact_id": 10**6})
        audit = _data(await client.call_tool("audit", {}))
        skills = _data(await client.call_tool("search_skills", {"task": "add two days to a date", "k": 1}))
        called = _data(await client.call_tool("call_skill", {"name": "date_add",
                                                             "args": {"date": "2024-01-30", "duration": "2d"}}))
        forgot = _data(await client.call_tool("forget", {"fact_id": again["fact"]["id"], "reason": "wrong"}))
        after = _data(await client.call_tool("recall", {"subject": "hooli", "predicate": "ceo"}))
    async with _http_client(served, served.key_a, "tenant-b") as client:
        refused = await client.call_tool("recall", {"subject": "hooli", "predicate": "ceo"})
    return locals()


def test_mcp_over_streamable_http(served):
    r = asyncio.run(_session_over_http(served))
    assert r["names"] == TOOLS and all(len(d) > 60 for d in r["descriptions"].values())
    assert r["wrote"]["action"] == "inserted" and r["again"]["action"] == "superseded"
    assert r["recall"]["found"] and r["recall"]["fact"]["object"] == "Jack"
    assert [f["status"] for f in r["history"]] == ["superseded", "active"]
    assert ("note", r["note"]["id"]) in [(hit["kind"], hit["id"]) for hit in r["found"]]
    assert r["note"]["namespace"] == "tenant-a"
    assert r["bad_arg"].is_error and "confidence" in r["bad_arg"].content[0].text
    assert r["bad_value"].is_error and "bad duration 'soon'" in r["bad_value"].content[0].text
    assert r["gone"].is_error and "no fact with id" in r["gone"].content[0].text
    assert {"conflicts", "probes"} <= set(r["audit"])
    assert r["skills"][0]["name"] == "date_add" and r["called"]["ok"]
    assert r["forgot"]["status"] == "retracted" and r["after"] == {"found": False, "fact": None}
    assert r["refused"].is_error and "tenant-b" in r["refused"].content[0].text
    # the tools wrote through the same store the REST API reads
    facts = httpx.get(served.url + "/v1/ns/tenant-a/facts", params={"subject": "hooli", "status": "all"},
                      headers=served.headers(served.key_a)).json()
    assert sorted(f["object"] for f in facts) == ["Gavin", "Jack"]


def test_mcp_over_http_needs_a_key(served):
    response = httpx.post(served.url + "/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
                          headers={"Accept": "application/json, text/event-stream"})
    assert response.status_code == 401


def test_mcp_over_stdio(served):
    """`agentcl mcp --namespace stdio-ns` on the server's database: what it writes, the server serves."""
    env = {k: v for k, v in os.environ.items() if k != "AGENTCL_SERVER"} | {
        "AGENTCL_HOME": str(served.home), "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1"}
    params = StdioServerParameters(command=sys.executable, args=["-m", "cli.main", "--db", served.db, "mcp",
                                                                 "--namespace", "stdio-ns", "--device", "cpu"],
                                   env=env, cwd=str(REPO))

    async def session():
        async with Client(params, read_timeout_seconds=300) as client:
            names = {t.name for t in (await client.list_tools()).tools}
            wrote = _data(await client.call_tool("remember_fact", {"subject": "acme", "predicate": "hq",
                                                                   "value": "Lyon"}))
            bad = await client.call_tool("search_memory", {"query": "", "k": 3})
            still = _data(await client.call_tool("recall", {"subject": "acme", "predicate": "hq"}))
            return names, wrote, bad, still

    names, wrote, bad, still = asyncio.run(asyncio.wait_for(session(), 600))
    assert names == TOOLS
    assert wrote["fact"]["namespace"] == "stdio-ns" and still["fact"]["object"] == "Lyon"
    assert bad.is_error  # an empty query is refused as a tool error; the server keeps running (recall above)
    served_facts = httpx.get(served.url + "/v1/ns/stdio-ns/facts", headers=served.headers(served.admin)).json()
    assert [f["object"] for f in served_facts] == ["Lyon"]


@pytest.fixture(autouse=True)
def _no_stray_server_env(monkeypatch):
    monkeypatch.delenv("AGENTCL_SERVER", raising=False)
