"""The cost-aware decision to verify a remembered value before answering from it.

Verify (look the value up) when  P(stale) * stale_cost > lookup_cost,  where P(stale) is the probability
the value changed since it was last validated, learned from the namespace's own history of changes
(`memory_store.volatility`), `lookup_cost` is what the world charges (`Feedback.cost` of the lookups seen,
or a fixed `--lookup-cost`), and `stale_cost` is what a wrong answer costs in the same units. Verifying is
capped by a budget of `verify_budget` lookups per task step (cumulative), so a world that changes faster
than the agent can afford to check does not turn it into a no-memory agent.

Modes: `cost` (the rule above), `always` (verify every remembered value: the always-verify baseline) and
`trust` (never verify a trusted value: the agent before this rule)."""
from __future__ import annotations

from dataclasses import dataclass

from memory_store.change_history import fact_volatility, value_spans
from memory_store.volatility import should_verify

VERIFY_MODES = ("cost", "always", "trust")


@dataclass
class Decision:
    verify: bool
    p_changed: float | None
    reason: str

    def to_hint(self) -> dict:
        return {"verify": self.verify, "p_changed": None if self.p_changed is None else round(self.p_changed, 4),
                "reason": self.reason}


class VerifyGate:
    def __init__(self, *, mode: str = "cost", stale_cost: float = 10.0, lookup_cost: float | None = None,
                 budget: float = 0.35, exclude_subjects: tuple[str, ...] = ()) -> None:
        self.mode, self.stale_cost, self.budget = mode, stale_cost, budget
        self.exclude_subjects = exclude_subjects  # subjects that are not the world's facts (the agent's tool notes)
        self.fixed_cost = lookup_cost  # --lookup-cost; None: learn it from the world's Feedback.cost
        self.seen_costs: list[float] = []
        self.spent = 0

    @property
    def lookup_cost(self) -> float:
        if self.fixed_cost is not None:
            return self.fixed_cost
        return sum(self.seen_costs) / len(self.seen_costs) if self.seen_costs else 1.0

    def observe_cost(self, cost: float | None) -> None:
        if cost is not None and cost >= 0 and len(self.seen_costs) < 1000:
            self.seen_costs.append(float(cost))

    def affordable(self, step: int) -> bool:
        return self.spent < self.budget * (step + 1)

    def decide(self, store, namespace: str, fact, *, step: int) -> Decision:
        """Whether to look `fact` up before answering from it (a trusted, remembered value)."""
        if self.mode == "trust":
            return Decision(False, None, "trusted")
        if self.mode == "always":
            return Decision(True, None, "always verify")
        now = store.now()
        # the whole namespace's history (its world facts): the slot's, its predicate's and the namespace's rate
        spans = value_spans(store.reads, namespace, now=now, exclude_subject_prefixes=self.exclude_subjects)
        p = fact_volatility(fact, spans, now).p_changed
        if not should_verify(p, stale_cost=self.stale_cost, lookup_cost=self.lookup_cost):
            return Decision(False, p, "expected cost of a stale answer below a lookup's")
        if not self.affordable(step):
            return Decision(False, p, "verify budget spent")
        return Decision(True, p, "expected cost of a stale answer above a lookup's")

    def record_lookup(self) -> None:
        self.spent += 1
