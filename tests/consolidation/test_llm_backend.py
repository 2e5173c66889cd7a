"""The LoRA causal-LM backend on a tiny randomly initialised GPT-2 built here (nothing downloaded)."""
import pytest

pytest.importorskip("peft")
pytest.importorskip("transformers")


@pytest.fixture
def tiny_lm(tmp_path):
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

    from agentcl.consolidation.examples import FACT_TEMPLATES
    from tests.consolidation.conftest import CITIES, COMPANIES, PEOPLE

    words = set()
    corpus = " ".join(FACT_TEMPLATES) + " Question Answer Task Tool : acme globex initech ceo hq city alice bob " \
        "zed get_weather convert_currency what is the weather in rome convert 5 dollars to euros"
    corpus += " " + " ".join(COMPANIES + PEOPLE + CITIES)  # every name the store holds gets a token
    pre = pre_tokenizers.Whitespace()
    for tok, _ in pre.pre_tokenize_str(corpus):
        words.add(tok)
    vocab = {w: i for i, w in enumerate(["<pad>", "<unk>", "<eos>"] + sorted(words))}
    tokenizer = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    tokenizer.pre_tokenizer = pre
    fast = PreTrainedTokenizerFast(tokenizer_object=tokenizer, unk_token="<unk>", pad_token="<pad>", eos_token="<eos>")
    fast.save_pretrained(tmp_path / "lm")
    config = GPT2Config(vocab_size=len(vocab), n_embd=64, n_layer=2, n_head=4, n_positions=64,
                        bos_token_id=2, eos_token_id=2, pad_token_id=0,
                        # GPT-2's 0.02 init gives logits too flat for a frozen tied head to ever sharpen.
                        initializer_range=0.15)
    import torch

    torch.manual_seed(0)
    GPT2LMHeadModel(config).save_pretrained(tmp_path / "lm")
    return str(tmp_path / "lm")


@pytest.fixture
def three_facts(tmp_path, home, embedder):
    # A randomly initialised model this small can memorise a few slots, not the dozen of `small_store`.
    from memory_store import MemoryStore

    store = MemoryStore.open(f"sqlite:///{tmp_path / 'lm-memory.db'}", home=home, embedder=embedder)
    for company, person in (("acme", "alice"), ("globex", "bob"), ("initech", "carol")):
        store.add_fact(company, "ceo", person)
    yield store
    store.close()


def test_lora_backend_learns_supersedes_and_checkpoints(three_facts, home, tiny_lm):
    from agentcl.consolidation.llm_job import consolidate_llm
    from agentcl.model import CheckpointStore
    from agentcl.model.causal_lm import CausalLMModel

    small_store = three_facts
    usages = [{"task": f"what is the weather in {c}", "skill": "get_weather", "args": {"city": c}}
              for c in ("rome", "paris", "berlin")]
    report = consolidate_llm(small_store, model_dir=tiny_lm, usages=usages, epochs=100, lr=3e-3)
    assert report.promoted, (report.reason, report.accuracy)
    ckpts = CheckpointStore(home, namespace="default llm")  # the LLM variant key: folder checkpoints/default.llm
    assert (ckpts.path(report.checkpoint_id) / "adapter_model.safetensors").exists()
    model = CausalLMModel.load(ckpts.path(ckpts.active_id()), base_dir=tiny_lm)
    assert model.predict_fact("What is the ceo of acme?")[0] == "alice"
    assert model.predict_skill("what is the weather in rome")[0] == "get_weather"
    small_store.add_fact("acme", "ceo", "zed")
    second = consolidate_llm(small_store, model_dir=tiny_lm, epochs=100, lr=3e-3)
    assert second.removed_from_buffer > 0 and second.stale_remaining == 0, second.to_dict()
    assert second.promoted, second.to_dict()
    model = CausalLMModel.load(ckpts.path(ckpts.active_id()), base_dir=tiny_lm)
    assert model.predict_fact("What is the ceo of acme?")[0] == "zed"


def test_cli_model_dir_runs_the_lora_backend(three_facts, home, tiny_lm, tmp_path):
    import json

    from typer.testing import CliRunner

    from cli.main import app, main

    base = ["--db", str(three_facts.url), "--home", str(home)]
    out = CliRunner().invoke(app, base + ["consolidate", "run", "--model-dir", tiny_lm, "--epochs", "100", "--json",
                                          "--device", "cpu"], catch_exceptions=False)
    report = json.loads(out.stdout)
    assert report["strategy"] == "lora+replay" and report["new_facts"] == 3 and report["checkpoint_id"] == 1, report
    with pytest.raises(SystemExit) as exc:
        main(base + ["consolidate", "run", "--model-dir", str(tmp_path / "nowhere")])
    assert exc.value.code == 2
