"""Pure rules: CL metrics from an accuracy matrix, and the promotion gate."""
import pytest

from agentcl.consolidation.gate import GateDecision, gate_decision
from agentcl.consolidation.metrics import (
    accuracy,
    average_accuracy,
    backward_transfer,
    forgetting_first_last,
    forgetting_max_last,
    forward_transfer,
    last_accuracy,
    summarize,
)

# rows: after round i; columns: task j. Row 0 also holds the pre-training accuracy on task 1 (FWT).
M = [
    [0.9, 0.1],
    [0.6, 0.8, 0.2],
    [0.7, 0.5, 1.0],
]


def test_metrics_by_hand():
    assert average_accuracy(M) == pytest.approx((0.7 + 0.5 + 1.0) / 3)
    assert last_accuracy(M) == pytest.approx(1.0)
    assert backward_transfer(M) == pytest.approx(((0.7 - 0.9) + (0.5 - 0.8)) / 2)
    assert forgetting_first_last(M) == pytest.approx(0.25)
    # max-minus-last: task 0 best 0.9 -> 0.7; task 1 best 0.8 -> 0.5
    assert forgetting_max_last(M) == pytest.approx((0.2 + 0.3) / 2)
    assert forward_transfer(M) == pytest.approx((0.1 + 0.2) / 2)
    assert forward_transfer(M, baseline=[0.0, 0.1, 0.2]) == pytest.approx(0.0)


def test_max_minus_last_differs_when_a_task_recovers_then_drops():
    m = [[0.5], [0.9, 0.9], [0.4, 0.9, 0.9]]
    assert forgetting_first_last(m) == pytest.approx((0.1 + 0.0) / 2)
    assert forgetting_max_last(m) == pytest.approx((0.5 + 0.0) / 2)


def test_degenerate_inputs():
    assert summarize([])["acc"] is None
    one = summarize([[0.75]])
    assert one["acc"] == 0.75 and one["bwt"] is None and one["forgetting"] is None and one["fwt"] is None
    assert summarize([[1.0, None], [None, 1.0]])["bwt"] is None  # nothing measured: no number, not 0
    assert accuracy([], []) is None
    assert accuracy(["a", "b"], ["a", "c"]) == 0.5


def test_gate_promotes_only_when_new_learned_and_old_kept():
    ok = gate_decision(new_examples=10, new_accuracy=0.95, old_accuracy_before=0.9, old_accuracy_after=0.89)
    assert ok.promote
    assert not gate_decision(new_examples=0, new_accuracy=None, old_accuracy_before=None,
                             old_accuracy_after=None).promote
    low = gate_decision(new_examples=10, new_accuracy=0.5, old_accuracy_before=None, old_accuracy_after=None)
    assert not low.promote and "not learned" in low.reason
    drop = gate_decision(new_examples=10, new_accuracy=1.0, old_accuracy_before=0.9, old_accuracy_after=0.8)
    assert not drop.promote and "dropped" in drop.reason
    stale = gate_decision(new_examples=3, new_accuracy=1.0, old_accuracy_before=None, old_accuracy_after=None,
                          stale_remaining=2)
    assert not stale.promote and "stale" in stale.reason
    first = gate_decision(new_examples=3, new_accuracy=0.8, old_accuracy_before=None, old_accuracy_after=None)
    assert first.promote  # no earlier model: nothing to lose


def test_rows_shorter_than_the_task_count_read_as_not_measured():
    m = [[0.9], [0.6, 0.8], [0.7]]  # round 2 measured only task 0
    assert summarize(m) == {"acc": pytest.approx(0.7), "last_acc": None, "bwt": pytest.approx(-0.2), "fwt": None,
                            "forgetting": pytest.approx(0.2), "forgetting_first_last": pytest.approx(0.2),
                            "forgetting_max_last": pytest.approx(0.2)}
    assert summarize([[0.5], [None, 0.5]])["bwt"] is None


def test_forward_transfer_baseline_shorter_or_missing():
    assert forward_transfer(M, baseline=[0.0, 0.1]) == pytest.approx((0.0 + 0.2) / 2)  # beyond it: 0
    assert forward_transfer(M, baseline=[0.0, None, 0.2]) == pytest.approx(0.0)  # None: that task is skipped
    assert forward_transfer([[0.3]]) is None


