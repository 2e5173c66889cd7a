"""What the agent perceived for a task: the observation, the context given to the policy, and what it
relied on (the remembered fact, the tool ranked first, the arguments sent, the local model's guess).
Its own module so the stages that read it (agent.py, revision.py) need not import each other."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from agentcl.envs.base import Observation
from agentcl.policies.base import PolicyContext


@dataclass
class Percept:
    observation: Observation
    context: PolicyContext
    belief: Any = None  # the Fact memory holds for `belief_slot` (None: nothing), read once at perceive
    # The (subject, predicate) `belief` is current for; None once the task wrote to memory, so revise reads
    # the slot again only then (a lookup's answer, a correction), not on every attempt.
    belief_slot: tuple[str, str] | None = None
    tool: str | None = None
    sent_args: dict = field(default_factory=dict)
    model_guess: str | None = None  # what the local model said (fact value or tool), checked once the task ends
    cycle: Any = None  # the cycle Prediction (memory_store.cycles) a fact answer relied on, settled once graded
