"""ReplayBuffer: reservoir and class-balanced policies, removal by slot, persistence."""
import numpy as np
import pytest

from agentcl.consolidation.replay import ReplayBuffer, ReplayItem


def _offer(buf, labels, dim=4, key_prefix="k"):
    x = np.random.default_rng(0).normal(size=(len(labels), dim)).astype(np.float32)
    return buf.add(x, [ReplayItem(lab, key=f"{key_prefix}{lab}") for lab in labels])


def test_reservoir_keeps_capacity_and_a_uniform_sample():
    buf = ReplayBuffer(capacity=100, policy="reservoir", seed=1)
    _offer(buf, [i // 100 for i in range(1000)])  # 10 classes seen in sequence
    assert len(buf) == 100 and buf.seen == 1000
    counts = buf.class_counts()
    assert len(counts) >= 8 and max(counts.values()) < 30  # not just the last classes


def test_class_balanced_gives_every_class_its_share():
    buf = ReplayBuffer(capacity=200, policy="class_balanced")
    for task in range(5):
        _offer(buf, [2 * task + (i % 2) for i in range(300)])
    assert sorted(buf.class_counts().values()) == [20] * 10


def test_class_balanced_keeps_a_rare_class():
    buf = ReplayBuffer(capacity=50, policy="class_balanced")
    _offer(buf, [0] * 500 + [1] * 3)
    assert buf.class_counts()[1] == 3


def test_remove_where_drops_a_slot_and_keeps_vectors_aligned():
    buf = ReplayBuffer(capacity=10)
    x = np.arange(12, dtype=np.float32).reshape(6, 2)
    buf.add(x, [ReplayItem(f"v{i}", key="old" if i % 2 else f"s{i}") for i in range(6)])
    assert buf.remove_where("old") == 3
    assert [it.key for it in buf.items] == ["s0", "s2", "s4"]
    assert buf.vectors.tolist() == [[0, 1], [4, 5], [8, 9]]
    assert buf.remove_where(lambda it: it.label == "v0") == 1
    assert buf.remove_where("missing") == 0
    buf.add(np.ones((1, 2), np.float32), [ReplayItem("new", key="n")])  # still consistent after removal
    assert buf.class_counts() == {"v2": 1, "v4": 1, "new": 1}


def test_persistence_round_trip_and_trim(tmp_path):
    buf = ReplayBuffer(capacity=30, policy="class_balanced", seed=3)
    _offer(buf, [i % 3 for i in range(40)])
    buf.save(tmp_path)
    back = ReplayBuffer.load(tmp_path)
    assert back.capacity == 30 and back.seen == 40 and back.policy == "class_balanced"
    assert [it.label for it in back.items] == [it.label for it in buf.items]
    np.testing.assert_array_equal(back.vectors, buf.vectors)
    small = ReplayBuffer.load(tmp_path, capacity=10)
    assert len(small) == 10
    assert len(ReplayBuffer.load(tmp_path / "nothing-here")) == 0


def test_bad_policy():
    with pytest.raises(ValueError):
        ReplayBuffer(policy="fifo")
