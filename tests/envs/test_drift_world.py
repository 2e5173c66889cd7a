"""DriftWorld: determinism, drifting tools, truthful lookup, feedback, ground truth."""
from __future__ import annotations

import pytest

from agentcl.envs import Action, Environment, load_environment
from agentcl.envs.drift import DriftWorld
from agentcl.envs.operations import OPERATIONS


def _oracle(env: DriftWorld, obs, *, stale_tools: bool = False) -> Action:
    """Answer with the truth / call the task's tool with its current parameter names."""
    if obs.kind == "fact":
        return Action.say(env.truth(obs.query.subject, obs.query.predicate))
    op = obs.request.operation
    for name in env.toolbook.tools_for(op):
        tool = env.toolbook.tools[name]
        version = env.toolbook.running(name, obs.step)
        if version is None or env.toolbook.is_deprecated(tool, obs.step):
            continue
        if stale_tools:
            version = tool.versions[0]
        args = {p.name: obs.request.inputs[p.canonical] for p in version.params}
        return Action.call(name, args)
    raise AssertionError(f"no live tool for {op} at {obs.step}")


def _play(env: DriftWorld, seed: int, policy) -> list:
    obs = env.reset(seed)
    feedback = []
    while obs is not None:
        fb = env.step(policy(env, obs))
        feedback.append(fb)
        obs = fb.next_observation
    return feedback


def _stream(env: DriftWorld, seed: int) -> list[tuple]:
    obs, out = env.reset(seed), []
    while obs is not None:
        out.append((obs.step, obs.phase, obs.task_id, obs.text, obs.time))
        obs = env.step(Action.say("no idea")).next_observation
    return out


def test_is_an_environment_and_default_size():
    env = load_environment("drift")
    assert isinstance(env, Environment) and isinstance(env, DriftWorld)
    assert 200 <= env.scenario.horizon <= 500
    obs = env.reset()
    assert obs.step == 0 and obs.attempt == 0 and obs.time == "2026-01-05T09:00:00Z"


def test_same_seed_same_stream_and_feedback_other_seed_differs():
    a, b = DriftWorld(), DriftWorld()
    assert _stream(a, 7) == _stream(b, 7)
    assert [r.to_dict() for r in a.records()] == [r.to_dict() for r in b.records()]
    assert _stream(a, 8) != _stream(b, 7)


def test_stream_does_not_depend_on_actions():
    a, b = DriftWorld(), DriftWorld()
    _play(a, 3, _oracle)
    _stream(b, 3)
    assert [r.task_id for r in a.records()] == [r.task_id for r in b.records()]


def test_oracle_succeeds_everywhere_and_phases_revisit():
    env = DriftWorld()
    _play(env, 0, _oracle)
    records = env.records()
    assert len(records) == env.scenario.horizon and all(r.correct for r in records)
    phases = [p.name for p in env.scenario.phases]
    first_phase = {}
    for r in records:
        first_phase.setdefault(r.task_id, r.phase)
    revisits = [r for r in records if phases.index(r.phase) > phases.index(first_phase[r.task_id])]
    assert len([r for r in revisits if r.phase == phases[-1]]) >= 20


def test_tool_changes_actually_happen():
    env = DriftWorld()
    changes = {(c.tool, c.kind): c for c in env.tool_changes()}
    assert {"param_renamed", "deprecated", "introduced"} <= {kind for _, kind in changes}
    feedback = _play(env, 0, lambda e, o: _oracle(e, o, stale_tools=True))
    by_step = {fb.step: fb for fb in feedback}
    rename = changes[("convert_units", "param_renamed")]
    deprecated = changes[("currency_convert", "deprecated")]
    for r in env.records():
        if r.operation == "convert_units":
            assert r.correct == (r.step < rename.step)
            if r.step >= rename.step:
                err = by_step[r.step].tool_error
                assert err["code"] == "invalid_arguments"
                assert err["unknown"] == ["value"] and err["missing"] == ["quantity"]
        if r.operation == "currency_convert" and r.step >= deprecated.step and r.tool == "currency_convert":
            assert by_step[r.step].tool_error == {"code": "deprecated", "replacement": "fx_convert",
                                                  "message": "currency_convert has been removed; use 'fx_convert' instead"}


