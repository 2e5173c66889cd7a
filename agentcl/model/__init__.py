"""The local model: frozen sentence encoder + residual adapter + growing prototype heads over fact
values and skills. `load_promoted(home)` gives the model the consolidation gate last promoted."""
from .checkpoints import CheckpointInfo, CheckpointStore, checkpoint_root, load_promoted
from .local import FACT, SKILL, LocalModel
from .net import AdapterNet

__all__ = [
           "FACT",
           "SKILL",
           "AdapterNet",
           "CheckpointInfo",
           "CheckpointStore",
           "LocalModel",
           "checkpoint_root",
           "load_promoted",
]
