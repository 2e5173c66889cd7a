"""`agentcl run --policy llm --text-only`: the real packaged SmolLM2 (the session fixture `smollm`,
loaded once) acts for the agent on a two-step text-only world; the prompt carries memory inside its
delimiters, and the model's JSON tool call is parsed and executed by the world. Also: a bad --model-dir
is one line and exit 2, the local policy still runs text-only, and Agent.consolidate goes to the LM job
when the policy is the local LM."""
from __future__ import annotations

import json
import re

import pytest

from agentcl.agent.plugins import AgentPlugin

SCENARIO = {
    "name": "two-steps", "seed": 0, "start_time": "2026-01-05T09:00:00Z", "step_duration": "1d",
    "max_actions_per_task": 2, "tool_task_pool": 1,
    "questions": {"ceo": "Who is the CEO of {subject}?"},
    "entities": [{"name": "Acme", "facts": {"ceo": {"initial": "Alice Park"}}}],
    "tools": [{"name": "percent_of", "operation": "percent_of",
               "versions": [{"from_step": 0, "params": [{"name": "percent"}, {"name": "value"}]}]}],
    "phases": [{"name": "ask", "steps": 1, "fact_share": 1.0}, {"name": "compute", "steps": 1, "fact_share": 0.0}],
}


@pytest.fixture
def scenario_file(tmp_path):
    path = tmp_path / "two-steps.json"
    path.write_text(json.dumps(SCENARIO))
    return str(path)


class Recorder(AgentPlugin):
    """What the policy saw and did, and what the world answered."""

    def __init__(self, policy):
        self.policy, self.steps = policy, []

    def after_feedback(self, agent, info):
        obs = info["percept"].observation
        self.steps.append({"query": obs.query, "request": obs.request, "action": info["action"],
                           "result": info["feedback"].tool_result,
                           "user": getattr(self.policy, "last_messages", None) and self.policy.last_messages[-1]["content"]})


def test_llm_policy_text_only_memory_in_delimiters_and_a_json_call_executed(smollm, scenario_file, tmp_path, embedder):
    from agentcl.agent.runner import run_agent
    from agentcl.policies.local_lm import LocalLMPolicy
    from memory_store import MemoryStore

    smollm.set_adapter_state(None)  # the base model, whatever other tests trained
    policy = LocalLMPolicy(lm=smollm)
    store = MemoryStore.open(f"sqlite:///{tmp_path / 'm.db'}", home=tmp_path, embedder=embedder)
    # what memory holds before the run (valid before the world's clock starts)
    store.add_fact("Acme", "ceo", "Alice Park", namespace="llm-agent", valid_from="2026-01-01T00:00:00Z")
    recorder = Recorder(policy)
    report = run_agent(scenario=scenario_file, policy="llm", policy_object=policy, text_only=True, store=store,
                       namespace="llm-agent", registry=None, save=False, plugins=[recorder], device="cpu")
    store.close()
    assert report["tasks"] == 2 and report["text_only"] is True and report["policy"] == "llm"
    assert all(s["query"] is None and s["request"] is None for s in recorder.steps)  # text only

    fact = recorder.steps[0]
    memory = re.findall(r"<memory>\n(.*?)\n</memory>", fact["user"], flags=re.S)
    assert len(memory) == 1 and memory[0].startswith("- fact: ") and "Alice Park" in memory[0]  # by text, as data
    assert fact["user"].rstrip().endswith("Who is the CEO of Acme?")

    calls = [s for s in recorder.steps if s["action"].tool_call is not None]
    assert calls, f"the model made no tool call: {[s['action'] for s in recorder.steps]}"
    assert calls[0]["action"].tool_call.name in ("percent_of", "lookup")
    assert calls[0]["result"] is not None  # the world executed the parsed call (ok or with its error)


@pytest.mark.parametrize("kind", ["missing", "not_causal"])
def test_bad_model_dir_for_the_llm_policy_is_one_line_exit_2(kind, tmp_path, home, capsys):
    from cli.main import main

    target = tmp_path / "model"
    if kind == "not_causal":
        target.mkdir()
        (target / "config.json").write_text(json.dumps({"architectures": ["BertModel"], "model_type": "bert"}))
        (target / "model.safetensors").write_bytes(b"")
    with pytest.raises(SystemExit) as exc:
        main(["--home", str(home), "run", "--policy", "llm", "--text-only", "--model-dir", str(target)])
    err = capsys.readouterr().err
    assert exc.value.code == 2 and len(err.strip().splitlines()) == 1, err
    assert ("no such directory" if kind == "missing" else "not a causal language model") in err
    assert not (home / "runs").exists()  # refused before anything was written


def test_model_dir_without_the_llm_policy_is_refused(tmp_path, home, capsys):
    from cli.main import main

    with pytest.raises(SystemExit) as exc:
        main(["--home", str(home), "run", "--model-dir", str(tmp_path)])
    assert exc.value.code == 2 and "--model-dir is for --policy llm" in capsys.readouterr().err


def test_local_policy_still_runs_text_only(scenario_file, tmp_path, embedder):
    from agentcl.agent.runner import run_agent
    from memory_store import MemoryStore

    store = MemoryStore.open(f"sqlite:///{tmp_path / 'm.db'}", home=tmp_path, embedder=embedder)
    runs = {t: run_agent(scenario=scenario_file, text_only=t, store=store, registry=None, save=False, device="cpu")
            for t in (True, False)}
    store.close()
    assert runs[True]["tasks"] == runs[False]["tasks"] == 2 and runs[True]["text_only"] is True
    assert runs[False]["success_rate"] == 1.0  # structured: it looks the fact up and maps the inputs


