"""Strategy plug-ins: names, EWC penalty, LwF distillation, growing heads; the digits CL gap."""
import copy

import pytest
import torch
from torch import nn

from agentcl.consolidation.strategies import EWC, Composite, LwF, make_strategy
from agentcl.model.net import AdapterNet
from memory_store.errors import InvalidInputError


def test_make_strategy_names():
    assert make_strategy("naive").name == "naive" and not make_strategy("naive").replay
    assert make_strategy("replay").replay
    combo = make_strategy("replay+lwf")
    assert isinstance(combo, Composite) and combo.replay and combo.name == "replay+lwf"
    with pytest.raises(InvalidInputError):
        make_strategy("sgd")


def test_ewc_penalty_is_zero_at_the_anchor_and_grows_away_from_it():
    torch.manual_seed(0)
    net = AdapterNet(8, hidden=4)
    net.add_classes(torch.randn(3, 8))
    x, y = torch.randn(20, 8), torch.randint(0, 3, (20,))
    ewc = EWC(lam=10.0)
    assert ewc.penalty(net, x, net(x)) is None
    ewc.after_round(net, x, y)
    assert float(ewc.penalty(net, x, net(x)).detach()) == pytest.approx(0.0, abs=1e-9)
    net.add_classes(torch.randn(2, 8))  # the head grows: only the old rows are anchored
    with torch.no_grad():
        net.prototypes[:3] += 0.5
    assert float(ewc.penalty(net, x, net(x)).detach()) > 0
    back = EWC()
    back.load_state_tensors(ewc.state_tensors())
    assert set(back.fisher) == set(ewc.fisher)


def test_lwf_distils_only_old_classes():
    torch.manual_seed(0)
    old = nn.Linear(4, 6)
    lwf = LwF(temperature=2.0)
    lwf.before_round(old, previous=copy.deepcopy(old), old_classes=4)
    x = torch.randn(10, 4)
    assert float(lwf.penalty(old, x, old(x)).detach()) == pytest.approx(0.0, abs=1e-6)
    other = nn.Linear(4, 6)
    assert float(lwf.penalty(other, x, other(x)).detach()) > 0
    none = LwF()
    none.before_round(old, previous=None)
    assert none.penalty(old, x, old(x)) is None


def test_digits_gap_naive_forgets_replay_remembers():
    from agentcl_bench.cl import run_cl_bench

    result = run_cl_bench(seed=0, device="cpu", strategies=("naive", "replay"), drift=False)
    naive, replay = result["results"]["naive"], result["results"]["replay"]
    assert naive["metrics"]["acc"] < 0.3, naive["matrix"]
    assert replay["metrics"]["acc"] > 0.85, replay["matrix"]
    assert naive["metrics"]["forgetting"] > 0.8 and replay["metrics"]["forgetting"] < 0.15
    assert len(naive["matrix"]) == 5 and all(len(row) == 5 for row in naive["matrix"])
    rows = {r["metric"]: r for r in result["summary"]}
    assert rows["digits ACC, naive"]["ok"] and rows["digits ACC, replay (200-example buffer)"]["ok"]
    assert result["benchmark"] == "cl" and result["seeds"] == [0] and result["machine"]["cpu_cores"]


def test_summary_rows_from_results():
    from agentcl_bench.cl import drift_summary

    seed_run = {"stale_before_by_round": [0, 3], "stale_answers_by_round": [0, 0], "tool_forgetting_points": 1.5}
    rows = drift_summary({"runs": {"full": [seed_run], "replay": [seed_run],
                                   "naive": [{**seed_run, "tool_forgetting_points": 30.0}]}})
    assert [r["value"] for r in rows] == [3, 0, 1.5, 30.0, 1.5]
    assert [r["ok"] for r in rows] == [None, True, True, True, None]
    worse = drift_summary({"runs": {"replay": [{**seed_run, "tool_forgetting_points": 2.5}],
                                    "naive": [{**seed_run, "tool_forgetting_points": 0.0}]}})
    assert [r["ok"] for r in worse] == [False, False]  # replay forgot too much; naive showed no forgetting
