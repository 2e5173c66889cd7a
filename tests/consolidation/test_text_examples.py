"""The pure rules of the llm backend: examples, stale answers, tool-call validity, locality grading,
class-balanced replay. No model."""
import json
import random
from collections import Counter

from agentcl.consolidation.lm_stages import balanced_sample, general_questions, locality_kept, train_round
from agentcl.consolidation.lm_state import LMState
from agentcl.consolidation.text_examples import (
    Anchor,
    Slot,
    TextExample,
    Tool,
    call_problem,
    fact_examples,
    fact_questions,
    grade_general,
    is_stale,
    parse_tool_call,
    reply_shape,
    shape_drifted,
    tool_examples,
)


def test_fact_examples_state_the_value_and_keep_unseen_phrasings_apart():
    slot = Slot("default", "Acme", "hq_city")
    examples = fact_examples(slot, "Lisbon", phrasings=3)
    assert len(examples) == 3 and all(e.key == slot and "Lisbon" in e.answer for e in examples)
    assert "hq city" in examples[0].user
    assert not set(fact_questions(slot, unseen=True)) & {e.user for e in examples}


def test_stale_means_an_old_value_and_not_the_current_one():
    assert is_stale("The CEO of Acme is Alice Smith.", "Bob Jones", {"Alice Smith"})
    assert not is_stale("It was Alice Smith, now Bob Jones.", "Bob Jones", {"Alice Smith"})
    assert not is_stale("I do not know.", "Bob Jones", {"Alice Smith"})
    assert not is_stale("Parisian food", "Rome", {"Paris"})  # whole words only


def test_tool_calls_are_checked_against_todays_signature():
    ok = tool_examples("weather in rome", "get_weather", {"location": "rome"}).answer
    assert call_problem(ok, "get_weather", ["location"]) is None
    old = json.dumps({"tool": "get_weather", "arguments": {"city": "rome"}})
    assert call_problem(old, "get_weather", ["location"]).startswith("unknown parameter")
    assert call_problem('{"tool": "get_weather", "arguments": {}}', "get_weather", ["location"]).startswith("missing")
    assert call_problem(ok, "convert_currency", ["amount"]).startswith("wrong tool")
    assert call_problem("sure! here you go", "get_weather", ["location"]) == "no JSON tool call"
    assert parse_tool_call('Call: {"tool": "t", "arguments": {"a": {"b": 1}}} done') == {"tool": "t",
                                                                                          "arguments": {"a": {"b": 1}}}


def test_a_reply_is_a_call_of_one_tool_other_json_or_an_answer():
    assert reply_shape('{"tool": "add_days", "arguments": {"start": 2026-01-02, "days": 79}}') == "call:add_days"
    assert reply_shape('{"tool": "Lookup", "arguments": {"subject": "Ac') == "call:lookup"  # cut: still a call
    assert reply_shape('{"arguments": {"arguments": {}}}') == "json"
    assert reply_shape("The CEO of Acme is Alice Park.") == "answer"
    assert reply_shape('The CEO is Alice. {"tool": "lookup"}') == "call:lookup"


def test_shape_drift_is_a_usable_shape_lost_or_traded():
    assert shape_drifted("call:add_days", "answer") and shape_drifted("call:add_days", "call:percent_of")
    assert shape_drifted("answer", "call:lookup") and shape_drifted("answer", "json")
    assert not shape_drifted("answer", "answer") and not shape_drifted("call:lookup", "call:lookup")
    assert not shape_drifted("json", "answer") and not shape_drifted("json", "call:add_days")  # nothing usable lost
    # an untaught prompt's sentence may become a call of the one tool its prompt offers, and nothing else
    assert not shape_drifted("answer", "call:lookup", may_call="call:lookup")
    assert shape_drifted("answer", "call:add_days", may_call="call:lookup")
    assert shape_drifted("call:add_days", "call:lookup", may_call="call:lookup")
    assert shape_drifted("call:lookup", "answer", may_call="call:lookup")


def test_general_questions_ship_with_the_package_and_grade_by_containment():
    data = general_questions()
    assert len(data["locality"]) >= 100 and len(data["anchors"]) >= 12
    assert not {q["q"] for q in data["locality"]} & set(data["anchors"])  # anchors never leak into locality
    assert grade_general("The capital of France is Paris.", ["Paris"])
    assert not grade_general("I think it is Lyon.", ["Paris"])
    assert locality_kept([True, True, False, True], [True, False, True, True]) == 2 / 3


def test_replay_is_class_balanced_over_keys():
    pool = [TextExample(Slot("d", "big", "p"), f"q{i}", "a") for i in range(90)]
    pool += [TextExample(Tool("t"), "task", "{}"), TextExample(Anchor(0), "q", "a")]
    counts = Counter(type(e.key).__name__ for e in balanced_sample(pool, 3000, random.Random(0)))
    assert all(900 < counts[k] < 1100 for k in ("Slot", "Tool", "Anchor")), counts