def test_agent_consolidates_into_the_policy_lm(smollm, tmp_path, embedder):
    from agentcl.agent.agent import Agent
    from agentcl.agent.config import AgentConfig
    from agentcl.policies.local_lm import LocalLMPolicy
    from memory_store import MemoryStore

    store = MemoryStore.open(f"sqlite:///{tmp_path / 'm.db'}", home=tmp_path, embedder=embedder)
    agent = Agent(store, LocalLMPolicy(lm=smollm), config=AgentConfig(namespace="empty"))
    report = agent.consolidate()  # the LM job (nothing validated yet: it refuses without training)
    store.close()
    assert report["promoted"] is False and "nothing new to learn" in report["reason"]
    assert agent.counters["consolidations"] == 1


def test_the_gates_tool_probe_asks_what_the_policy_asks_and_trains_on_the_policys_prompt(smollm):
    """The consolidation round's tool probe (tool_validity with the agent's PolicyAsker) gets the very
    reply the policy got for the same tool task, and tool calls are trained on the policy's user text."""
    from agentcl.agent.lm_consolidation import PolicyAsker
    from agentcl.consolidation.examples import UsageRecord
    from agentcl.consolidation.lm_job import LMBackend
    from agentcl.consolidation.lm_stages import tool_validity
    from agentcl.consolidation.lm_state import LMConfig, LMState
    from agentcl.envs.base import Observation, ParamSpec, ToolSpec
    from agentcl.policies.base import PolicyContext
    from agentcl.policies.local_lm import LocalLMPolicy

    smollm.set_adapter_state(None)
    smollm.scope = None
    percent = ToolSpec("percent_of", "Compute a percentage of a value.",
                       (ParamSpec("percent", "number", ""), ParamSpec("value", "number", "")))
    task = "What is 20% of 150?"
    policy = LocalLMPolicy(lm=smollm)
    action = policy.decide(Observation(step=0, phase="p", task_id="t", kind="tool", text=task),
                           PolicyContext(tools=[percent]))
    asker = PolicyAsker({"percent_of": percent})
    found = tool_validity(smollm, {"percent_of": {"params": ["percent", "value"], "probes": [task]}},
                          max_new_tokens=policy.max_new_tokens, asker=asker)["percent_of"]
    valid = action.tool_call is not None and set(action.tool_call.arguments) == {"percent", "value"}
    assert found["rate"] == float(valid)  # the gate grades the policy's own reply

    backend = LMBackend(None, None, smollm, "ns", LMConfig(), [], None, None, tool_asker=asker)
    backend.state, backend.new_facts, backend.signatures = LMState(), {}, {"percent_of": {"params": ["percent", "value"]}}
    backend.usages = [UsageRecord(task=task, skill="percent_of", args={"percent": 20, "value": 150})]
    [example] = backend.build(None, None)
    assert example.user == policy.last_messages[-1]["content"]  # trained on the prompt the policy shows
    assert json.loads(example.answer) == {"tool": "percent_of", "arguments": {"percent": 20, "value": 150}}


def test_the_gate_refuses_a_round_that_turns_the_policys_tool_calls_into_sentences(smollm):
    """The shape probe: what the policy (its whole chat) answered with a call before a round must still be
    a call of that tool after it. The identity adapter keeps every shape; an adapter taught to answer the
    tool task with a sentence is caught, and the round is refused, with the base model's call as the fix."""
    from agentcl.agent.lm_consolidation import PolicyAsker
    from agentcl.consolidation.lm_job import LMBackend
    from agentcl.consolidation.lm_state import LMConfig, LMState
    from agentcl.envs.base import ParamSpec, ToolSpec

    percent = ToolSpec("percent_of", "Compute a percentage of a value.",
                       (ParamSpec("percent", "number", ""), ParamSpec("value", "number", "")))
    asker = PolicyAsker({"percent_of": percent}, asked=[("What is 20% of 150?", "percent_of")])
    backend = LMBackend(None, None, smollm, "ns", LMConfig(), [], None, None, tool_asker=asker)
    backend.state, backend.new_facts, backend.usages, backend.current = LMState(), {}, [], {}
    smollm.set_adapter_state(None)
    smollm.scope = None
    try:
        [anchor] = backend.policy_anchors()
        [(prompt, expected, fix)] = backend.shapes.probes()
        assert prompt == anchor.user == asker.user_text("percent_of", "What is 20% of 150?")
        assert expected == "call:percent_of" and json.loads(fix.answer)["tool"] == "percent_of"
        assert backend.shapes.drift(smollm, max_new_tokens=40) == {}  # the identity adapter answers as the base does
        opt = smollm.optimizer(2e-3)
        for _ in range(12):
            smollm.train_step([(prompt, "Twenty percent of it.")], opt)
        drifted = backend.shapes.drift(smollm, max_new_tokens=40)
        assert drifted[prompt]["expected"] == "call:percent_of" and drifted[prompt]["now"] == "answer"
        backend.kept_general, backend.drifted = None, drifted
        assert "1 of 1 policy prompts answered in another shape" in backend.gate_check()
        [row, *_] = backend.shapes.fixes(drifted)  # the fix is trained inside the policy's whole chat
        assert row.answer == fix.answer and row.context == asker.chat_context() and row.context[0][0] == "system"
        # a step mixing the long chat row with short rows: each kind its own forward pass, one step
        loss = smollm.train_step([(row.user, row.answer, row.context), (prompt, fix.answer), (prompt, "No.")], opt,
                                 distill=[False, False, True])
        assert loss == loss and loss > 0
    finally:
        smollm.set_adapter_state(None)
