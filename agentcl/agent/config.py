"""Options of an agent run (keyword-only, validated)."""
from __future__ import annotations

from dataclasses import dataclass, field

from agentcl.agent.knowledge import MEMORY_MODES
from memory_store.errors import InvalidInputError


@dataclass(kw_only=True)
class AgentConfig:
    namespace: str = "agent"
    memory: str = "full"  # full | append | none (ablations of the same code)
    explore_budget: float = 0.1  # exploration actions allowed per task step, on average
    practice_after: int = 30  # steps without use after which a tool is practised
    reverify_every: int = 5  # steps between checks for facts at risk
    retrieve_k: int = 3
    consolidate_every: int = 0  # steps; 0 = never
    consolidation_replay: bool = True
    use_model_prior: bool = True
    prior_confidence: float = 0.9
    prior_checks: int = 3  # the model's last N guesses for a slot/operation must all have been right to trust it
    device: str = "auto"
    log_events: bool = True
    # LMConfig options of the consolidation rounds when the policy is the local LM (e.g. a bench's short rounds)
    lm_consolidation: dict = field(default_factory=dict)
    env_name: str = "env"  # prefix of the world's tools in the skill registry
    verify: str = "cost"  # cost | always | trust: when to look a remembered value up (agentcl/agent/verify.py)
    stale_cost: float = 10.0  # what a stale answer costs, in the lookup's units
    lookup_cost: float | None = None  # None: learned from the world's Feedback.cost
    verify_budget: float = 0.35  # verify lookups allowed per task step, on average

    def __post_init__(self) -> None:
        if self.memory not in MEMORY_MODES:
            raise InvalidInputError(f"unknown memory mode {self.memory!r}; use {', '.join(MEMORY_MODES)}")
        if not 0 <= self.explore_budget <= 1:
            raise InvalidInputError("explore budget must be in [0, 1]")
        if self.prior_checks < 1:
            raise InvalidInputError("prior_checks must be at least 1")
        from agentcl.agent.verify import VERIFY_MODES

        if self.verify not in VERIFY_MODES:
            raise InvalidInputError(f"unknown verify mode {self.verify!r}; use {', '.join(VERIFY_MODES)}")
        if self.stale_cost < 0 or (self.lookup_cost is not None and self.lookup_cost < 0):
            raise InvalidInputError("--stale-cost and --lookup-cost must be >= 0")
        if not 0 <= self.verify_budget <= 1:
            raise InvalidInputError("verify budget must be in [0, 1]")
        if self.consolidate_every < 0:
            raise InvalidInputError("--consolidate-every must be 0 (never) or a positive number of steps")
