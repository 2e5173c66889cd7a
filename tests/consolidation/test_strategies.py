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
    from agentcl.bench.cl import run_cl_bench

    result = run_cl_bench(seed=0, device="cpu", strategies=("naive", "replay"))
    naive, replay = result["summary"]["naive"], result["summary"]["replay"]
    assert naive < 0.3, result["results"]["naive"]["matrix"]
    assert replay > 0.85, result["results"]["replay"]["matrix"]
    assert result["results"]["naive"]["metrics"]["forgetting"] > 0.8
    assert result["results"]["replay"]["metrics"]["forgetting"] < 0.15
