"""The one device check (memory_store.embedding): auto, cpu, cuda or cuda:N, cuda only with a GPU."""
from __future__ import annotations

import pytest

from memory_store.embedding import check_device, resolve_device
from memory_store.errors import InvalidInputError, UserError


def test_cpu_and_auto_pass_and_an_unknown_device_is_one_user_error():
    check_device("cpu")
    check_device("auto")
    assert resolve_device("cpu") == "cpu"
    with pytest.raises(UserError, match="unknown device 'tpu': use auto, cpu or cuda"):
        check_device("tpu")
    with pytest.raises(InvalidInputError):
        resolve_device("cudax")


def test_cuda_needs_a_visible_gpu(monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("auto") == "cpu"
    for device in ("cuda", "cuda:1"):
        with pytest.raises(InvalidInputError, match="no GPU is visible"):
            check_device(device)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert resolve_device("auto") == "cuda" and resolve_device("cuda:1") == "cuda:1"
