"""What the agent knows of its run outside memory, shared by its services (tool choice, revision,
exploration): the world's clock and the position in the run, the name of the world's lookup tool, the
exploration budget spent, the bandit arms, when each operation was last used and with what inputs, the
usages consolidation learns from, the counters reported at the end, and the tool failure explore may
follow up. Plain data; the agent exposes each field under the same name (`agent.counters`, ...)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from agentcl.agent import bandit

LOOKUP = "lookup"  # default name of a world's truth-telling tool (DriftWorld lets scenarios rename it)
COUNTERS = ("explore_lookups", "practice_calls", "alternative_calls", "renames_learned", "replacements_learned",
            "model_priors_used", "consolidations", "verify_lookups",
            "cycle_answers", "cycle_misses")


@dataclass
class RunState:
    lookup: str = LOOKUP
    world_time: datetime | None = None
    episode: int = 0
    step_index: int = 0
    explore_spent: int = 0
    arms: dict[str, dict[str, bandit.Arm]] = field(default_factory=dict)  # operation -> tool -> arm
    last_used: dict[str, int] = field(default_factory=dict)  # operation -> step of its last successful call
    last_inputs: dict[str, dict] = field(default_factory=dict)  # operation -> inputs of its last task (practice)
    usages: list[dict] = field(default_factory=list)  # successful skill usages (consolidation examples)
    # (subject, predicate) as memory keys them -> the question texts the world asked about that slot (a few,
    # newest last): consolidation trains a fact on the questions the agent really meets, not only templates
    questions: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    # the latest distinct tasks, whatever their outcome: (text, None) for a fact question, (text, tool) for a
    # tool task with the tool the policy called (consolidation keeps its answers to what it does not train)
    asked: list[tuple[str, str | None]] = field(default_factory=list)
    counters: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNTERS, 0))
    failed_tool: tuple[str, str, dict] | None = None  # (operation, tool, inputs) of an unexplained failure