def test_summary_uses_max_minus_last_as_forgetting():
    m = [[0.5, 0.2], [0.9, 0.9, 0.3], [0.4, 0.9, 0.9]]
    out = summarize(m, baseline=[0.0, 0.1, 0.1])
    assert out["forgetting"] == out["forgetting_max_last"] == pytest.approx(0.25)
    assert out["forgetting_first_last"] == pytest.approx(0.05) and out["fwt"] == pytest.approx((0.1 + 0.2) / 2)
    assert accuracy(["a", "b", "c"], ["a", "b", "c"]) == 1.0 and accuracy(["x"], ["y"]) == 0.0


KEPT = dict(new_examples=5, new_accuracy=0.9, old_accuracy_before=0.9, old_accuracy_after=0.9)


def test_gate_forgetting_left_after_correction_blocks_promotion():
    assert gate_decision(**KEPT).promote
    assert gate_decision(**KEPT, forgotten_remaining=1) == \
        GateDecision(False, "1 skill(s) still forgotten after the corrective round")
    assert gate_decision(**KEPT, stale_remaining=1) == \
        GateDecision(False, "1 stale slot(s) still answered with superseded values")
    assert gate_decision(**KEPT, forgotten_remaining=0, stale_remaining=0) == \
        GateDecision(True, "learned the new material; old probes within tolerance")


def test_gate_drop_exactly_at_the_tolerance_promotes_and_just_above_blocks():
    # binary-exact values: 0.75 - 0.5 == 0.25 with no rounding error
    at = gate_decision(new_examples=5, new_accuracy=1.0, old_accuracy_before=0.75, old_accuracy_after=0.5,
                       tolerance=0.25)
    assert at.promote, at.reason
    above = gate_decision(new_examples=5, new_accuracy=1.0, old_accuracy_before=0.75, old_accuracy_after=0.4375,
                          tolerance=0.25)
    assert above == GateDecision(False, "old probes dropped 0.312 (0.750 -> 0.438) > tolerance 0.250")
    # an old-probe accuracy on one side only: nothing to compare, no drop
    assert gate_decision(new_examples=5, new_accuracy=1.0, old_accuracy_before=0.9, old_accuracy_after=None).promote
    assert gate_decision(new_examples=5, new_accuracy=1.0, old_accuracy_before=None, old_accuracy_after=0.1).promote


def test_gate_learning_and_new_material_thresholds():
    nothing = gate_decision(new_examples=0, new_accuracy=1.0, old_accuracy_before=None, old_accuracy_after=None)
    assert not nothing.promote and nothing.reason.startswith("nothing new to learn")
    assert gate_decision(new_examples=1, new_accuracy=1.0, old_accuracy_before=None, old_accuracy_after=None).promote
    assert gate_decision(new_examples=1, new_accuracy=None, old_accuracy_before=None, old_accuracy_after=None) == \
        GateDecision(False, "new material not learned: probe accuracy n/a < 0.80")
    assert gate_decision(new_examples=1, new_accuracy=0.5, old_accuracy_before=None, old_accuracy_after=None,
                         learn_threshold=0.75) == \
        GateDecision(False, "new material not learned: probe accuracy 0.500 < 0.75")
    assert gate_decision(new_examples=1, new_accuracy=0.75, old_accuracy_before=None, old_accuracy_after=None,
                         learn_threshold=0.75).promote


def test_budgets_for_a_large_backlog():
    from agentcl.consolidation.examples import phrasings_within
    from agentcl.consolidation.trainer import round_budget

    assert phrasings_within(3, 100, 30_000) == 3  # a normal round: as configured
    assert phrasings_within(3, 15_000, 30_000) == 2 and phrasings_within(3, 100_000, 30_000) == 1  # never 0
    assert phrasings_within(0, 100_000, 30_000) == 0
    assert round_budget(2_000, epochs=8, batch_size=64, replay=True, max_rows=1_000_000) == (8, 64)
    # 200k examples: batches grow to ~1000 steps an epoch, epochs shrink to the row budget, at least one
    assert round_budget(200_000, epochs=8, batch_size=64, replay=False, max_rows=1_000_000) == (5, 200)
    assert round_budget(200_000, epochs=8, batch_size=64, replay=True, max_rows=1_000_000) == (2, 200)
    assert round_budget(5_000_000, epochs=8, batch_size=64, replay=True, max_rows=1_000_000) == (1, 1024)
    assert round_budget(200_000, epochs=8, batch_size=64, replay=True, max_rows=0) == (8, 200)
