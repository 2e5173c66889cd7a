"""ReplayBuffer: reservoir and class-balanced policies, removal by slot, persistence."""
import random

import numpy as np
import pytest

from agentcl.consolidation.replay import ReplayBuffer, ReplayItem, class_label, replay_class


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


def test_capacity_zero_keeps_nothing_but_counts_and_negative_is_refused():
    with pytest.raises(ValueError, match="capacity must be >= 0"):
        ReplayBuffer(capacity=-1)
    buf = ReplayBuffer(capacity=0)
    assert _offer(buf, [0, 1, 1]) == 0 and len(buf) == 0
    assert buf.seen == 3 and buf.class_seen == {0: 1, 1: 2}
    empty = ReplayBuffer(capacity=5)
    assert empty.vectors.shape == (0, 0) and empty.arrays()[1] == [] and empty.class_counts() == {}


def test_add_reports_what_it_stored_and_takes_plain_lists():
    buf = ReplayBuffer(capacity=3)
    assert buf.add([[1, 2], [3, 4]], [ReplayItem("a"), ReplayItem("b")]) == 2
    assert buf.vectors.dtype == np.float32 and buf.vectors.tolist() == [[1.0, 2.0], [3.0, 4.0]]
    assert buf.add([[5, 6], [7, 8]], [ReplayItem("c"), ReplayItem("d")]) == 2  # one fills, one evicts
    assert len(buf) == 3 and buf.seen == 4


@pytest.mark.parametrize("policy", ["reservoir", "class_balanced"])
def test_evictions_keep_each_vector_with_its_item(policy):
    buf = ReplayBuffer(capacity=20, policy=policy, seed=2)
    labels = [i % 3 for i in range(300)]
    x = np.array([[lab, i] for i, lab in enumerate(labels)], dtype=np.float32)
    buf.add(x, [ReplayItem(lab, key=str(i)) for i, lab in enumerate(labels)])
    vectors, got = buf.arrays()
    assert len(buf) == 20 and got == [it.label for it in buf.items]
    assert [[float(it.label), float(it.key)] for it in buf.items] == vectors.tolist()
    assert max(int(it.key) for it in buf.items) >= 20  # later examples got in: the buffer is not frozen


def test_class_balanced_samples_within_the_largest_class():
    buf = ReplayBuffer(capacity=10, policy="class_balanced", seed=4)
    x = np.arange(1000, dtype=np.float32).reshape(1000, 1)
    buf.add(x, [ReplayItem(0, key=str(i)) for i in range(1000)])
    kept = sorted(int(it.key) for it in buf.items)
    assert len(kept) == 10 and kept[-1] >= 100, kept  # a sample of the whole stream, not the first ten
    assert buf.class_counts() == {0: 10} and buf.class_seen == {0: 1000}


def test_persistence_keeps_every_field_and_the_sampling_goes_on(tmp_path):
    buf = ReplayBuffer(capacity=6, policy="reservoir", seed=5)
    x = np.arange(16, dtype=np.float32).reshape(8, 2)
    buf.add(x, [ReplayItem(f"l{i % 2}", key=f"k{i}", kind="fact", text=f"t{i}") for i in range(8)])
    buf.save(tmp_path)
    back = ReplayBuffer.load(tmp_path)
    assert (back.capacity, back.policy, back.seed, back.seen) == (6, "reservoir", 5, 8)
    assert back.class_seen == {"l0": 4, "l1": 4} and back.class_counts() == buf.class_counts()
    assert [(it.label, it.key, it.kind, it.text) for it in back.items] == \
        [(it.label, it.key, it.kind, it.text) for it in buf.items]
    assert ReplayBuffer.load(tmp_path, policy="class_balanced").policy == "class_balanced"
    trimmed = ReplayBuffer.load(tmp_path, capacity=3)
    assert trimmed.capacity == 3 and len(trimmed) == 3
    # the random stream goes on from the seed advanced by what was seen, not from the start again
    expected = sorted(random.Random(5 + 8).sample(range(6), 3))
    assert [it.key for it in trimmed.items] == [buf.items[i].key for i in expected]
    assert {it.key for it in trimmed.items} <= {it.key for it in buf.items}
    for it, row in zip(trimmed.items, trimmed.vectors.tolist()):  # trimmed rows stay with their items
        assert row == x[int(it.key[1:])].tolist()
    nested = str(tmp_path / "a" / "b")  # a path given as text, folders created on save
    buf.save(nested)
    assert [it.key for it in ReplayBuffer.load(nested).items] == [it.key for it in buf.items]
    assert sorted(p.name for p in (tmp_path / "a" / "b").iterdir()) == ["replay.json", "replay.safetensors"]
    fresh = ReplayBuffer.load(tmp_path / "none", seed=9)
    assert (fresh.capacity, fresh.policy, fresh.seed, len(fresh)) == (2000, "class_balanced", 9, 0)
    assert ReplayBuffer.load(tmp_path / "none", capacity=7, policy="reservoir").capacity == 7


def test_a_class_whose_last_example_is_evicted_is_gone_from_the_counts():
    buf = ReplayBuffer(capacity=1, policy="reservoir", seed=0)
    _offer(buf, list(range(50)))
    [(label, count)] = buf.class_counts().items()
    assert count == 1 and [it.label for it in buf.items] == [label]
    balanced = ReplayBuffer(capacity=2, policy="class_balanced")
    _offer(balanced, ["a", "a", "b", "c", "d"])
    assert sorted(balanced.class_counts().values()) == [1, 1] and len(balanced.class_counts()) == 2


def test_a_consolidation_example_class_is_read_back_typed_whatever_its_value_holds():
    """The class name is written by class_label and read by replay_class from the item's typed kind:
    a value with ':' in it survives, and an older item saved without a kind is still read."""
    for kind, value in [("fact", "zed"), ("fact", "10:30 a.m."), ("skill", "fx:convert"), ("fact", "")]:
        item = ReplayItem(class_label(kind, value), key="k", kind=kind)
        assert item.label == f"{kind}:{value}" and replay_class(item) == (kind, value)
    assert replay_class(ReplayItem("fact:10:30", key="k")) == ("fact", "10:30")  # saved without a kind
    assert replay_class(ReplayItem("skill:x", key="k", kind="fact")) == ("skill", "x")  # kind and name disagree
