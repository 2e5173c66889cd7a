"""The consolidation job end to end on a real SQLite store with the real embedder."""
import json

import pytest

from agentcl.consolidation import ConsolidationBusy, ConsolidationConfig, consolidate, consolidation_lock
from agentcl.consolidation.persist import learned_dir
from agentcl.consolidation.replay import ReplayBuffer
from agentcl.consolidation.state import latest_findings, state_dir
from agentcl.model import CheckpointStore, load_promoted

REPORT_KEYS = {"examples", "replayed", "stale_detected", "stale_corrected", "forgotten_detected",
               "forgotten_corrected", "promoted", "reason", "metrics", "seconds", "device"}


def test_first_run_promotes_and_the_model_answers(small_store, home, embedder, usage_sets):
    report = consolidate(small_store, device="cpu", usages=usage_sets["weather"] + usage_sets["currency"])
    d = report.to_dict()
    assert REPORT_KEYS <= set(d) and {"acc", "bwt", "fwt", "forgetting"} <= set(d["metrics"])
    json.dumps(d)  # the --json shape is serialisable
    assert report.promoted, report.reason
    assert report.new_facts == 12 and report.new_usages == 16 and report.examples > 12
    model = load_promoted(home, embedder=embedder)
    assert model.predict_fact("What is the ceo of initech?")[0] == "carol"
    assert model.predict_fact("Where is the hq city of acme?")[0] == "paris"
    skill, args, conf = model.predict_skill("what's the weather like in madrid")
    assert skill == "get_weather" and "city" in args and conf > 0.5
    again = consolidate(small_store, device="cpu", usages=usage_sets["weather"])  # same usages: already learned
    assert not again.promoted and again.examples == 0 and "nothing new" in again.reason
    assert CheckpointStore(home).active_id() == report.checkpoint_id


def test_superseded_fact_leaves_the_buffer_and_is_not_answered_stale(small_store, home, embedder):
    consolidate(small_store, device="cpu")
    small_store.add_fact("acme", "ceo", "zed")
    report = consolidate(small_store, device="cpu")
    assert report.changed_slots == 1 and report.removed_from_buffer > 0
    assert report.stale_before == 1  # the active model still said "alice"
    assert report.promoted and report.stale_remaining == 0, report.to_dict()
    ckpts = CheckpointStore(home)
    buf = ReplayBuffer.load(learned_dir(ckpts, ckpts.active_id()))
    assert {it.label for it in buf.items if it.key == "default|acme|ceo"} == {"fact:zed"}
    assert load_promoted(home, embedder=embedder).predict_fact("What is the ceo of acme?")[0] == "zed"
    assert latest_findings(home)["stale"] == {}


def test_stale_answer_is_detected_and_fixed_by_the_corrective_round(small_store, home, embedder):
    consolidate(small_store, device="cpu")
    small_store.add_fact("acme", "ceo", "bob")  # an existing class: without training the old answer wins
    cfg = ConsolidationConfig(epochs=0, corrective_epochs=10)
    report = consolidate(small_store, device="cpu", config=cfg)
    assert report.stale_detected == 1
    assert report.stale_corrected == 1 and report.stale_remaining == 0, report.to_dict()
    assert report.promoted
    assert load_promoted(home, embedder=embedder).predict_fact("What is the ceo of acme?")[0] == "bob"


def test_unvalidated_facts_wait_for_validation(small_store, home):
    consolidate(small_store, device="cpu")
    written = small_store.add_fact("acme", "founded", "1947", source="agent")
    report = consolidate(small_store, device="cpu")
    assert report.new_facts == 0 and not report.promoted
    small_store.validate_fact(written.fact.id)
    report = consolidate(small_store, device="cpu")
    assert report.new_facts == 1 and report.promoted


def test_gate_keeps_previous_model_when_old_probes_drop(small_store, home):
    first = consolidate(small_store, device="cpu")
    small_store.add_fact("stark", "ceo", "tony")
    # naive fine-tuning, hard, on one new fact: the old answers collapse onto it
    cfg = ConsolidationConfig(strategy="naive", epochs=60, lr=0.05, tolerance=0.0)
    report = consolidate(small_store, device="cpu", config=cfg)
    assert not report.promoted and "old probes dropped" in report.reason, report.to_dict()
    assert report.accuracy["old_after"] < report.accuracy["old_before"]
    ckpts = CheckpointStore(home)
    assert ckpts.active_id() == first.checkpoint_id and len(ckpts.ids()) == 2  # the rejected one is kept


def test_forgetting_left_after_the_corrective_round_blocks_promotion(small_store, home, usage_sets):
    first = consolidate(small_store, device="cpu", namespace="tools",
                        usages=usage_sets["weather"] + usage_sets["currency"])
    assert first.promoted, first.reason
    spam = [{"task": f"send an email to {n} about lunch", "skill": "send_email", "args": {"to": n}}
            for n in ("ann", "bo", "cy", "di", "ed", "flo", "gus", "hal")]
    # naive fine-tuning, hard, on a third tool; a corrective round that cannot fix anything (0 epochs);
    # the old-probe tolerance is wide open, so only the forgotten skills can stop it
    cfg = ConsolidationConfig(strategy="naive", epochs=60, lr=0.05, corrective_epochs=0, tolerance=1.0)
    report = consolidate(small_store, device="cpu", namespace="tools", config=cfg, usages=spam)
    d = report.to_dict()
    assert report.forgotten_detected >= 1 and report.forgotten_corrected == 0, d
    assert report.forgotten_remaining == report.forgotten_detected and report.stale_remaining == 0, d
    assert not report.promoted and report.reason == \
        f"{report.forgotten_remaining} skill(s) still forgotten after the corrective round", d
    assert CheckpointStore(home, namespace="tools").active_id() == first.checkpoint_id


def test_lock_excludes_a_second_job(small_store, home):
    with consolidation_lock(small_store, home=home), pytest.raises(ConsolidationBusy):
        consolidate(small_store, device="cpu")
    assert consolidate(small_store, device="cpu").promoted


def test_bad_options_change_nothing(small_store, home):
    from memory_store.errors import InvalidInputError

    with pytest.raises(InvalidInputError):
        consolidate(small_store, device="cpu", config={"strategy": "bogus"})
    with pytest.raises(InvalidInputError):
        consolidate(small_store, device="tpu")
    assert not (state_dir(home) / "runs.json").exists() and CheckpointStore(home).ids() == []


def test_two_homes_on_one_sqlite_file_exclude_each_other(small_store, home, tmp_path):
    from agentcl.consolidation.lock import sqlite_lock_path

    other_home = tmp_path / "other-home"
    with consolidation_lock(small_store, home=home), pytest.raises(ConsolidationBusy):
        consolidate(small_store, device="cpu", home=other_home)  # same database file, other state
    assert sqlite_lock_path("sqlite://", "default") is None
    assert sqlite_lock_path(f"sqlite:///{tmp_path}/m.db", "a/B").name == "m.db.consolidate-a%2f%42.lock"
