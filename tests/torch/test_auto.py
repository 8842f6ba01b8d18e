"""cyclr.torch.auto_schedule and online_schedule, and the suggestion rules on real range
tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

torch = pytest.importorskip("torch")
sklearn_datasets = pytest.importorskip("sklearn.datasets")

import cyclr  # noqa: E402
import cyclr.torch  # noqa: E402
from cyclr.range_test.recipe import linear_range  # noqa: E402

nn = torch.nn
F = torch.nn.functional

RULES = ["auto", "accuracy", "loss", "steepest", "minimum", "valley", "slide"]


@pytest.fixture(scope="module")
def digits() -> tuple[Any, Any, Any, Any]:
    x, y = sklearn_datasets.load_digits(return_X_y=True)
    x = torch.tensor(x / 16.0, dtype=torch.float32)
    y = torch.tensor(y)
    return x[:1000], y[:1000], x[1000:1400], y[1000:1400]


def setup(
    digits: tuple[Any, ...], opt: str = "sgd", momentum: float = 0.9, seed: int = 0
) -> tuple[Any, Any, Any]:
    x, y = digits[0], digits[1]
    g = torch.Generator().manual_seed(seed)
    loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(x, y), batch_size=32, shuffle=True, generator=g
    )
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))
    if opt == "sgd":
        optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=momentum)
    else:
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    return model, optimizer, loader


FAST = {"linear_iter": 150, "coarse_iter": 60, "progress": False, "seed": 0}


def snapshot(model: Any) -> dict[str, Any]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def test_one_cycle_from_a_two_stage_range_test(digits: tuple[Any, ...]) -> None:
    model, opt, loader = setup(digits)
    before = snapshot(model)
    sched = cyclr.torch.auto_schedule(model, opt, F.cross_entropy, loader, epochs=3, **FAST)
    after = snapshot(model)
    assert all(torch.equal(before[k], after[k]) for k in before)  # the model is restored
    assert isinstance(sched, cyclr.torch.AutoScheduler)
    b = sched.bounds
    assert isinstance(b, cyclr.Bounds) and b.method == "auto"
    coarse, fine = sched.tests
    assert sched.range_test_result is fine
    assert (coarse.mode, fine.mode) == ("exp", "linear")
    assert fine.lr[0] == pytest.approx(linear_range(coarse)[0])
    assert fine.lr[0] <= b.base_lr <= b.max_lr <= fine.lr[-1]
    s = sched.schedules[0]
    assert isinstance(s, cyclr.OneCycle)
    assert s.total_steps == 3 * len(loader) and s.max_lr == b.max_lr
    assert s.div_factor == pytest.approx(max(b.max_lr / b.base_lr, 10))
    assert opt.param_groups[0]["lr"] == pytest.approx(b.max_lr / s.div_factor)
    assert opt.param_groups[0]["momentum"] == pytest.approx(0.95)


def test_the_schedule_trains(digits: tuple[Any, ...]) -> None:
    model, opt, loader = setup(digits, seed=1)
    sched = cyclr.torch.auto_schedule(model, opt, F.cross_entropy, loader, epochs=4, **FAST)
    model.train()
    for _ in range(4):
        for xb, yb in loader:
            opt.zero_grad()
            F.cross_entropy(model(xb), yb).backward()
            opt.step()
            sched.step()
    with torch.no_grad():
        acc = (model(digits[2]).argmax(1) == digits[3]).float().mean().item()
    assert acc > 0.85


@pytest.mark.parametrize("policy", ["triangular", "triangular2", "exp_range"])
def test_cyclical_policies_end_on_a_whole_cycle(digits: tuple[Any, ...], policy: str) -> None:
    model, opt, loader = setup(digits)
    ipe = len(loader)
    sched = cyclr.torch.auto_schedule(
        model, opt, F.cross_entropy, loader, policy=policy, epochs=24, **FAST
    )
    s = sched.schedules[0]
    assert (
        type(s).__name__
        == {"triangular": "Triangular", "triangular2": "Triangular2", "exp_range": "ExpRange"}[
            policy
        ]
    )
    assert s.step_size == 4 * ipe and (24 * ipe) % (2 * s.step_size) == 0
    assert (s.base_lr, s.max_lr) == (sched.bounds.base_lr, sched.bounds.max_lr)


def test_cyclical_policy_without_a_length(digits: tuple[Any, ...]) -> None:
    model, opt, loader = setup(digits)
    sched = cyclr.torch.auto_schedule(
        model, opt, F.cross_entropy, loader, policy="triangular", **FAST
    )
    assert sched.schedules[0].step_size == 4 * len(loader)
    with pytest.warns(UserWarning, match="recommends 2-10 x"):
        sched = cyclr.torch.auto_schedule(
            model, opt, F.cross_entropy, loader, policy="triangular", step_size=50, **FAST
        )
    assert sched.schedules[0].step_size == 50


@pytest.mark.parametrize(
    "option", [{"num_iter": 120}, {"start_lr": 1e-5}, {"end_lr": 3.0}, {"mode": "exp"}]
)
def test_the_options_of_a_single_ramp_are_refused_before_any_update(
    digits: tuple[Any, ...], option: dict[str, Any]
) -> None:
    model, opt, loader = setup(digits)
    before = snapshot(model)
    ((name, value),) = option.items()
    with pytest.raises(TypeError, match=f"auto_schedule\\(\\) does not take {name}={value!r}"):
        cyclr.torch.auto_schedule(model, opt, F.cross_entropy, loader, total_steps=200, **option)
    after = snapshot(model)
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert opt.param_groups[0]["lr"] == 0.01


def test_momentum_options(digits: tuple[Any, ...]) -> None:
    model, opt, loader = setup(digits, momentum=0.0)
    cyclr.torch.auto_schedule(model, opt, F.cross_entropy, loader, epochs=2, **FAST)
    assert opt.param_groups[0]["momentum"] == 0.0  # plain SGD is left alone
    model, opt, loader = setup(digits, opt="adam")
    sched = cyclr.torch.auto_schedule(model, opt, F.cross_entropy, loader, epochs=2, **FAST)
    assert opt.param_groups[0]["betas"][0] == pytest.approx(0.95)
    assert sched.momentums is not None
    model, opt, loader = setup(digits)
    sched = cyclr.torch.auto_schedule(
        model, opt, F.cross_entropy, loader, epochs=2, momentum=False, **FAST
    )
    assert sched.momentums is None and opt.param_groups[0]["momentum"] == 0.9


def test_bad_arguments(digits: tuple[Any, ...]) -> None:
    model, opt, loader = setup(digits)
    run = cyclr.torch.auto_schedule
    with pytest.raises(ValueError, match="needs total_steps or epochs"):
        run(model, opt, F.cross_entropy, loader, **FAST)
    with pytest.raises(ValueError, match="not both"):
        run(model, opt, F.cross_entropy, loader, total_steps=100, epochs=2, **FAST)
    with pytest.raises(ValueError, match="policy must be one of"):
        run(model, opt, F.cross_entropy, loader, policy="cosine", epochs=2, **FAST)
    with pytest.raises(TypeError, match="momentum must be"):
        run(model, opt, F.cross_entropy, loader, epochs=2, momentum=0.9, **FAST)
    with pytest.raises(cyclr.SuggestionError, match="method must be one of"):
        run(model, opt, F.cross_entropy, loader, epochs=2, method="best", **FAST)
    stream = (batch for batch in loader)
    with pytest.raises(ValueError, match="has no len"):
        run(model, opt, F.cross_entropy, stream, epochs=2, **FAST)


@pytest.fixture(scope="module")
def real_results(digits: tuple[Any, ...]) -> dict[str, cyclr.RangeTestResult]:
    out = {}
    model, opt, loader = setup(digits, seed=3)
    val = [(digits[2][i : i + 100], digits[3][i : i + 100]) for i in range(0, 400, 100)]
    out["exp"] = cyclr.torch.range_test(
        model,
        opt,
        F.cross_entropy,
        loader,
        num_iter=200,
        start_lr=1e-5,
        end_lr=10.0,
        progress=False,
        seed=0,
        val_loader=val,
        val_every=10,
    )
    out["linear"] = cyclr.torch.range_test(
        model,
        opt,
        F.cross_entropy,
        loader,
        num_iter=200,
        mode="linear",
        start_lr=1e-3,
        end_lr=1.5,
        progress=False,
        seed=0,
    )
    return out


@pytest.mark.parametrize("mode", ["exp", "linear"])
@pytest.mark.parametrize("method", RULES)
def test_every_rule_on_real_range_tests(
    real_results: dict[str, Any], mode: str, method: str
) -> None:
    r = real_results[mode]
    b = r.suggest(method)
    assert r.lr[0] <= b.base_lr <= b.max_lr <= r.lr[-1]
    assert b.reason
    if method in ("auto", "accuracy"):
        assert b.curve == ("val_metric" if mode == "exp" else "metric")


def test_real_two_bound_readings_are_sane(real_results: dict[str, Any]) -> None:
    # digits MLP + SGD momentum: the loss blows up above ~0.5; good 1cycle peaks are 0.05-0.3
    for r in real_results.values():
        b = r.suggest("auto")
        assert 0.02 <= b.max_lr <= 0.4, b.reason
        assert b.base_lr < b.max_lr


def test_saved_real_result_reread_without_torch(
    real_results: dict[str, Any], tmp_path: Path, suggest_without_torch: Any
) -> None:
    r = real_results["exp"]
    path = r.save(tmp_path / "real.json")
    here = {m: r.suggest(m).to_dict() for m in RULES}
    assert suggest_without_torch(path, RULES) == json.loads(json.dumps(here))
    assert np.isfinite([here["auto"]["base_lr"], here["auto"]["max_lr"]]).all()


def _grouped(digits: tuple[Any, ...], lrs: tuple[float, float]) -> tuple[Any, Any, Any]:
    model, _, loader = setup(digits)
    opt = torch.optim.SGD(
        [
            {"params": model[0].parameters(), "lr": lrs[0]},
            {"params": model[2].parameters(), "lr": lrs[1]},
        ],
        lr=0.1,
        momentum=0.9,
    )
    return model, opt, loader


@pytest.mark.parametrize(
    ("lrs", "ratios"),
    [((0.1, 0.0), [1.0, 0.0]), ((0.1, 0.01), [1.0, 0.1]), ((0.0, 0.05), [0.0, 1.0])],
)
def test_every_group_keeps_the_lr_ratio_its_range_test_ran_with(
    digits: tuple[Any, ...], lrs: tuple[float, float], ratios: list[float]
) -> None:
    model, opt, loader = _grouped(digits, lrs)
    sched = cyclr.torch.auto_schedule(model, opt, F.cross_entropy, loader, total_steps=40, **FAST)
    tested = [t.config["group_lr_ratios"] for t in sched.tests]
    assert all(r == pytest.approx(ratios) for r in tested)
    assert sched.group_scales == pytest.approx(ratios)
    ref = ratios.index(1.0)
    frozen = [i for i, r in enumerate(ratios) if r == 0]
    before = [p.detach().clone() for i in frozen for p in opt.param_groups[i]["params"]]
    x, y = digits[0], digits[1]
    for step in range(40):
        lr = sched.schedules[0].at(step)
        assert opt.param_groups[ref]["lr"] == pytest.approx(lr, rel=1e-12)
        for g, r in zip(opt.param_groups, ratios):
            assert g["lr"] == pytest.approx(lr * r, rel=1e-12, abs=0.0)
        opt.zero_grad()
        F.cross_entropy(model(x[:32]), y[:32]).backward()
        opt.step()
        sched.step()
    after = [p.detach() for i in frozen for p in opt.param_groups[i]["params"]]
    assert all(torch.equal(a, b) for a, b in zip(before, after))


def test_online_keeps_each_groups_lr_ratio(digits: tuple[Any, ...]) -> None:
    model, opt, _ = _grouped(digits, (0.1, 0.01))
    sched = cyclr.torch.online_schedule(model, opt, total_steps=200)
    x, y = digits[0], digits[1]
    for step in range(30):
        lr = sched.online.lr()
        assert [g["lr"] for g in opt.param_groups] == pytest.approx([lr, lr * 0.1], rel=1e-12)
        assert sched.get_last_lr() == pytest.approx([lr, lr * 0.1], rel=1e-12)
        idx = slice(32 * step % 960, 32 * step % 960 + 32)
        loss = F.cross_entropy(model(x[idx]), y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step(loss)


def test_online_leaves_a_frozen_group_frozen(digits: tuple[Any, ...]) -> None:
    model, opt, _ = _grouped(digits, (0.0, 0.1))
    frozen = [p.detach().clone() for p in model[0].parameters()]
    sched = cyclr.torch.online_schedule(model, opt, total_steps=200)
    x, y = digits[0], digits[1]
    for _ in range(10):
        loss = F.cross_entropy(model(x[:32]), y[:32])
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step(loss)
        assert opt.param_groups[0]["lr"] == 0.0
        assert opt.param_groups[1]["lr"] == sched.online.lr() > 0
    assert all(torch.equal(a, b.detach()) for a, b in zip(frozen, model[0].parameters()))


def test_online_triangular_takes_step_size_without_total_steps(digits: tuple[Any, ...]) -> None:
    def online(**kw: Any) -> Any:
        model, opt, _ = setup(digits)
        return cyclr.torch.online_schedule(model, opt, **kw)

    plain = online(policy="triangular")
    sized = online(policy="triangular", step_size=50)
    assert plain.online.warmup_steps == sized.online.warmup_steps == 200
    assert (plain.online.step_size, sized.online.step_size) == (None, 50)
    assert online(policy="triangular", step_size=50, warmup_steps=120).online.warmup_steps == 120