def test_new_tool_appears_and_docs_can_lag():
    env = DriftWorld()
    env.reset(0)
    intro = next(c for c in env.tool_changes() if c.tool == "timezone_convert")
    names = lambda step: {s.name for s in env.toolbook.specs(step)}
    assert "timezone_convert" not in names(intro.step - 1) and "timezone_convert" in names(intro.step)
    assert not any(r.operation == "timezone_convert" and r.step < intro.step for r in env.records())
    call = Action.call("timezone_convert", {"time": "10:00", "from_tz": "UTC", "to_tz": "JST"}).tool_call
    assert env.toolbook.execute(call, intro.step - 1)[0].error["code"] == "unknown_tool"
    assert env.toolbook.execute(call, intro.step)[0].output == "19:00"
    # the rename of convert_units runs at 100 but is documented only from 130
    doc = lambda step: [p.name for s in env.toolbook.specs(step) if s.name == "convert_units" for p in s.parameters]
    assert doc(110)[0] == "value" and doc(130)[0] == "quantity"
    assert "currency_convert" not in names(140) and "fx_convert" in names(140)


def test_lookup_is_truthful_and_costs():
    env = DriftWorld()
    obs = env.reset(0)
    checked = 0
    while obs is not None:
        if obs.kind == "fact":
            fb = env.step(Action.call("lookup", {"subject": obs.query.subject.upper(),
                                                 "predicate": obs.query.predicate}))
            assert fb.task_done is False and fb.correct is None and fb.cost == 1.0
            assert fb.next_observation.task_id == obs.task_id and fb.next_observation.attempt == 1
            for slot in env.timeline.slots.values():  # every slot, via practice calls, at this step
                got = env.execute_tool(Action.call("lookup", {"subject": slot.subject,
                                                               "predicate": slot.predicate}).tool_call)
                assert got.output["value"] == env.timeline.value_of(slot.spec, obs.step)
                checked += 1
            fb = env.step(Action.say(f"It is {fb.tool_result.output['value']}."))
            assert fb.correct is True
        else:
            fb = env.step(Action.say("?"))
        obs = fb.next_observation
    assert checked > 100 and env.lookups > checked
    assert env.stats() == {"episodes": 1, "lookups": env.lookups, "practice_calls": checked,
                           "lookup_cost": float(env.lookups)}
    assert all(r.lookups == 1 for r in env.records() if r.kind == "fact")


def test_lookup_errors_are_structured():
    env = DriftWorld()
    env.reset(0)
    bad = env.execute_tool(Action.call("lookup", {"subject": "Acme", "field": "ceo"}).tool_call)
    assert bad.error["unknown"] == ["field"] and bad.error["missing"] == ["predicate"]
    missing = env.execute_tool(Action.call("lookup", {"subject": "Nobody", "predicate": "ceo"}).tool_call)
    assert missing.error["code"] == "not_found"


def test_rotation_has_a_natural_lifetime():
    env = DriftWorld()
    slot = env.timeline.slot("payments team", "on-call")
    values = [env.timeline.value_of(slot.spec, s) for s in range(28)]
    assert values[0:7] == ["Ana Silva"] * 7 and values[7] == "Ben Okafor" and values[21] == "Dana Ross"
    assert env.timeline.valid_until(slot, 9) == 14
    env.reset(0)
    out = env.execute_tool(Action.call("lookup", {"subject": "payments team", "predicate": "on-call"}).tool_call)
    assert out.output["valid_until_step"] == 7 and out.output["valid_until"].startswith("2026-01-12")


