"""One way into the optimizer: every writer sets the same fields the same way, tensors in place,
and every caller reads the momentum field with the same rule."""

from __future__ import annotations

import types
from collections.abc import Callable
from typing import Any

import pytest
import torch
from torch import nn

import cyclr
from cyclr.torch import CyclicScheduler, online_schedule, range_test, sweep
from cyclr.torch._auto import AutoScheduler
from cyclr.torch._param_groups import Momentum, find_momentum, group_ratios, read, write

Make = Callable[[list[nn.Parameter]], torch.optim.Optimizer]


def _t(x: float) -> torch.Tensor:
    return torch.tensor(x, dtype=torch.float64)


#: name -> (optimizer factory, where its momentum is: "momentum", "betas" or None).
OPTIMIZERS: dict[str, tuple[Make, str | None]] = {
    "SGD": (lambda ps: torch.optim.SGD(ps, lr=0.1), None),
    "SGD momentum": (lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9), "momentum"),
    "RMSprop momentum 0": (lambda ps: torch.optim.RMSprop(ps, lr=0.01, momentum=0), None),
    "RMSprop momentum 0.9": (
        lambda ps: torch.optim.RMSprop(ps, lr=0.01, momentum=0.9),
        "momentum",
    ),
    "Adam": (lambda ps: torch.optim.Adam(ps, lr=1e-3), "betas"),
    "AdamW": (lambda ps: torch.optim.AdamW(ps, lr=1e-3), "betas"),
    "Adagrad": (lambda ps: torch.optim.Adagrad(ps, lr=0.01), None),
    "SGD tensor lr": (
        lambda ps: torch.optim.SGD(ps, lr=_t(0.1), momentum=0.9),
        "momentum",
    ),
    "SGD tensor momentum": (
        lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=_t(0.9)),
        "momentum",
    ),
    "Adam tensor lr and betas": (
        lambda ps: torch.optim.Adam(ps, lr=_t(1e-3), betas=(_t(0.9), _t(0.999))),
        "betas",
    ),
}


@pytest.fixture(params=list(OPTIMIZERS))
def case(request: pytest.FixtureRequest) -> tuple[nn.Module, torch.optim.Optimizer, str | None]:
    make, field = OPTIMIZERS[request.param]
    torch.manual_seed(0)
    model = nn.Linear(4, 2)
    return model, make(list(model.parameters())), field


def _tensors(opt: torch.optim.Optimizer) -> list[Any]:
    """The tensors of the fields cyclr writes (their identity must stay)."""
    out = []
    for g in opt.param_groups:
        for k in ("lr", "momentum", "betas", "weight_decay"):
            x = g.get(k)
            xs = x if isinstance(x, (tuple, list)) else (x,)
            out += [t for t in xs if isinstance(t, torch.Tensor)]
    return out


def _fields(opt: torch.optim.Optimizer) -> list[dict[str, Any]]:
    """lr, momentum and betas[0] of each group, as floats (``None`` where absent)."""
    return [
        {
            "lr": read(g, "lr"),
            "momentum": read(g, "momentum") if "momentum" in g else None,
            "beta1": read(g, "betas") if "betas" in g else None,
        }
        for g in opt.param_groups
    ]


def _expect(before: dict[str, Any], field: str | None, lr: float, mom: float) -> dict[str, Any]:
    """What a writer leaves: the LR, and the momentum only in the field the rule names."""
    out = dict(before, lr=lr)
    if field is not None:
        out["momentum" if field == "momentum" else "beta1"] = mom
    return out


def _same_objects(a: list[Any], b: list[Any]) -> bool:
    return len(a) == len(b) and all(x is y for x, y in zip(a, b))


