"""Pure parts of the agent: the UCB bandit, trust in the local model's prior, the embedding memo."""
import numpy as np
import pytest

from agentcl.agent import bandit
from agentcl.agent.embedcache import CachingEmbedder, caching
from agentcl.agent.prior import PriorTrust


def test_ucb_tries_every_candidate_first_best_prior_first():
    arms: dict[str, bandit.Arm] = {}
    assert bandit.ucb_choice(["a", "b", "c"], arms, prior={"b": 0.9, "a": 0.2}) == "b"
    bandit.update(arms, "b", 0.0)
    assert bandit.ucb_choice(["a", "b", "c"], arms, prior={"b": 0.9, "a": 0.2}) == "a"
    bandit.update(arms, "a", 1.0)
    bandit.update(arms, "c", 0.0)
    # all tried: the one that worked wins, and keeps winning while the others keep failing
    for _ in range(20):
        choice = bandit.ucb_choice(["a", "b", "c"], arms)
        bandit.update(arms, choice, 1.0 if choice == "a" else 0.0)
    assert arms["a"].pulls > arms["b"].pulls + arms["c"].pulls


def test_ucb_explores_again_when_the_usual_arm_starts_failing():
    arms = {"old": bandit.Arm(pulls=10, reward=10.0), "new": bandit.Arm(pulls=1, reward=0.0)}
    picks = []
    for _ in range(30):
        choice = bandit.ucb_choice(["old", "new"], arms)
        picks.append(choice)
        bandit.update(arms, choice, 1.0 if choice == "new" else 0.0)  # the tool changed: only "new" works now
    assert "new" in picks[:5] and picks.count("new") >= 25  # switches within a few tasks, still checks now and then
    with pytest.raises(ValueError):
        bandit.ucb_choice([], {})


def test_prior_is_trusted_only_after_a_clean_track_record():
    trust = PriorTrust(checks=3)
    key = ("fact", "Acme", "ceo")
    assert not trust.trusted(key)
    for _ in range(2):
        trust.record(key, "Alice Park", " alice  park ")
    assert not trust.trusted(key)  # two checks are not enough
    trust.record(key, "Alice Park", "Alice Park")
    assert trust.trusted(key)
    trust.record(key, "Alice Park", "Bruno Diaz")  # one miss and trust is gone until 3 clean checks again
    assert not trust.trusted(key)
    trust.record(key, None, "x")  # unknowns are ignored
    trust.record_outcome(key, True)
    trust.record_outcome(key, True)
    assert not trust.trusted(key)
    trust.record_outcome(key, True)
    assert trust.trusted(key) and not trust.trusted(("fact", "Acme", "cfo"))
    with pytest.raises(ValueError):
        PriorTrust(checks=0)


class _CountingEmbedder:
    name, dim = "count", 4

    def __init__(self):
        self.seen: list[str] = []

    def encode(self, texts, *, batch_size=64):
        self.seen.extend(texts)
        return np.asarray([[len(t), t.count("a"), 1.0, 0.0] for t in texts], dtype=np.float32)


def test_embedding_memo_encodes_each_text_once_and_returns_the_same_vectors():
    inner = _CountingEmbedder()
    memo = CachingEmbedder(inner, capacity=3)
    first = memo.encode(["aa", "b", "aa"])
    again = memo.encode(["b", "aa", "c"])
    assert inner.seen == ["aa", "b", "c"]
    np.testing.assert_array_equal(first[0], again[1])
    np.testing.assert_array_equal(again, inner.encode(["b", "aa", "c"]))
    assert memo.encode([]).shape == (0, 4)
    memo.encode(["d"])  # capacity 3: the least recently used ("b") goes
    inner.seen.clear()
    memo.encode(["b"])
    assert inner.seen == ["b"]
    assert caching(memo) is memo and memo.name == "count"


def test_embedding_memo_matches_the_real_model(embedder):
    memo = CachingEmbedder(embedder)
    texts = ["Who is the CEO of Acme?", "Convert 5 km to miles.", "Who is the CEO of Acme?"]
    np.testing.assert_allclose(memo.encode(texts), embedder.encode(texts), atol=1e-5)
    assert memo.misses == 2 and memo.hits == 1