def test_learned_state_round_trips_with_typed_keys():
    state = LMState(slots={Slot("d", "Acme", "ceo"): {"value": "Bob", "ok": True}},
                    replay=[TextExample(Tool("t"), "task", "{}")], anchors=[TextExample(Anchor(2), "q", "a")])
    back = LMState.from_json(json.loads(json.dumps(state.to_json())))
    assert back.slots == state.slots and back.replay == state.replay and back.anchors == state.anchors


class _StepLog:
    """Records what each training step is given (the schedule is under test here, not the model)."""

    def __init__(self):
        self.steps, self.lrs = [], []

    def optimizer(self, lr):
        import torch

        return torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=lr)

    def train_step(self, pairs, opt, *, distill, kl_weight):
        self.steps.append(list(zip(pairs, distill)))
        self.lrs.append(opt.param_groups[0]["lr"])
        return 0.0


def test_a_small_round_still_trains_min_steps_with_replay_and_distilled_anchors():
    new = [TextExample(Slot("d", "Acme", "ceo"), "q", "a")]
    replay = [TextExample(Slot("d", f"s{i}", "p"), f"r{i}", "a") for i in range(5)]
    general = [TextExample(Anchor(i), f"g{i}", "base answer") for i in range(3)]
    log = _StepLog()
    stats = train_round(log, new, replay, epochs=2, min_epochs=1, min_steps=6, batch_size=4, lr=1.0, seed=0,
                        anchors=general, anchor_batch=2, warmup_steps=3, learned=lambda: True)
    assert stats.steps == len(log.steps) == 6  # one new example, yet six steps: replay gets its say
    assert all(len(step) == 1 + 4 + 2 for step in log.steps)  # new + a full replay batch + anchors
    assert all(flag == (pair[0].startswith("g")) for step in log.steps for pair, flag in step)
    assert log.lrs[:4] == [0.25, 0.5, 0.75, 1.0]  # warm-up
    assert train_round(_StepLog(), new, replay, epochs=0, min_epochs=0, min_steps=6, batch_size=4, lr=1.0,
                       seed=0).steps == 0  # epochs 0: no main-round training, whatever min_steps says


class _HeldStepLog(_StepLog):
    def train_step(self, pairs, opt, *, distill, kl_weight, previous, kl_previous):
        self.steps.append([(p, d, h, kl_previous) for p, d, h in zip(pairs, distill, previous)])
        return 0.0


def test_kl_previous_flags_only_the_replayed_rows_the_previous_adapter_knows():
    new = [TextExample(Slot("d", "Acme", "ceo"), "q", "a")]
    replay = [TextExample(Slot("d", f"s{i}", "p"), f"r{i}", "a") for i in range(5)]
    general = [TextExample(Anchor(0), "g0", "base answer")]
    log = _HeldStepLog()
    train_round(log, new, replay + new, epochs=1, min_epochs=1, min_steps=8, batch_size=4, lr=1.0, seed=0,
                anchors=general, anchor_batch=1, kl_previous=0.5, previous_knows=replay)
    assert len(log.steps) == 8 and all(len(step) == 1 + 4 + 1 for step in log.steps)
    assert all(k == 0.5 for step in log.steps for *_, k in step)
    # The new row and the anchor never; a replayed row when the previous adapter was trained on it, so
    # not this round's example drawn from the pool (the corrective round replays those too).
    drawn = [row for step in log.steps for row in step[1:5]]
    assert all(held == pair[0].startswith("r") for pair, _, held, _ in drawn)
    assert not any(held for step in log.steps for _, _, held, _ in (step[0], step[-1]))
    assert {pair[0] == "q" for pair, *_ in drawn} == {True, False}


def test_kl_previous_holds_the_round_start_adapter_except_in_the_first_round():
    from agentcl.consolidation.lm_job import LMBackend
    from agentcl.consolidation.lm_state import LMConfig

    class LM:
        device, held = "cpu", []

        def hold_previous(self, state):
            self.held.append(state)

    for active, cfg, expect in ((None, LMConfig(kl_previous=1.0), []),  # first round: no previous adapter
                                (3, LMConfig(), []),  # off by default
                                (3, LMConfig(kl_previous=1.0, replay=False), []),  # the naive run replays nothing
                                (3, LMConfig(kl_previous=1.0), [{"w": 1}, None])):  # held, then dropped
        backend = LMBackend(None, None, LM(), "default", cfg, [], None, None)
        backend.lm.held = []
        backend.active, backend.previous_adapter = active, {"w": 1}
        with backend.session():
            assert backend.kl_previous == (1.0 if expect else 0.0)
        assert backend.lm.held == expect