def _loss(model: nn.Module, watch: Callable[[], None] | None = None) -> Any:
    def loss_fn(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        if watch is not None:
            watch()
        return nn.functional.cross_entropy(out, y)

    return loss_fn


def _batches(n: int = 4) -> list[tuple[torch.Tensor, torch.Tensor]]:
    g = torch.Generator().manual_seed(1)
    return [(torch.randn(8, 4, generator=g), torch.randint(0, 2, (8,), generator=g))] * n


# -- the rule --------------------------------------------------------------------------------
def test_find_momentum_names_the_field_or_none(case):
    _, opt, field = case
    assert find_momentum(opt) == (None if field is None else Momentum(field, (0,)))


def test_every_caller_agrees_on_the_momentum_field(case):
    model, opt, field = case
    before = _fields(opt)[0]
    s = cyclr.Triangular(1e-3, 1e-2, 5)
    auto = AutoScheduler(opt, s, types.SimpleNamespace(bounds=None, tests=()), momentum=True)
    assert auto.momentums is None if field is None else auto.momentums is not None
    assert _fields(opt)[0] == _expect(before, field, s(0), s.momentum()(0))
    auto.close()
    online = online_schedule(model, opt, total_steps=100, rollback=False)
    assert online.online.cycle_momentum is (field is not None)
    if field is None:
        with pytest.raises(ValueError, match="momentum cycling needs"):
            CyclicScheduler(opt, s, momentum=True)


# -- every writer ----------------------------------------------------------------------------
def test_the_scheduler_writes_lr_and_momentum_in_place(case):
    _, opt, field = case
    tensors, before = _tensors(opt), _fields(opt)[0]
    s = cyclr.OneCycle.pytorch(0.1, total_steps=20)
    m = s.momentum()
    sched = CyclicScheduler(opt, s, momentum=None if field is None else m)
    for k in range(20):
        assert _fields(opt)[0] == _expect(before, field, s(k), m(k))
        assert _same_objects(_tensors(opt), tensors)
        opt.step()
        sched.step()


def test_the_online_scheduler_writes_lr_and_momentum_in_place(case):
    model, opt, field = case
    tensors, before = _tensors(opt), _fields(opt)[0]
    sched = online_schedule(model, opt, total_steps=100, rollback=False)
    online = sched.online
    for _ in range(12):
        assert _fields(opt)[0] == _expect(before, field, online.lr(), online.momentum())
        assert _same_objects(_tensors(opt), tensors)
        opt.step()
        sched.step(1.0)
    assert online.step == 12


def test_the_range_test_writes_the_lr_in_place_and_restores_the_same_objects(case):
    model, opt, _ = case
    tensors, before = _tensors(opt), _fields(opt)
    seen: list[dict[str, Any]] = []

    def watch() -> None:
        assert _same_objects(_tensors(opt), tensors)
        seen.append(_fields(opt)[0])

    result = range_test(
        model, opt, _loss(model, watch), _batches(12), num_iter=12, diverge=None, progress=False
    )
    assert [f["lr"] for f in seen] == result.lr.tolist()
    assert all(f == dict(before[0], lr=f["lr"]) for f in seen)  # momentum untouched
    assert _fields(opt) == before and _same_objects(_tensors(opt), tensors)


def test_the_sweep_writes_momentum_in_place_and_restores_the_same_objects(case):
    model, opt, field = case
    tensors, before = _tensors(opt), _fields(opt)
    if field is None:
        with pytest.raises(ValueError, match="param='momentum' needs"):
            sweep(model, opt, _loss(model), _batches(), values=[0.9, 0.8], num_iter=10)
        assert _fields(opt) == before
        return
    seen: list[dict[str, Any]] = []

    def watch() -> None:
        assert _same_objects(_tensors(opt), tensors)
        seen.append(_fields(opt)[0])

    s = sweep(model, opt, _loss(model, watch), _batches(), values=[0.95, 0.8], num_iter=10)
    assert s.config["field"] == ("momentum" if field == "momentum" else "betas[0]")
    runs = [seen[:10], seen[10:]]
    for run, value in zip(runs, [0.95, 0.8]):
        assert all(f == _expect(before[0], field, f["lr"], value) for f in run)
    assert _fields(opt) == before and _same_objects(_tensors(opt), tensors)


@pytest.mark.parametrize("field", ["betas", "momentum"])
def test_the_sweep_fills_a_tensor_beta1_and_momentum_in_place(field):
    torch.manual_seed(0)
    model = nn.Linear(4, 2)
    held = _t(0.9)
    if field == "betas":
        opt: torch.optim.Optimizer = torch.optim.Adam(
            model.parameters(), lr=1e-3, betas=(held, _t(0.999))
        )
    else:
        opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=held)
    values: list[float] = []

    def watch() -> None:
        x = opt.param_groups[0][field]
        now = x[0] if field == "betas" else x
        assert now is held  # the same tensor, filled
        values.append(float(now))

    sweep(model, opt, _loss(model, watch), _batches(), values=[0.95, 0.8], num_iter=10)
    assert values == [0.95] * 10 + [0.8] * 10
    g = opt.param_groups[0]
    assert (g["betas"][0] if field == "betas" else g["momentum"]) is held
    assert float(held) == 0.9


