"""The agent carries the fact it perceived into revise: a fact task reads its slot's current value from
memory once, and again only after the task itself wrote to that slot (a lookup's answer). Reads of the
slot's history (status="all": did its values expire before, is a guess a known stale value) answer other
questions and are not counted."""
import collections
from pathlib import Path

import pytest

from agentcl.agent import Agent, AgentConfig, AgentPlugin
from agentcl.agent.embedcache import caching
from agentcl.envs.drift import DriftWorld
from agentcl.policies.local import LocalPolicy
from memory_store import MemoryStore

SCENARIO = str(Path(__file__).resolve().parents[2] / "examples" / "my_scenario.json")


class SlotReads(AgentPlugin):
    """Counts reads of the asked slot's current value (store.facts naming its subject and predicate, active
    facts only) within each fact task."""

    def __init__(self, store: MemoryStore):
        self.reads: collections.Counter = collections.Counter()
        self.lookups: collections.Counter = collections.Counter()
        self.slot = self.task = None
        read = store.facts

        def counting(*args, **kwargs):
            if (self.slot is not None and (kwargs.get("subject"), kwargs.get("predicate")) == self.slot
                    and kwargs.get("status") in (None, "active")):
                self.reads[self.task] += 1
            return read(*args, **kwargs)

        store.facts = counting

    def before_perceive(self, agent, info):
        obs = info["observation"]
        self.task = obs.step
        self.slot = (obs.query.subject, obs.query.predicate) if obs.kind == "fact" and obs.query else None
        if self.slot is not None:
            self.reads[self.task] += 0

    def after_act(self, agent, info):
        call = info["action"].tool_call
        if self.slot is not None and call is not None and call.name == agent.lookup:
            self.lookups[self.task] += 1

    def before_explore(self, agent, info):
        self.slot = None  # the task is over; exploration reads for itself


@pytest.mark.parametrize("memory", ["full", "append"])
def test_a_fact_task_reads_its_slot_once_unless_it_wrote_to_it(tmp_path, embedder, home, memory):
    store = MemoryStore.open(f"sqlite:///{tmp_path / 'm.db'}", home=home, embedder=caching(embedder))
    counter = SlotReads(store)
    agent = Agent(store, LocalPolicy(), config=AgentConfig(namespace="reads", memory=memory), plugins=[counter])
    agent.run_episode(DriftWorld(SCENARIO), seed=1)
    store.close()
    assert len(counter.reads) >= 10  # the scenario asks enough questions for this to mean something
    for task, reads in counter.reads.items():
        if counter.lookups[task]:  # the lookup's answer was written to the slot: one more read, no more
            assert 1 <= reads <= 2, (task, reads)
        else:
            assert reads == 1, (task, reads)
    assert any(counter.lookups.values())  # and some tasks looked up, so the re-read after a write was exercised
