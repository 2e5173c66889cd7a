"""`agentcl run --policy openai`: the whole agent loop through a real OpenAI-compatible HTTP server on
127.0.0.1, and an unreachable endpoint refused before anything is written."""
from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from agentcl.agent.runner import run_agent
from memory_store import MemoryStore
from tests.support.openai_server import OpenAICompatServer

SCENARIO = str(Path(__file__).resolve().parents[2] / "examples" / "my_scenario.json")


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def scripted_model(body: dict) -> dict:
    """A stand-in 'LLM' that plays by the prompt: answer from a lookup result, look facts up with the
    lookup tool it was offered, call the first (best-ranked) tool with the task's inputs."""
    last = body["messages"][-1]
    if last["role"] == "tool":
        payload = json.loads(last["content"])
        if "output" in payload and isinstance(payload["output"], dict) and "value" in payload["output"]:
            return {"content": payload["output"]["value"]}
    user = body["messages"][1]["content"]
    tools = body.get("tools", [])
    lookup = next(t["function"]["name"] for t in tools
                  if set(t["function"]["parameters"]["properties"]) == {"subject", "predicate"})
    if "Fact asked: " in user:
        hint = json.loads(user.split("Fact asked: ", 1)[1].split("\n", 1)[0])
        return {"tool_calls": [{"name": lookup, "arguments": hint}]}
    task = json.loads(user.split("Task inputs: ", 1)[1].split("\n", 1)[0])
    tool = next(t["function"] for t in tools if t["function"]["name"] != lookup)
    params = list(tool["parameters"]["properties"])
    inputs = list(task["inputs"].values())
    return {"tool_calls": [{"name": tool["name"], "arguments": dict(zip(params, inputs))}]}


def test_openai_policy_runs_the_agent_loop_over_http(tmp_path, home, embedder, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    store = MemoryStore.open(f"sqlite:///{tmp_path / 'm.db'}", home=home, embedder=embedder)
    try:
        with OpenAICompatServer(scripted_model) as server:
            monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
            report = run_agent(policy="openai", model="test-model", scenario=SCENARIO, store=store, registry=None,
                               seed=0)
    finally:
        store.close()
    assert report["policy"] == "openai" and report["model"] == "test-model" and report["tasks"] == 60
    assert report["success_rate"] >= 0.8  # a model that looks every fact up: tool changes cost a few tasks
    assert report["stale_answer_rate"] == 0.0
    assert Path(report["report_path"]).parent == home / "runs"
    chats = [r for r in server.requests if "messages" in r]
    assert len(chats) >= 60
    # memories reach the prompt as a delimited data block, never as instructions
    assert all("<memory>" in r["messages"][1]["content"] for r in chats)


def test_cli_unreachable_endpoint_is_exit_2_and_writes_nothing(home, capsys, monkeypatch):
    from cli.main import main

    port = _closed_port()
    monkeypatch.setenv("OPENAI_BASE_URL", f"http://127.0.0.1:{port}/v1")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret-test-key-123456")
    with pytest.raises(SystemExit) as exit_info:
        main(["run", "--policy", "openai", "--model", "m"])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and len(err.strip().splitlines()) == 1
    assert "cannot reach" in err and f"127.0.0.1:{port}" in err and "sk-secret" not in err
    assert list(home.iterdir()) == []


def test_endpoint_without_models_route_is_still_usable():
    """Some OpenAI-compatible servers do not serve GET /models: the pre-flight check lets them through."""
    from agentcl.envs import Action
    from agentcl.envs.base import FactQuery, Observation
    from agentcl.policies import PolicyContext
    from agentcl.policies.llm import OpenAIPolicy

    with OpenAICompatServer(lambda body: {"content": "Bruno Diaz"}, serve_models=False) as server:
        policy = OpenAIPolicy(model="m", base_url=server.base_url, api_key="k")
        assert policy.check() is None  # 404 on /models: reachable, not an error
        assert server.gets == ["/v1/models"]
        obs = Observation(step=1, phase="baseline", task_id="fact/acme/ceo", kind="fact",
                          text="Who is the CEO of Acme?", query=FactQuery("Acme", "ceo"))
        assert policy.decide(obs, PolicyContext()) == Action.say("Bruno Diaz")  # and chat works
    assert len(server.requests) == 1 and server.requests[0]["model"] == "m"
