"""LocalModel and checkpoints: growing classes, prediction, atomic save/load, activate and rollback."""
import numpy as np
import pytest

from agentcl.model import CheckpointStore, LocalModel, load_promoted
from memory_store.errors import NotFoundError


def _toy_model(embedder):
    model = LocalModel.new(dim=embedder.dim, hidden=32)
    model.embedder = embedder
    texts = ["What is the ceo of acme?", "acme ceo?", "convert 5 dollars to euros"]
    vecs = embedder.encode(texts)
    ids = model.ensure_classes([("fact", "alice"), ("fact", "alice"), ("skill", "convert")], vecs)
    model.skill_args["convert"] = {"amount": 5}
    return model, ids


def test_classes_grow_and_untrained_prototypes_already_predict(embedder):
    model, ids = _toy_model(embedder)
    assert ids == [0, 0, 1] and model.net.n_classes == 2
    model.ensure_classes([("fact", "bob")], embedder.encode(["What is the ceo of globex?"]))
    assert model.net.n_classes == 3 and model.class_id("fact", "bob") == 2
    # SimpleCIL: with an identity adapter the class means alone answer near questions
    assert model.predict_fact("Who is the CEO of Acme?")[0] == "alice"
    name, args, conf = model.predict_skill("please convert 7 dollars into euros")
    assert name == "convert" and args == {"amount": 5} and 0 < conf <= 1


def test_no_classes_of_a_kind_gives_none(embedder):
    model = LocalModel.new(dim=embedder.dim, hidden=8)
    model.embedder = embedder
    assert model.predict_fact("anything?") == (None, 0.0)
    assert model.predict_skill("do it") == (None, {}, 0.0)


def test_checkpoints_save_load_activate_rollback(embedder, home):
    model, _ = _toy_model(embedder)
    store = CheckpointStore(home)
    assert load_promoted(home) is None
    first = store.save(model, {"promoted": True, "metrics": {"acc": 1.0}}, activate=True)
    model.ensure_classes([("fact", "bob")], embedder.encode(["globex ceo?"]))
    second = store.save(model, {"promoted": True}, activate=True)
    assert (first, second) == (1, 2) and store.active_id() == 2
    assert not list(store.root.glob("*.tmp")) and not list(store.root.glob(".*"))
    loaded = load_promoted(home, embedder=embedder)
    assert loaded.classes == model.classes and loaded.skill_args == {"convert": {"amount": 5}}
    x = embedder.encode(["acme ceo?"])
    np.testing.assert_allclose(loaded.net(__import__("torch").as_tensor(x)).detach().numpy(),
                               model.net(__import__("torch").as_tensor(x)).detach().numpy(), rtol=1e-5)
    store.activate(first)
    assert load_promoted(home, embedder=embedder).net.n_classes == 2
    with pytest.raises(NotFoundError):
        store.activate(99)
    assert [c.active for c in store.list()] == [True, False]
