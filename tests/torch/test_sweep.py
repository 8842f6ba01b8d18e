"""``cyclr.torch.sweep``: one range test per value, the value really set, everything restored."""

from __future__ import annotations

from typing import Any

import pytest
import torch
from tests.support.models import digits, loader, mlp, warm_up
from tests.support.probes import Boom
from tests.support.state import assert_same, capture
from torch import nn

import cyclr
from cyclr.range_test.ramp import MIN_ITER
from cyclr.torch import sweep
from cyclr.torch._sweep import rebatch

CE = nn.functional.cross_entropy
N = 15  # updates per range test


@pytest.fixture(autouse=True, scope="module")
def _data_loaded_before_any_state_is_captured():
    digits()  # (importing scikit-learn draws from Python's RNG)


class Watch:
    """A loss function that records, at every call, what the optimizer holds and the batch."""

    def __init__(self, opt: torch.optim.Optimizer, read: Any) -> None:
        self.opt, self.read = opt, read
        self.seen: list[Any] = []
        self.sizes: list[int] = []
        self.targets: list[torch.Tensor] = []

    def __call__(self, out: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        self.seen.append(self.read(self.opt))
        self.sizes.append(int(target.shape[0]))
        self.targets.append(target.clone())
        return CE(out, target)

    def runs(self, iters: list[int]) -> list[list[Any]]:
        """``seen`` split into consecutive runs of ``iters`` calls."""
        out, i = [], 0
        for n in iters:
            out.append(self.seen[i : i + n])
            i += n
        assert i == len(self.seen)
        return out


def setup(opt_kind: str = "sgd", groups: int = 1) -> tuple[nn.Module, torch.optim.Optimizer]:
    """An MLP a few steps into training (the optimizer holds state, grads are left behind)."""
    model = mlp(seed=1)
    params: Any = model.parameters()
    if groups == 2:
        params = [
            {"params": model[0].parameters()},
            {"params": model[3].parameters(), "weight_decay": 0.0},
        ]
    if opt_kind == "sgd":
        opt: torch.optim.Optimizer = torch.optim.SGD(
            params, lr=0.05, momentum=0.9, weight_decay=5e-4
        )
    else:
        opt = torch.optim.AdamW(params, lr=1e-3, betas=(0.9, 0.999), weight_decay=1e-2)
    warm_up(model, opt, digits())
    return model, opt


def test_momentum_sweep_sets_each_value_and_restores_everything() -> None:
    model, opt = setup()
    before = capture(model, opt)
    watch = Watch(opt, lambda o: o.param_groups[0]["momentum"])
    values = [0.99, 0.95, 0.9, 0.8]
    s = sweep(
        model,
        opt,
        watch,
        loader(digits(), 64),
        param="momentum",
        values=values,
        num_iter=N,
        progress=False,
    )
    assert_same(capture(model, opt), before)
    assert s.param == "momentum" and s.values == tuple(values) and len(s.results) == 4
    assert [r.config["sweep"] for r in s.results] == [
        {"param": "momentum", "value": v, "field": "momentum"} for v in values
    ]
    assert [set(run) for run in watch.runs([len(r) for r in s.results])] == [{v} for v in values]
    assert s.config["original"] == 0.9 and s.config["field"] == "momentum"


def test_beta1_alias_sets_adam_betas0_only() -> None:
    model, opt = setup("adamw")
    before = capture(model, opt)
    watch = Watch(opt, lambda o: tuple(o.param_groups[0]["betas"]))
    s = sweep(
        model,
        opt,
        watch,
        loader(digits(), 64),
        param="beta1",
        values=(0.95, 0.85),
        num_iter=N,
        progress=False,
    )
    assert_same(capture(model, opt), before)
    assert s.param == "momentum" and s.label == "beta1" and s.config["field"] == "betas[0]"
    runs = watch.runs([len(r) for r in s.results])
    assert [set(run) for run in runs] == [{(0.95, 0.999)}, {(0.85, 0.999)}]


def test_weight_decay_sweep_in_chosen_groups_leaves_the_others_alone() -> None:
    model, opt = setup(groups=2)
    before = capture(model, opt)
    watch = Watch(opt, lambda o: [g["weight_decay"] for g in o.param_groups])
    s = sweep(
        model,
        opt,
        watch,
        loader(digits(), 64),
        param="weight_decay",
        values=[1e-3, 1e-4, 0],
        groups=[0],
        num_iter=N,
        progress=False,
    )
    assert_same(capture(model, opt), before)
    runs = watch.runs([len(r) for r in s.results])
    assert [{tuple(x) for x in run} for run in runs] == [{(1e-3, 0.0)}, {(1e-4, 0.0)}, {(0.0, 0.0)}]
    assert [g["weight_decay"] for g in opt.param_groups] == [5e-4, 0.0]


def test_default_values_are_smiths() -> None:
    model, opt = setup()
    s = sweep(
        model,
        opt,
        CE,
        loader(digits(), 64),
        param="weight_decay",
        num_iter=MIN_ITER,
        progress=False,
    )
    assert s.values == (1e-3, 1e-4, 1e-5, 0.0)


def test_runs_see_the_same_batches_with_a_seeded_dataloader() -> None:
    """A DataLoader with its own generator is rewound, so the runs are paired."""
    x, y = digits()
    gen = torch.Generator().manual_seed(3)
    dl = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(x, y), batch_size=64, shuffle=True, generator=gen
    )
    state = gen.get_state()
    model, opt = setup()
    watch = Watch(opt, lambda o: o.param_groups[0]["momentum"])
    s = sweep(
        model, opt, watch, dl, param="momentum", values=[0.9, 0.5, 0.0], num_iter=N, progress=False
    )
    n = [len(r) for r in s.results]
    firsts = [watch.targets[sum(n[:i])] for i in range(3)]
    assert all(torch.equal(firsts[0], f) for f in firsts[1:])
    assert torch.equal(gen.get_state(), state)


