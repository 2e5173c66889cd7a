"""Fixtures shared by the memory store's CLI tests."""
from __future__ import annotations

import pytest

from tests.reliability.helpers import run_cli


@pytest.fixture
def cli(db_url, home, embedder):
    """`cli("memory", "facts", ...)`: the real CLI in this process against this test's database and home."""
    def call(*args: str):
        return run_cli(list(args), db=db_url, home=home)

    return call
