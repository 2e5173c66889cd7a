"""Fixtures of the skill registry tests: a registry in a real SQLite file, with the real embedder."""
from __future__ import annotations

import pytest


@pytest.fixture
def registry(tmp_path, embedder):
    from skills import SkillRegistry

    reg = SkillRegistry.open(f"sqlite:///{tmp_path / 'skills.db'}", home=tmp_path / "home", embedder=embedder,
                             builtins=True, entry_points=False, workspace=tmp_path / "ws", timeout_s=2.0)
    yield reg
    reg.close()