def test_feedback_carries_correction_sometimes_and_marks_stale():
    env = DriftWorld()
    env.reset(0)
    feedback = _play(env, 0, lambda e, o: Action.say(e.timeline.value_of(e.timeline.slot(
        o.query.subject, o.query.predicate).spec, 0)) if o.kind == "fact" else Action.say("?"))
    wrong_facts = [(fb, r) for fb, r in zip(feedback, env.records()) if r.kind == "fact" and not r.correct]
    assert wrong_facts and all(r.stale for _, r in wrong_facts)  # the step-0 value, now outdated
    with_correction = [fb for fb, _ in wrong_facts if fb.correction is not None]
    assert 0.25 < len(with_correction) / len(wrong_facts) < 0.75  # correction_probability 0.5
    for fb, r in wrong_facts:
        if fb.correction is not None:
            assert fb.correction.value == r.expected and r.expected in fb.message
        else:
            assert fb.message == "wrong"


def test_wrong_kind_of_action_and_action_budget():
    env = DriftWorld(seed=0)
    obs = env.reset()
    while obs.kind != "tool":
        obs = env.step(Action.say("?")).next_observation
    fb = env.step(Action.say("3.1"))
    assert fb.correct is False and "needs a tool call" in fb.message
    obs = fb.next_observation
    while obs.kind != "fact":
        obs = env.step(Action.say("?")).next_observation
    lookup = Action.call("lookup", {"subject": obs.query.subject, "predicate": obs.query.predicate})
    results = [env.step(lookup) for _ in range(env.scenario.max_actions_per_task)]
    assert [r.task_done for r in results] == [False] * 3 + [True] and results[-1].correct is False
    assert results[-1].next_observation.step == obs.step + 1


def test_episode_end_and_ground_truth():
    env = DriftWorld()
    _play(env, 0, _oracle)
    with pytest.raises(RuntimeError):
        env.step(Action.say("x"))
    truth = env.ground_truth()["Acme / ceo"]
    assert truth == [{"from_step": 0, "to_step": 110, "value": "Alice Park"},
                     {"from_step": 110, "to_step": 300, "value": "Bruno Diaz"}]
    assert env.truth("acme", "CEO", step=109) == "Alice Park" and env.truth("Acme", "ceo", step=110) == "Bruno Diaz"
    env.reset(0)
    assert env.episode == 1 and {r.episode for r in env.records()} == {0}


def test_operations_compute_real_results():
    assert OPERATIONS["convert_units"].func(5, "km", "mi") == pytest.approx(3.107)
    assert OPERATIONS["convert_units"].func(100, "c", "f") == 212
    assert OPERATIONS["add_days"].func("2026-02-27", 2) == "2026-03-01"
    assert OPERATIONS["currency_convert"].func(100, "USD", "EUR") == 92.0
    assert OPERATIONS["timezone_convert"].func("23:30", "UTC", "IST") == "05:00"


def test_retry_tool_errors_keeps_the_task_open():
    data = DriftWorld().scenario.model_dump()
    data["retry_tool_errors"] = True
    env = DriftWorld(data)
    obs = env.reset(0)
    while not (obs.kind == "tool" and obs.request.operation == "convert_units" and obs.step >= 100):
        obs = env.step(_oracle(env, obs)).next_observation
    fb = env.step(_oracle(env, obs, stale_tools=True))
    assert fb.task_done is False and fb.correct is None and fb.tool_error["missing"] == ["quantity"]
    assert fb.next_observation.task_id == obs.task_id and fb.next_observation.attempt == 1
    fb = env.step(_oracle(env, fb.next_observation))
    assert fb.correct is True and env.records()[-1].actions == 2


def test_some_changes_are_announced():
    env = DriftWorld()
    obs = env.reset(0)
    seen = {}
    while obs is not None:
        for notice in obs.notices:
            seen[(notice.subject, notice.predicate)] = (notice.step, notice.text)
            assert notice.step == obs.step
        obs = env.step(Action.say("?")).next_observation
    assert seen[("Acme", "ceo")] == (110, "Acme has a new ceo.")
    assert seen[("Acme", "headquarters")] == (160, "Acme is moving its headquarters.")
    assert ("Acme", "refund window") not in seen and len(seen) == 5  # silent changes stay silent
