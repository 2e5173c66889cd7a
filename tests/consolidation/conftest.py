"""Fixtures for consolidation tests: a small real SQLite store and a handful of skill usages."""
import sys
from pathlib import Path

import pytest

# Under bare `pytest`, tests/ is on sys.path and tests/skills shadows the `skills` package as a
# namespace package; put the repository root first (what `python -m pytest` does).
_ROOT = str(Path(__file__).resolve().parents[2])
if sys.path[:1] != [_ROOT]:
    sys.path.insert(0, _ROOT)
if "skills" in sys.modules and getattr(sys.modules["skills"], "__file__", None) is None:
    del sys.modules["skills"]

COMPANIES = ["acme", "globex", "initech", "umbrella", "hooli", "vandelay"]
PEOPLE = ["alice", "bob", "carol", "dave", "erin", "frank"]
CITIES = ["paris", "berlin", "tokyo", "lima"]


@pytest.fixture(autouse=True)
def _one_torch_thread():
    # Tiny models on a shared 2-core machine: a second intra-op thread only adds contention.
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def small_store(tmp_path, home, embedder):
    from memory_store import MemoryStore
    from memory_store.facts import validate_fact_input

    store = MemoryStore.open(f"sqlite:///{tmp_path / 'memory.db'}", home=home, embedder=embedder)
    items = []
    for i, company in enumerate(COMPANIES):
        items.append(validate_fact_input(company, "ceo", PEOPLE[i]))
        items.append(validate_fact_input(company, "hq city", CITIES[i % len(CITIES)]))
    store.add_facts(items)  # one transaction, one embedding batch
    yield store
    store.close()


@pytest.fixture
def usage_sets():
    return {"weather": weather_usages(), "currency": currency_usages()}


def weather_usages(cities=("paris", "rome", "oslo", "lima", "kyiv", "cairo", "delhi", "quito")):
    return [{"task": f"what is the weather in {c} today", "skill": "get_weather", "args": {"city": c}}
            for c in cities]


def currency_usages(amounts=(5, 10, 20, 50, 75, 100, 250, 999)):
    return [{"task": f"convert {n} dollars to euros", "skill": "convert_currency", "args": {"amount": n, "to": "EUR"}}
            for n in amounts]
