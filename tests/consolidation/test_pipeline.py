"""The round driver (pipeline.run_round) on a stub backend: the stage order, the 'nothing new' exit, the
corrective round and its re-probe, the gate (with a backend's extra check and the gate switch), and the
previous model kept when the candidate is refused. No model, no embedder: the store is a stand-in."""
from dataclasses import dataclass, field
from types import SimpleNamespace

from agentcl.consolidation.keys import Slot, skill_key, slot_from_saved, slot_key
from agentcl.consolidation.pipeline import Backend, GateInputs, TrainStats, run_round
from agentcl.consolidation.report import ConsolidationReport


@dataclass
class Found:
    stale: dict = field(default_factory=dict)
    forgotten: dict = field(default_factory=dict)


class Store:
    url = "sqlite:///stub.db"

    def facts(self, *, namespace, status):
        return []


class Stub(Backend):
    def __init__(self, *, examples=("e1", "e2"), probes=(Found(),), new_accuracy=1.0, refuse=None, **cfg):
        self.cfg = SimpleNamespace(**{"correct": True, "gate": True, "learn_threshold": 0.8, "tolerance": 0.05,
                                      "min_validations": 1, "trusted_sources": (), **cfg})
        self.examples, self.probes, self.new_accuracy, self.refuse = list(examples), list(probes), new_accuracy, refuse
        self.calls: list[str] = []
        self.state = SimpleNamespace(store_url="", usages_seen=[])
        self.checkpoints = self
        self.saved_as: dict = {}

    def save(self, model, meta, *, activate, extra):  # the checkpoint store
        self.calls.append("checkpoint")
        self.saved_as = {"model": model, "meta": meta, "activate": activate, "extra": extra}
        return 7

    def new_report(self):
        return ConsolidationReport()

    def load(self, rep):
        self.calls.append("load")
        return self.state

    def forget(self):
        self.calls.append("forget")
        return self.state

    def open(self, rep):
        self.calls.append("open")
        rep.active_checkpoint = 3

    def learned(self):
        return {}

    def forget_stale(self, sel, rep):
        self.calls.append("forget_stale")
        return {"old_tool"}

    def build(self, sel, rep):
        self.calls.append("build")
        return self.examples

    def train(self, examples, rep):
        self.calls.append("train")
        return TrainStats(replayed=5)

    def probe(self):
        self.calls.append("probe")
        return self.probes.pop(0)

    def correct(self, found, examples):
        self.calls.append("correct")
        return TrainStats(replayed=2)

    def evaluate(self, found, after, rep):
        self.calls.append("evaluate")
        return GateInputs(self.new_accuracy, None, None)

    def gate_check(self):
        return self.refuse

    def advance(self, after, examples):
        self.calls.append("advance")
        return "learned-writer"

    def candidate(self):
        return "model"

    def checkpoint_meta(self, rep):
        return {"backend": "stub"}

    def keep_previous(self):
        self.calls.append("keep_previous")


def _run(backend):
    return run_round(backend, Store(), None, namespace="default")


def test_a_promoted_round_runs_the_stages_in_order_and_activates_its_checkpoint():
    b = Stub()
    rep = _run(b)
    assert b.calls == ["load", "open", "forget_stale", "build", "train", "probe", "evaluate", "advance", "checkpoint"]
    assert rep.promoted and rep.checkpoint_id == rep.active_checkpoint == 7 and rep.replayed == 5
    assert rep.examples == 2 and rep.retired_skills == ["old_tool"]
    assert b.saved_as["activate"] and b.saved_as["extra"] == "learned-writer" and b.saved_as["model"] == "model"
    assert b.saved_as["meta"]["backend"] == "stub" and b.saved_as["meta"]["examples"] == 2


def test_nothing_new_stops_before_training_and_keeps_the_previous_model():
    b = Stub(examples=())
    rep = _run(b)
    assert b.calls == ["load", "open", "forget_stale", "build", "keep_previous"]
    assert not rep.promoted and rep.reason.startswith("nothing new to learn") and rep.active_checkpoint == 3


def test_stale_findings_get_a_corrective_round_and_are_probed_again():
    b = Stub(probes=[Found(stale={"s": "old"}, forgotten={"t": {}}), Found(forgotten={"t": {}})])
    rep = _run(b)
    assert b.calls[4:8] == ["train", "probe", "correct", "probe"]
    assert (rep.stale_detected, rep.stale_corrected, rep.stale_remaining) == (1, 1, 0)
    assert (rep.forgotten_detected, rep.forgotten_corrected, rep.forgotten_remaining) == (1, 0, 1)
    assert rep.replayed == 7 and not rep.promoted and "forgotten" in rep.reason
    assert b.calls[-2:] == ["checkpoint", "keep_previous"] and rep.active_checkpoint == 3
    assert not b.saved_as["activate"] and b.saved_as["extra"] is None  # kept for inspection, not activated
    no_fix = Stub(probes=[Found(stale={"s": "old"})], correct=False)
    assert _run(no_fix).stale_remaining == 1 and "correct" not in no_fix.calls


@dataclass
class FoundLost(Found):
    lost: dict = field(default_factory=dict)


def test_lost_earlier_facts_alone_trigger_the_corrective_round_and_are_counted():
    b = Stub(probes=[FoundLost(lost={"a": "wrong", "b": "wrong"}), FoundLost(lost={"b": "wrong"})])
    rep = _run(b)
    assert b.calls[4:8] == ["train", "probe", "correct", "probe"]
    assert (rep.lost_detected, rep.lost_corrected, rep.lost_remaining) == (2, 1, 1)
    plain = Stub(probes=[Found()])  # a backend that reports no `lost` field: no corrective round
    assert _run(plain).lost_detected == 0 and "correct" not in plain.calls


def test_the_backend_check_refuses_and_the_gate_switch_overrides():
    refused = _run(Stub(refuse="general answers kept 0.500 < 0.95 (locality)"))
    assert not refused.promoted and refused.reason.endswith("(locality)")
    unlearned = _run(Stub(new_accuracy=0.1, refuse="never asked"))
    assert "not learned" in unlearned.reason  # the extra check only runs when the common rule promotes
    forced = _run(Stub(new_accuracy=0.1, gate=False))
    assert forced.promoted and forced.reason.startswith("gate disabled (would have kept the previous model:")


def test_state_of_another_database_is_forgotten():
    b = Stub()
    b.state.store_url = "sqlite:///elsewhere.db"
    rep = _run(b)
    assert b.calls[:3] == ["load", "forget", "open"] and rep.notes == ["state belonged to another database: starting afresh"]


def test_typed_keys_and_their_saved_text_forms():
    fact = SimpleNamespace(namespace="team|a", subject="co|1", predicate="ceo")
    slot = Slot.of(fact)
    assert slot == Slot("team|a", "co|1", "ceo") and slot_key(slot) == "team|a|co|1|ceo"
    assert skill_key("fx") == "skill:fx"
    # read back from the subject and predicate saved beside the key, with or without the namespace
    assert slot_from_saved(slot_key(slot), {"subject": "co|1", "predicate": "ceo"}) == slot
    assert slot_from_saved("x", {"subject": "co|1", "predicate": "ceo", "namespace": "team|a"}) == slot
