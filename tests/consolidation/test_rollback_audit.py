"""Rollback brings back the learned state of the model it activates; `agentcl memory audit` lists what
the latest probes found; pure probe rules."""
import json

from typer.testing import CliRunner

from agentcl.consolidation import ConsolidationConfig, consolidate, latest_probe_findings
from agentcl.consolidation.persist import learned_dir
from agentcl.consolidation.probes import classify_answers, forgotten_skills
from agentcl.model import CheckpointStore, load_promoted


def test_rollback_then_consolidate_relearns_what_the_old_model_never_knew(small_store, home, embedder):
    consolidate(small_store, device="cpu")
    small_store.add_fact("stark", "ceo", "tony")
    small_store.add_fact("acme", "ceo", "zed")
    second = consolidate(small_store, device="cpu")
    assert second.promoted and second.new_facts == 2
    ckpts = CheckpointStore(home)
    ckpts.activate(1)  # `agentcl consolidate rollback 1`
    assert load_promoted(home, embedder=embedder).predict_fact("What is the ceo of acme?")[0] == "alice"
    third = consolidate(small_store, device="cpu")
    assert third.promoted and third.new_facts == 2 and third.stale_before == 1, third.to_dict()
    model = load_promoted(home, embedder=embedder)
    assert model.predict_fact("What is the ceo of stark?")[0] == "tony"
    assert model.predict_fact("What is the ceo of acme?")[0] == "zed"


def test_old_states_are_pruned_and_a_stateless_rollback_relearns_everything(small_store, home, embedder):
    cfg = ConsolidationConfig(keep_states=1)
    consolidate(small_store, device="cpu", config=cfg)
    small_store.add_fact("stark", "ceo", "tony")
    consolidate(small_store, device="cpu", config=cfg)
    ckpts = CheckpointStore(home)
    assert not learned_dir(ckpts, 1).exists() and learned_dir(ckpts, 2).exists()
    ckpts.activate(1)  # weights only: the next run learns every validated memory again on top of them
    report = consolidate(small_store, device="cpu", config=cfg)
    assert report.promoted and report.new_facts == 13
    assert load_promoted(home, embedder=embedder).predict_fact("What is the ceo of stark?")[0] == "tony"


def test_audit_lists_stale_slots_and_forgotten_skills(small_store, home, usage_sets, monkeypatch, embedder):
    from cli.main import app

    consolidate(small_store, device="cpu")
    small_store.add_fact("acme", "ceo", "bob")
    # a candidate that learns nothing is rejected: the findings describe the model still active
    rejected = consolidate(small_store, device="cpu", config=ConsolidationConfig(epochs=0, correct=False))
    assert not rejected.promoted and rejected.stale_before == 1
    # another namespace: two tools, then a third trained hard without replay, promoted without a gate
    consolidate(small_store, device="cpu", namespace="tools", usages=usage_sets["weather"] + usage_sets["currency"])
    hard = ConsolidationConfig(strategy="naive", epochs=60, lr=0.05, gate=False, correct=False)
    spam = [{"task": f"send an email to {n} about lunch", "skill": "send_email", "args": {"to": n}}
            for n in ("ann", "bo", "cy", "di", "ed", "flo", "gus", "hal")]
    forgetful = consolidate(small_store, device="cpu", namespace="tools", config=hard, usages=spam)
    assert forgetful.promoted and forgetful.forgotten_detected >= 1, forgetful.to_dict()

    assert latest_probe_findings(home, "default")["stale"] == {"default|acme|ceo": "alice"}
    import memory_store.embedding as emb

    monkeypatch.setattr(emb, "get_default_embedder", lambda device="auto": embedder)
    base = ["--db", str(small_store.url), "--home", str(home)]
    out = CliRunner().invoke(app, base + ["memory", "audit", "--json"], catch_exceptions=False)
    probes = json.loads(out.stdout)["probes"]
    assert probes["stale"] == {"default|acme|ceo": "alice"} and probes["checkpoint"] == 1
    out = CliRunner().invoke(app, base + ["memory", "audit", "-n", "tools", "--json"], catch_exceptions=False)
    forgotten = json.loads(out.stdout)["probes"]["forgotten"]
    assert forgotten and all(v["drop"] > 0.1 for v in forgotten.values())
    text = CliRunner().invoke(app, base + ["memory", "audit", "-n", "tools"], catch_exceptions=False).stdout
    assert "latest consolidation probes" in text and next(iter(forgotten)) in text


def test_classify_answers_and_forgotten_skills_rules():
    found = classify_answers({"a": "old", "b": "new", "c": "other", "d": None}, {"a": "new", "b": "new", "c": "x"},
                             {"a": {"old"}, "c": {"y"}})
    assert found.stale == {"a": "old"} and found.disagree == {"c": {"model": "other", "store": "x"}}
    lost = forgotten_skills({"s": 0.5, "t": 0.95, "u": None, "v": 1.0}, {"s": 1.0, "t": 1.0, "u": 1.0}, threshold=0.1)
    assert lost == {"s": {"best": 1.0, "now": 0.5, "drop": 0.5}}


def test_disagreements_with_the_store_are_found_on_learned_slots(small_store, home):
    consolidate(small_store, device="cpu")
    small_store.add_fact("stark", "ceo", "tony")
    hard = ConsolidationConfig(strategy="naive", epochs=60, lr=0.05, gate=False, correct=False)
    report = consolidate(small_store, device="cpu", config=hard)  # old answers collapse onto the new one
    assert report.promoted and report.disagreements > 0 and report.stale_detected == 0
    disagree = latest_probe_findings(home)["disagree"]
    assert len(disagree) == report.disagreements and any(d["model"] == "tony" for d in disagree.values())
