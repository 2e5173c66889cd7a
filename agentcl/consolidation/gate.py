"""The promotion gate: a pure decision over probe results (no model, no I/O)."""
from __future__ import annotations

from dataclasses import dataclass

NOTHING_NEW = "nothing new to learn: no validated memories since the last consolidation"


@dataclass(frozen=True)
class GateDecision:
    promote: bool
    reason: str


def gate_decision(
    *,
    new_examples: int,
    new_accuracy: float | None,
    old_accuracy_before: float | None,
    old_accuracy_after: float | None,
    stale_remaining: int = 0,
    forgotten_remaining: int = 0,
    learn_threshold: float = 0.8,
    tolerance: float = 0.02,
) -> GateDecision:
    """Promote a candidate only if it learned the new material and did not lose the old.

    `old_accuracy_before` is the active model's accuracy on earlier probe sets, `old_accuracy_after`
    the candidate's on the same sets (None when there is no earlier model or no earlier probe)."""
    if new_examples <= 0:
        return GateDecision(False, NOTHING_NEW)
    if new_accuracy is None or new_accuracy < learn_threshold:
        shown = "n/a" if new_accuracy is None else f"{new_accuracy:.3f}"
        return GateDecision(False, f"new material not learned: probe accuracy {shown} < {learn_threshold:.2f}")
    if old_accuracy_before is not None and old_accuracy_after is not None:
        drop = old_accuracy_before - old_accuracy_after
        if drop > tolerance:
            return GateDecision(
                False,
                f"old probes dropped {drop:.3f} ({old_accuracy_before:.3f} -> {old_accuracy_after:.3f}) "
                f"> tolerance {tolerance:.3f}",
            )
    if stale_remaining > 0:
        return GateDecision(False, f"{stale_remaining} stale slot(s) still answered with superseded values")
    if forgotten_remaining > 0:
        return GateDecision(False, f"{forgotten_remaining} skill(s) still forgotten after the corrective round")
    return GateDecision(True, "learned the new material; old probes within tolerance")