def test_batch_size_with_a_factory_at_equal_samples() -> None:
    model, opt = setup()
    before = capture(model, opt)
    watch = Watch(opt, lambda o: None)
    s = sweep(
        model,
        opt,
        watch,
        None,
        param="batch_size",
        values=[32, 64, 96],
        loader_factory=lambda b: loader(digits(), b),
        budget="samples",
        num_iter=30,
        progress=False,
    )
    assert_same(capture(model, opt), before)
    assert s.config["num_iter"] == [30, 15, 10] and [len(r) for r in s.results] == [30, 15, 10]
    runs = [set(watch.sizes[a : a + n]) for a, n in ((0, 30), (30, 15), (45, 10))]
    assert runs == [{32}, {64}, {96}]
    assert [r.config["batch_size"] for r in s.results] == [32, 64, 96]


def test_batch_size_rebuilds_a_dataloader_and_times_the_runs() -> None:
    model, opt = setup()
    before = capture(model, opt)
    watch = Watch(opt, lambda o: None)
    s = sweep(
        model,
        opt,
        watch,
        loader(digits(), 64),
        param="batch_size",
        values=[128, 16],
        num_iter=12,
        progress=False,
    )
    assert_same(capture(model, opt), before)
    assert s.config["budget"] == "time" and len(s.config["seconds_per_update"]) == 2
    assert s.config["num_iter"][0] == 12 and s.config["num_iter"][1] >= MIN_ITER
    assert [len(r) for r in s.results] == s.config["num_iter"]
    assert set(watch.sizes[-len(s.results[1]) :]) == {16}


def test_rebatch_keeps_the_loader_options() -> None:
    x, y = digits()
    gen = torch.Generator().manual_seed(0)
    dl = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(x, y),
        batch_size=64,
        shuffle=True,
        drop_last=True,
        generator=gen,
    )
    new = rebatch(dl, 100)
    assert new.batch_size == 100 and new.drop_last and new.generator is gen
    assert isinstance(new.sampler, torch.utils.data.RandomSampler)
    with pytest.raises(TypeError, match="DataLoader"):
        rebatch([(x, y)], 10)


