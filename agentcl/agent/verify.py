"""The cost-aware decision to verify a remembered value before answering from it.

Verify (look the value up) when  P(stale) * stale_cost > lookup_cost,  where P(stale) is the probability
the value changed since it was last validated, learned from the namespace's own history of changes
(`memory_store.volatility`), `lookup_cost` is what the world charges (`Feedback.cost` of the lookups seen,
or a fixed `--lookup-cost`), and `stale_cost` is what a wrong answer costs in the same units. Verifying is
capped by a budget of `verify_budget` lookups per task step (cumulative), so a world that changes faster
than the agent can afford to check does not turn it into a no-memory agent.

A slot whose remembered value has ended (a rotation) is looked up again, unless its history shows a cycle
(`memory_store.cycles`): then the current value is predicted from the cycle and the elapsed time, and the
same rule decides with P(stale) = 1 - P(the prediction is right), so a confident prediction answers without a
lookup and an uncertain one is looked up. A prediction that turned out wrong is recorded against the slot's
cycle (`record_prediction`); one that turned out right is learnt with its end and so joins the history.

Modes: `cost` (the rule above), `always` (verify every remembered value: the always-verify baseline) and
`trust` (never verify a trusted value: the agent before this rule)."""
from __future__ import annotations

from dataclasses import dataclass

from memory_store.change_history import fact_volatility, value_spans
from memory_store.cycles import Prediction, predict, prior_odds
from memory_store.normalize import normalize_name
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
        # per namespace (tenants never inform each other): slot -> wrong predictions from its cycle, and
        # namespace -> [right, wrong] over all its cycle predictions (the prior for the next one)
        self.cycle_misses: dict[tuple[str, str, str], int] = {}
        self.cycle_record: dict[str, list[int]] = {}

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

    def predict_cycle(self, store, namespace: str, subject: str, predicate: str) -> tuple[Prediction | None, Decision]:
        """For a slot with no current value: the value its cycle predicts now (None without a cycle) and
        whether to look it up anyway (always, outside the `cost` mode)."""
        if self.mode != "cost":
            return None, Decision(True, None, f"{self.mode}: no prediction")
        history = store.facts(namespace=namespace, subject=subject, predicate=predicate, status="all")
        observed = [(f.expires_at, f.object) for f in history if f.expires_at is not None and f.status != "retracted"]
        prediction = predict(observed, store.now(), misses=self.cycle_misses.get(_slot(namespace, subject, predicate), 0),
                             odds=prior_odds(*self.cycle_record.get(namespace, (0, 0))))
        if prediction is None:
            return None, Decision(True, None, "no cycle")
        p = 1.0 - prediction.p_right
        if should_verify(p, stale_cost=self.stale_cost, lookup_cost=self.lookup_cost):
            return prediction, Decision(True, p, "cycle prediction: expected cost of a wrong one above a lookup's")
        return prediction, Decision(False, p, "cycle prediction: expected cost of a wrong one below a lookup's")

    def record_prediction(self, namespace: str, subject: str, predicate: str, correct: bool) -> None:
        self.cycle_record.setdefault(namespace, [0, 0])[0 if correct else 1] += 1
        if not correct:
            key = _slot(namespace, subject, predicate)
            self.cycle_misses[key] = self.cycle_misses.get(key, 0) + 1


def _slot(namespace: str, subject: str, predicate: str) -> tuple[str, str, str]:
    return namespace, normalize_name(subject), normalize_name(predicate)
