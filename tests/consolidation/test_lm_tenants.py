"""Namespaces are a boundary in the language model too: two tenants whose names differ only in
punctuation get separate checkpoint folders, and loading one's active adapter never yields the other's
(adapter or scope). No model: the checkpoint store and the scope are what decide this."""
from pathlib import Path

from agentcl.consolidation.lm_state import LMCheckpoints, LMState, state_writer
from agentcl.consolidation.text_examples import Slot


class Adapter:  # what CheckpointStore.save calls save(directory) on
    def save(self, directory):  # like peft's save_pretrained, it creates the folder and writes both files
        import numpy as np
        from safetensors.numpy import save_file

        Path(directory).mkdir(parents=True, exist_ok=True)
        save_file({"lora_A": np.zeros((2, 2), np.float32)}, str(Path(directory) / "adapter_model.safetensors"))
        (Path(directory) / "adapter_config.json").write_text('{"r": 2}')


class LoadedModel:  # records what load_active_into puts into the model
    def __init__(self):
        self.loaded, self.scope = "unset", None

    def load_adapter(self, directory):
        self.loaded = directory


def test_punctuation_twins_get_separate_adapters_and_scopes(tmp_path):
    mine, twin = "team.a", "team-a"
    assert LMCheckpoints(tmp_path, namespace=mine).root != LMCheckpoints(tmp_path, namespace=twin).root
    state = LMState(slots={Slot(mine, "Acme", "ceo"): {"value": "Dana", "fact_id": 1, "ok": True}})
    ckpt = LMCheckpoints(tmp_path, namespace=mine).save(Adapter(), {"promoted": True}, activate=True,
                                                        extra=state_writer(state))

    own, other = LoadedModel(), LoadedModel()
    assert LMCheckpoints(tmp_path, namespace=mine).load_active_into(own) == ckpt
    assert own.loaded is not None and own.scope.covers("Who is the CEO of Acme?")
    assert LMCheckpoints(tmp_path, namespace=twin).load_active_into(other) is None
    assert other.loaded is None and not other.scope.covers("Who is the CEO of Acme?")