# -- groups at momentum 0 --------------------------------------------------------------------
def _two_groups() -> tuple[nn.Module, torch.optim.Optimizer]:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 3), nn.Linear(3, 2))
    groups = [{"params": model[0].parameters()}, {"params": model[1].parameters(), "momentum": 0}]
    return model, torch.optim.SGD(groups, lr=0.1, momentum=0.9)


def test_a_group_created_with_momentum_0_is_left_at_0_by_every_writer():
    model, opt = _two_groups()
    assert find_momentum(opt) == Momentum("momentum", (0,))
    s = cyclr.Triangular(0.01, 0.1, 4)
    sched = CyclicScheduler(opt, s, momentum=True)
    for k in range(6):
        assert [g["momentum"] for g in opt.param_groups] == [s.momentum()(k), 0]
        opt.step()
        sched.step()
    sched.close()
    model, opt = _two_groups()
    online = online_schedule(model, opt, total_steps=100, rollback=False)
    for _ in range(3):
        m = online.online.momentum()
        assert [g["momentum"] for g in opt.param_groups] == [m, 0]
        opt.step()
        online.step(1.0)


def test_the_sweep_refuses_a_group_at_momentum_0_and_takes_the_others():
    model, opt = _two_groups()
    with pytest.raises(ValueError, match=r"SGD's group 1 has momentum 0.*momentum > 0"):
        sweep(model, opt, _loss(model), _batches(), values=[0.95, 0.8], num_iter=10)
    s = sweep(model, opt, _loss(model), _batches(), values=[0.95, 0.8], num_iter=10, groups=[0])
    assert s.config["groups"] == [0] and [g["momentum"] for g in opt.param_groups] == [0.9, 0]


def test_momentum_cycling_on_an_optimizer_without_velocity_says_how_to_get_one():
    opt = torch.optim.RMSprop(nn.Linear(2, 1).parameters(), lr=0.01)
    with pytest.raises(ValueError, match=r"RMSprop has momentum 0, so it keeps no velocity"):
        CyclicScheduler(opt, cyclr.Triangular(0.01, 0.1, 4), momentum=True)


def test_groups_that_mix_betas_and_momentum_are_refused():
    p, q = nn.Parameter(torch.zeros(1)), nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([{"params": [p]}, {"params": [q]}], lr=0.1, momentum=0.9)
    opt.param_groups[1]["betas"] = (0.9, 0.999)
    with pytest.raises(ValueError, match="mix 'betas' and 'momentum'"):
        find_momentum(opt)
    assert find_momentum(opt, [0]) == Momentum("momentum", (0,))


# -- the writer itself -----------------------------------------------------------------------
def test_write_fills_tensors_and_replaces_numbers_keeping_the_betas_type():
    p = nn.Parameter(torch.zeros(1))
    groups: list[dict[str, Any]] = [
        {"params": [p], "lr": _t(0.1), "betas": [0.9, 0.99], "weight_decay": 0.0},
        {"params": [p], "lr": 0.2, "betas": (_t(0.9), 0.99), "weight_decay": _t(0.0)},
    ]
    lr0, beta1 = groups[0]["lr"], groups[1]["betas"][0]
    write(groups, "lr", [0.5, 0.25])
    write(groups, "betas", [0.8, 0.7])
    write(groups, "weight_decay", [1e-4, 1e-3])
    assert groups[0]["lr"] is lr0 and lr0.item() == 0.5 and lr0.dtype == torch.float64
    assert groups[1]["lr"] == 0.25
    assert groups[0]["betas"] == [0.8, 0.99]
    assert groups[1]["betas"][0] is beta1 and beta1.item() == 0.7
    assert groups[0]["weight_decay"] == 1e-4 and groups[1]["weight_decay"].item() == 1e-3


def test_group_ratios_are_over_the_first_group_with_a_positive_lr():
    ps = [nn.Parameter(torch.zeros(1)) for _ in range(3)]
    spec = [{"params": [ps[0]], "lr": 0.0}, {"params": [ps[1]]}, {"params": [ps[2]], "lr": 0.05}]
    assert group_ratios(torch.optim.SGD(spec, lr=0.2)) == [0.0, 1.0, 0.25]