@pytest.mark.parametrize("error", [Boom, KeyboardInterrupt])
def test_an_error_in_the_second_run_restores_and_keeps_the_runs_so_far(error: type) -> None:
    model, opt = setup()
    before = capture(model, opt)
    calls = {"n": 0}

    def loss_fn(out: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        calls["n"] += 1
        if calls["n"] == N + 5:
            raise error("stop")
        return CE(out, target)

    with pytest.raises(error) as info:
        sweep(
            model,
            opt,
            loss_fn,
            loader(digits(), 64),
            values=[0.9, 0.8, 0.7],
            num_iter=N,
            diverge=None,
            progress=False,
        )
    assert_same(capture(model, opt), before)
    partial = info.value.sweep_result
    assert partial.values == (0.9, 0.8) and len(partial.results[0]) == N
    assert partial.results[1].stop_reason == ("error" if error is Boom else "interrupted")


def test_the_sweep_round_trips_and_suggests(tmp_path: Any) -> None:
    model, opt = setup()
    s = sweep(
        model,
        opt,
        CE,
        loader(digits(), 64),
        values=[0.99, 0.5],
        num_iter=40,
        start_lr=1e-3,
        end_lr=10.0,
        progress=False,
        seed=0,
    )
    back = cyclr.SweepResult.load(s.save(tmp_path / "sweep.json"))
    assert back.to_dict() == s.to_dict()
    choice = back.suggest()
    assert choice.leader in (0.99, 0.5) and choice.curve == "loss"


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        (dict(values=[]), ValueError, "values is empty"),
        (dict(values=[0.9]), ValueError, "at least 2 values"),
        (dict(values=[0.9, 0.9]), ValueError, "duplicates: 0.9"),
        (dict(values=[0.9, 1.5]), ValueError, r"values\[1\] must be in \[0, 1\)"),
        (dict(values="0.9,0.8"), TypeError, "values must be a sequence"),
        (dict(param="lr", values=[0.1, 0.2]), ValueError, "param must be one of"),
        (dict(param="weight_decay", values=[1e-4, -1.0]), ValueError, r"values\[1\] must be >= 0"),
        (dict(param="batch_size"), ValueError, "values is required"),
        (dict(param="batch_size", values=[32, 64.5]), TypeError, r"values\[1\] must be an integer"),
        (
            dict(param="batch_size", values=[64, 256], budget="samples"),
            ValueError,
            "leaves batch_size=256 only 5 updates",
        ),
        (dict(param="batch_size", values=[32, 64], budget="epochs"), ValueError, "budget must be"),
        (dict(values=[0.9, 0.8], budget="time"), ValueError, "budget applies to"),
        (
            dict(values=[0.9, 0.8], loader_factory=lambda b: []),
            ValueError,
            "loader_factory applies",
        ),
        (dict(values=[0.9, 0.8], groups=[0, 3]), ValueError, "groups has index 3"),
        (dict(values=[0.9, 0.8], groups=[]), ValueError, "groups is empty"),
        (dict(values=[0.9, 0.8], num_iter=3), ValueError, "num_iter must be >= 10"),
        (dict(values=[0.9, 0.8], lr_max=1.0), TypeError, "lr_max"),
    ],
)
def test_bad_input_is_named_and_changes_nothing(kwargs: dict, exc: type, match: str) -> None:
    model, opt = setup()
    before = capture(model, opt)
    with pytest.raises(exc, match=match):
        sweep(model, opt, CE, loader(digits(), 64), progress=False, **{"num_iter": 20, **kwargs})
    assert_same(capture(model, opt), before)


def test_optimizers_without_the_field_are_refused() -> None:
    model = mlp()
    ada = torch.optim.Adagrad(model.parameters())
    with pytest.raises(ValueError, match=r"'momentum'.*'betas'.*Adagrad's group 0"):
        sweep(model, ada, CE, loader(digits()), values=[0.9, 0.8])
    rprop = torch.optim.Rprop(model.parameters())
    with pytest.raises(ValueError, match=r"'weight_decay'.*Rprop"):
        sweep(model, rprop, CE, loader(digits()), param="weight_decay", values=[0.1, 0])
    model, opt = setup()
    with pytest.raises(ValueError, match="train_loader=None with loader_factory"):
        sweep(
            model,
            opt,
            CE,
            loader(digits()),
            param="batch_size",
            values=[8, 16],
            loader_factory=lambda b: loader(digits(), b),
        )
    with pytest.raises(TypeError, match="needs a torch DataLoader"):
        sweep(
            model,
            opt,
            CE,
            [(torch.zeros(2, 64), torch.zeros(2, dtype=torch.int64))],
            param="batch_size",
            values=[8, 16],
        )


def test_a_one_shot_iterator_is_refused_before_the_first_run() -> None:
    model, opt = setup()
    batches = list(loader(digits(), 64))
    before = capture(model, opt)
    with pytest.raises(TypeError, match=r"^train_loader is a one-shot iterator \(generator\)"):
        sweep(model, opt, CE, (b for b in batches), values=[0.9, 0.8], num_iter=20, progress=False)
    with pytest.raises(TypeError, match=r"^val_loader is a one-shot iterator"):
        sweep(model, opt, CE, batches, values=[0.9, 0.8], num_iter=20, val_loader=iter(batches))
    assert_same(capture(model, opt), before)
