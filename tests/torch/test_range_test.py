"""``cyclr.torch.range_test``: what it records, how it ramps and stops, and what it rejects."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.support.models import bn_cnn, digits, loader, mlp, mnist1d
from tests.support.probes import Counting, StepCounter
from tests.support.state import assert_same, capture
from torch import nn

import cyclr
from cyclr.range_test.ramp import DEFAULT_RANGE, MIN_ITER
from cyclr.range_test.smoothing import DIVERGE_WARMUP
from cyclr.torch import range_test

CE = nn.functional.cross_entropy


@pytest.fixture(autouse=True, scope="module")
def _data_loaded_before_any_state_is_captured():
    digits()  # (importing scikit-learn draws from Python's RNG)


def setup(seed: int = 0, lr: float = 0.1, momentum: float = 0.9):
    model = mlp(seed)
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum)
    return model, opt


def run(model, opt, data_loader=None, **kw):
    kw.setdefault("progress", False)
    return range_test(model, opt, CE, data_loader or loader(digits()), **kw)


def exp_formula(i, start, end, n):
    return start * (end / start) ** (i / (n - 1))


def linear_formula(i, start, end, n):
    return start + (end - start) * i / (n - 1)


# -- what is recorded ------------------------------------------------------------------------
def test_records_every_update_with_metadata():
    model, opt = setup()
    r = run(model, opt, num_iter=30, start_lr=1e-4, end_lr=0.5, diverge=None)
    assert isinstance(r, cyclr.RangeTestResult)
    assert r.stop_reason == "end" and len(r) == 30
    assert r.mode == "exp" and r.metric_name == "accuracy"
    assert r.metric is not None and np.all((r.metric >= 0) & (r.metric <= 1))
    assert np.all(np.isfinite(r.loss)) and np.all(np.isfinite(r.smoothed_loss))
    assert r.group_lrs.shape == (30, 1)
    assert r.val_step is None and r.val_loss is None
    assert set(r.versions) >= {"cyclr", "torch", "python", "numpy"}
    assert r.versions["torch"] == torch.__version__ and r.versions["cyclr"] == cyclr.__version__
    for key in (
        "start_lr",
        "end_lr",
        "num_iter",
        "mode",
        "smooth",
        "diverge",
        "accumulation_steps",
        "seed",
        "optimizer",
        "world_size",
        "skipped_steps",
    ):
        assert key in r.config, key
    assert r.config["num_iter"] == 30 and r.config["optimizer"] == "SGD"
    assert "1e-04" in r.message or "0.0001" in r.message


def test_smoothed_loss_is_the_bias_corrected_ema():
    model, opt = setup()
    r = run(model, opt, num_iter=25, smooth=0.9, diverge=None, end_lr=1.0)
    avg, expected = 0.0, []
    for i, loss in enumerate(r.loss):
        avg = 0.9 * avg + 0.1 * loss
        expected.append(avg / (1 - 0.9 ** (i + 1)))
    np.testing.assert_allclose(r.smoothed_loss, expected, rtol=1e-12)
    raw = run(*setup(), num_iter=10, smooth=0.0, seed=0)
    np.testing.assert_array_equal(raw.smoothed_loss, raw.loss)


def test_metric_is_batch_accuracy():
    x, y = digits()
    batches = [(x[i : i + 50], y[i : i + 50]) for i in range(0, 500, 50)]
    model, opt = setup()
    seen: list[float] = []

    def loss_fn(out, target):
        seen.append(int((out.argmax(1) == target).sum()) / len(target))
        return CE(out, target)

    r = range_test(model, opt, loss_fn, batches, num_iter=10, progress=False)
    np.testing.assert_allclose(r.metric, seen, rtol=1e-12)


def test_metric_callable_none_and_auto_regression():
    model, opt = setup()
    r = run(model, opt, num_iter=10, metric=lambda out, y: (out.argmax(1) == y).float().mean())
    assert r.metric_name == "<lambda>" and r.metric.shape == (10,)

    def top3(out, y):
        return float((out.topk(3, 1).indices == y[:, None]).any(1).float().mean())

    r = run(model, opt, num_iter=10, metric=top3)
    assert r.metric_name == "top3" and np.all(r.metric <= 1)
    assert run(model, opt, num_iter=10, metric=None).metric is None

    x = torch.randn(200, 5)
    reg = [(x[i : i + 20], x[i : i + 20].sum(1, keepdim=True)) for i in range(0, 200, 20)]
    lin = nn.Linear(5, 1)
    ropt = torch.optim.SGD(lin.parameters(), lr=0.01)
    r = range_test(lin, ropt, nn.functional.mse_loss, reg, num_iter=10, progress=False)
    assert r.metric is None and r.metric_name is None
    before = capture(lin, ropt)
    with pytest.raises(ValueError, match="metric='accuracy'"):
        range_test(
            lin, ropt, nn.functional.mse_loss, reg, num_iter=10, metric="accuracy", progress=False
        )
    assert_same(before, capture(lin, ropt))


def test_metric_returning_none_records_nan_for_that_update():
    x, y = digits()
    batches = [(x[i : i + 50], y[i : i + 50]) for i in range(0, 500, 50)]
    calls = {"n": -1}

    def sometimes(out, target):
        calls["n"] += 1
        i = calls["n"]
        if i % 3 == 1:
            return None  # undefined for this batch
        return torch.tensor([i / 10]) if i % 3 == 2 else i / 10

    model, opt = setup()
    r = range_test(model, opt, CE, batches, num_iter=10, metric=sometimes, progress=False)
    expected = [math.nan if i % 3 == 1 else i / 10 for i in range(10)]
    np.testing.assert_allclose(r.metric, expected, rtol=1e-6)
    assert r.metric_name == "sometimes"
    assert np.isnan(r.metric).sum() == 3


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("high", "'high' (str)"),
        ([0.5], "[0.5] (list)"),
        (True, "True (bool)"),
        (torch.zeros(3), "a tensor of shape (3,)"),
        (torch.tensor(1 + 2j), "a tensor of shape () complex64"),
    ],
)
def test_metric_returning_a_non_number_is_a_type_error_and_restores(value, shown):
    model, opt = setup()
    before = capture(model, opt)

    def odd(out, target):
        return value

    with pytest.raises(TypeError) as info:
        run(model, opt, num_iter=10, metric=odd)
    message = str(info.value)
    assert message.startswith("metric odd must return a number, a 0-d or 1-element tensor or ")
    assert shown in message
    assert_same(before, capture(model, opt))


# -- the ramp --------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["exp", "linear"])
def test_lr_follows_the_ramp_formula(mode):
    model, opt = setup()
    counter = StepCounter(opt)
    n, start, end = 40, 1e-4, 0.3
    r = run(model, opt, num_iter=n, start_lr=start, end_lr=end, mode=mode, diverge=None)
    counter.remove()
    formula = exp_formula if mode == "exp" else linear_formula
    expected = [formula(i, start, end, n) for i in range(n)]
    np.testing.assert_allclose(r.lr, expected, rtol=1e-12)
    assert r.lr[0] == start and math.isclose(r.lr[-1], end, rel_tol=1e-12)
    # The LR the optimizer really stepped with, update by update.
    np.testing.assert_array_equal([g[0] for g in counter.lrs], r.lr)
    assert counter.steps == n


def test_default_ranges():
    assert DEFAULT_RANGE == {"exp": (1e-7, 10.0), "linear": (1e-3, 1.0)}
    r = run(*setup(), num_iter=10, diverge=None, mode="linear")
    assert r.lr[0] == 1e-3 and math.isclose(r.lr[-1], 1.0)
    assert r.config["start_lr"] == 1e-3 and r.config["end_lr"] == 1.0


@settings(max_examples=25, deadline=None)
@given(
    log_start=st.floats(-7, -1),
    decades=st.floats(0.1, 6),
    num_iter=st.integers(MIN_ITER, 30),
    mode=st.sampled_from(["exp", "linear"]),
)
def test_ramp_property(log_start, decades, num_iter, mode):
    start, end = 10.0**log_start, 10.0 ** (log_start + decades)
    x = torch.linspace(-1, 1, 40).reshape(20, 2)
    batches = [(x[i : i + 4], (x[i : i + 4, 0] > 0).long()) for i in range(0, 20, 4)]
    model = nn.Linear(2, 2)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    r = range_test(
        model,
        opt,
        CE,
        batches,
        start_lr=start,
        end_lr=end,
        num_iter=num_iter,
        mode=mode,
        diverge=None,
        progress=False,
    )
    assert len(r) == num_iter and r.stop_reason == "end"
    formula = exp_formula if mode == "exp" else linear_formula
    np.testing.assert_allclose(
        r.lr, [formula(i, start, end, num_iter) for i in range(num_iter)], rtol=1e-12
    )
    assert np.all(np.diff(r.lr) > 0)
    assert opt.param_groups[0]["lr"] == 0.1


def test_param_groups_keep_their_ratio_to_group_zero():
    model = mlp()
    first, last = model[0], model[3]
    opt = torch.optim.SGD(
        [{"params": first.parameters(), "lr": 0.1}, {"params": last.parameters(), "lr": 0.025}],
        momentum=0.9,
    )
    counter = StepCounter(opt)
    r = run(model, opt, num_iter=20, start_lr=1e-3, end_lr=0.5, diverge=None)
    counter.remove()
    assert r.group_lrs.shape == (20, 2)
    np.testing.assert_array_equal(r.group_lrs[:, 0], r.lr)
    np.testing.assert_array_equal(r.group_lrs[:, 1], r.lr * 0.25)
    np.testing.assert_array_equal(np.array(counter.lrs), r.group_lrs)
    assert r.config["group_lr_ratios"] == [1.0, 0.25]
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.025]


def test_a_frozen_group_zero_stays_frozen_and_the_first_trained_group_follows_the_ramp():
    model = mlp()
    opt = torch.optim.SGD(
        [
            {"params": [model[0].weight], "lr": 0.0},
            {"params": model[3].parameters(), "lr": 0.3},
            {"params": [model[0].bias], "lr": 0.03},
        ],
        momentum=0.9,
    )
    frozen = model[0].weight.detach().clone()
    moved = []

    def loss_fn(out, target):
        moved.append(float((model[0].weight.detach() - frozen).abs().max()))
        return CE(out, target)

    r = range_test(model, opt, loss_fn, loader(digits()), num_iter=10, diverge=None, progress=False)
    assert r.config["group_lr_ratios"] == pytest.approx([0.0, 1.0, 0.1])
    np.testing.assert_array_equal(r.group_lrs[:, 0], np.zeros(10))
    np.testing.assert_array_equal(r.group_lrs[:, 1], r.lr)
    np.testing.assert_allclose(r.group_lrs[:, 2], r.lr * 0.1, rtol=1e-12)
    assert len(moved) == 10 and max(moved) == 0.0


def test_with_no_group_at_a_positive_lr_every_group_follows_the_ramp():
    model = mlp()
    opt = torch.optim.SGD(
        [{"params": model[0].parameters(), "lr": 0.0}, {"params": model[3].parameters(), "lr": 0.0}]
    )
    r = run(model, opt, num_iter=10, diverge=None)
    assert r.config["group_lr_ratios"] == [1.0, 1.0]
    np.testing.assert_array_equal(r.group_lrs, np.stack([r.lr, r.lr], axis=1))


def test_tensor_lr_is_set_in_place_and_restored():
    model = mlp()
    lr = torch.tensor(0.01)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    counter = StepCounter(opt)
    r = run(model, opt, num_iter=12, end_lr=1e-2, diverge=None)
    counter.remove()
    np.testing.assert_allclose([g[0] for g in counter.lrs], r.lr, rtol=1e-6)
    assert opt.param_groups[0]["lr"] is lr and torch.equal(lr, torch.tensor(0.01))


# -- accumulation, cycling, exhaustion --------------------------------------------------------
def test_accumulation_advances_once_per_update():
    x, y = digits()
    batches = Counting([(x[i : i + 32], y[i : i + 32]) for i in range(0, 32 * 10, 32)])
    model, opt = setup()
    counter = StepCounter(opt)
    micro: list[float] = []

    def loss_fn(out, target):
        loss = CE(out, target)
        micro.append(float(loss.detach()))
        return loss

    r = range_test(
        model,
        opt,
        loss_fn,
        batches,
        num_iter=12,
        accumulation_steps=3,
        start_lr=1e-3,
        end_lr=1.0,
        mode="linear",
        diverge=None,
        progress=False,
    )
    counter.remove()
    assert len(r) == 12 and counter.steps == 12
    assert batches.batches == 36 and len(micro) == 36
    np.testing.assert_allclose(r.lr, [linear_formula(i, 1e-3, 1.0, 12) for i in range(12)])
    np.testing.assert_allclose(r.loss, np.mean(np.reshape(micro, (12, 3)), axis=1), rtol=1e-6)
    assert r.config["accumulation_steps"] == 3


def test_short_loader_cycles():
    x, y = digits()
    batches = Counting([(x[i : i + 32], y[i : i + 32]) for i in range(0, 96, 32)])  # 3 batches
    r = range_test(*setup(), CE, batches, num_iter=20, diverge=None, progress=False)
    assert r.stop_reason == "end" and len(r) == 20
    assert batches.passes == 7 and batches.batches == 20
    assert r.config["data_passes"] == 7


def test_one_shot_iterator_is_exhausted():
    x, y = digits()

    def gen():
        for i in range(15):
            yield x[i * 20 : (i + 1) * 20], y[i * 20 : (i + 1) * 20]

    model, opt = setup()
    before = capture(model, opt)
    r = range_test(model, opt, CE, gen(), num_iter=30, diverge=None, progress=False)
    assert r.stop_reason == "data_exhausted" and len(r) == 15
    assert "15 of 30" in r.message
    assert_same(before, capture(model, opt))
    # With accumulation, an incomplete last update is dropped.
    r = range_test(
        model,
        opt,
        CE,
        iter(list(gen())),
        num_iter=30,
        accumulation_steps=4,
        diverge=None,
        progress=False,
    )
    assert r.stop_reason == "data_exhausted" and len(r) == 3


def test_iterator_long_enough_ends_normally():
    x, y = digits()
    it = iter([(x[i : i + 20], y[i : i + 20]) for i in range(0, 200, 20)])
    r = range_test(*setup(), CE, it, num_iter=10, diverge=None, progress=False)
    assert r.stop_reason == "end" and len(r) == 10


# -- stopping --------------------------------------------------------------------------------
def test_divergence_stops_at_the_first_crossing():
    model, opt = setup()
    r = run(model, opt, start_lr=1e-3, end_lr=1e3, num_iter=100, smooth=0.9)
    assert r.stop_reason == "diverged", r.message
    s = r.smoothed_loss
    best = np.minimum.accumulate(s)
    crossed = [i for i in range(DIVERGE_WARMUP, len(s)) if s[i] > 4 * best[i]]
    assert crossed == [len(s) - 1]
    assert len(r) < 100 and "4 x best" in r.message


def test_diverge_none_runs_to_the_end():
    model, opt = setup()
    r = run(model, opt, start_lr=1e-3, end_lr=1e3, num_iter=40, diverge=None)
    assert r.stop_reason in ("end", "non_finite_loss")


def nan_at(k: int, loss_fn=CE):
    calls = {"n": 0}

    def f(out, target):
        calls["n"] += 1
        loss = loss_fn(out, target)
        return loss * float("nan") if calls["n"] > k else loss

    return f


def test_nan_loss_mid_test_stops_without_recording_it():
    model, opt = setup()
    before = capture(model, opt)
    r = range_test(model, opt, nan_at(7), loader(digits()), num_iter=30, progress=False)
    assert r.stop_reason == "non_finite_loss" and len(r) == 7
    assert np.all(np.isfinite(r.loss)) and "update 7" in r.message
    assert_same(before, capture(model, opt))


def test_nan_loss_at_the_first_step_returns_an_empty_result(tmp_path):
    model, opt = setup()
    before = capture(model, opt)
    r = range_test(model, opt, nan_at(0), loader(digits()), num_iter=30, progress=False)
    assert r.stop_reason == "non_finite_loss" and len(r) == 0
    assert "first update" in r.message and "nan" in r.message
    assert r.group_lrs.shape == (0, 1)
    assert_same(before, capture(model, opt))
    back = cyclr.RangeTestResult.load(r.save(tmp_path / "r.json"))
    assert back.stop_reason == "non_finite_loss" and len(back) == 0


# -- validation subset -----------------------------------------------------------------------
def test_validation_scores_the_same_few_batches_every_k_updates():
    x, y = digits()
    val = Counting(loader((x[1000:], y[1000:]), batch_size=50, shuffle=True))
    model = mlp()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    eval_inputs: list[torch.Tensor] = []
    train_calls = {"n": 0}

    def hook(module, args):
        if module.training:
            train_calls["n"] += 1
        else:
            eval_inputs.append(args[0].clone())

    handle = model.register_forward_pre_hook(hook)
    r = run(
        model,
        opt,
        loader((x[:1000], y[:1000])),
        num_iter=23,
        val_loader=val,
        val_every=5,
        val_batches=3,
        diverge=None,
    )
    handle.remove()
    assert list(r.val_step) == [0, 5, 10, 15, 20]
    assert r.val_loss.shape == (5,) and r.val_metric.shape == (5,)
    assert np.all(np.isfinite(r.val_loss)) and np.all((r.val_metric >= 0) & (r.val_metric <= 1))
    assert val.passes == 1 and val.batches == 3  # drawn once, never the whole set
    assert len(eval_inputs) == 5 * 3 and train_calls["n"] == 23
    for k in range(1, 5):  # the same three batches each time
        for j in range(3):
            assert torch.equal(eval_inputs[3 * k + j], eval_inputs[j])
    assert r.config["val_every"] == 5 and r.config["val_batches"] == 3
    assert all(m.training for m in model.modules())


def test_validation_loss_is_the_eval_mode_loss_of_those_batches():
    x, y = digits()
    vb = [(x[1500 + i * 40 : 1540 + i * 40], y[1500 + i * 40 : 1540 + i * 40]) for i in range(4)]
    model = mlp(dropout=0.5)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    losses: list[float] = []

    def loss_fn(out, target):
        loss = CE(out, target)
        if not torch.is_grad_enabled():
            losses.append(float(loss))
        return loss

    r = range_test(
        model,
        opt,
        loss_fn,
        loader((x[:1000], y[:1000])),
        num_iter=10,
        val_loader=vb,
        val_every=4,
        val_batches=2,
        progress=False,
    )
    assert list(r.val_step) == [0, 4, 8]
    np.testing.assert_allclose(r.val_loss, np.mean(np.reshape(losses, (3, 2)), 1), rtol=1e-6)


# -- results ---------------------------------------------------------------------------------
def test_json_and_csv_round_trip(tmp_path):
    x, y = digits()
    r = run(
        *setup(),
        num_iter=15,
        val_loader=loader((x[1500:], y[1500:])),
        val_every=4,
        val_batches=2,
        seed=3,
    )
    path = r.save(tmp_path / "rt.json")
    json.loads(path.read_text())
    back = cyclr.RangeTestResult.load(path)
    for name in (
        "lr",
        "loss",
        "smoothed_loss",
        "metric",
        "group_lrs",
        "val_step",
        "val_loss",
        "val_metric",
    ):
        np.testing.assert_array_equal(getattr(back, name), getattr(r, name), err_msg=name)
    assert back.config == r.config and back.versions == r.versions
    assert (back.mode, back.metric_name, back.stop_reason, back.message) == (
        r.mode,
        r.metric_name,
        r.stop_reason,
        r.message,
    )
    rows = r.to_csv(tmp_path / "rt.csv").read_text().splitlines()
    assert len(rows) == 16


def test_seed_makes_the_test_reproducible_and_leaves_rng_alone():
    results = []
    for _ in range(2):
        model = mlp(5)
        opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        torch.manual_seed(1234)
        expected_next = torch.rand(3)
        torch.manual_seed(1234)
        results.append(run(model, opt, num_iter=15, seed=7, diverge=None))
        assert torch.equal(torch.rand(3), expected_next)
    np.testing.assert_array_equal(results[0].loss, results[1].loss)
    np.testing.assert_array_equal(results[0].metric, results[1].metric)
    assert results[0].config["seed"] == 7


def test_no_output_unless_asked(capsys):
    model, opt = setup()
    range_test(model, opt, CE, loader(digits()), num_iter=10)  # progress=None, not a TTY
    out, err = capsys.readouterr()
    assert out == "" and err == ""
    range_test(model, opt, CE, loader(digits()), num_iter=10, progress=True)
    out, err = capsys.readouterr()
    assert out == "" and "range test" in err


def test_batch_fn_and_dict_or_tuple_inputs():
    x, y = digits()

    class TwoInputs(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = nn.Linear(32, 10), nn.Linear(32, 10)

        def forward(self, left, right):
            return self.a(left) + self.b(right)

    model = TwoInputs()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    dict_batches = [
        {"left": x[i : i + 40, :32], "right": x[i : i + 40, 32:], "label": y[i : i + 40]}
        for i in range(0, 400, 40)
    ]
    r = range_test(
        model,
        opt,
        CE,
        dict_batches,
        num_iter=10,
        progress=False,
        batch_fn=lambda b: ({"left": b["left"], "right": b["right"]}, b["label"]),
    )
    assert len(r) == 10 and r.metric_name == "accuracy"
    tuple_batches = [
        ((x[i : i + 40, :32], x[i : i + 40, 32:]), y[i : i + 40]) for i in range(0, 400, 40)
    ]
    assert len(range_test(model, opt, CE, tuple_batches, num_iter=10, progress=False)) == 10
    with pytest.raises(TypeError, match="batch_fn"):
        range_test(model, opt, CE, dict_batches, num_iter=10, progress=False)


def test_runs_inside_no_grad():
    model, opt = setup()
    with torch.no_grad():
        r = run(model, opt, num_iter=10)
    assert len(r) == 10


def test_default_exp_test_gives_a_readable_curve_on_a_bn_cnn():
    """Defaults only: the smoothed loss falls, bottoms out at a plausible LR, then rises."""
    data = mnist1d()
    model = bn_cnn(channels=16)
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    r = range_test(model, opt, CE, loader(data, batch_size=100), progress=False, seed=0)
    assert r.stop_reason in ("end", "diverged")
    s = r.smoothed_loss
    low = int(np.argmin(s))
    assert 1e-3 < r.lr[low] < 5.0
    assert s[low] < s[0] - 0.05
    assert s[-1] > s[low]


# -- bad input ---------------------------------------------------------------------------------
BAD = [
    (dict(start_lr=0.1, end_lr=0.1), ValueError, "start_lr"),
    (dict(start_lr=1.0, end_lr=0.1), ValueError, "start_lr"),
    (dict(start_lr=0.0), ValueError, "start_lr"),
    (dict(start_lr=-1e-3), ValueError, "start_lr"),
    (dict(start_lr=float("nan")), ValueError, "start_lr"),
    (dict(end_lr=float("inf")), ValueError, "end_lr"),
    (dict(end_lr="1"), TypeError, "end_lr"),
    (dict(num_iter=MIN_ITER - 1), ValueError, "num_iter"),
    (dict(num_iter=20.0), TypeError, "num_iter"),
    (dict(mode="cosine"), ValueError, "mode"),
    (dict(smooth=1.0), ValueError, "smooth"),
    (dict(smooth=-0.1), ValueError, "smooth"),
    (dict(diverge=1.0), ValueError, "diverge"),
    (dict(diverge=float("nan")), ValueError, "diverge"),
    (dict(accumulation_steps=0), ValueError, "accumulation_steps"),
    (dict(val_every=0), ValueError, "val_every"),
    (dict(val_batches=0), ValueError, "val_batches"),
    (dict(metric="f1"), ValueError, "metric"),
    (dict(metric=3), TypeError, "metric"),
    (dict(scaler=object()), TypeError, "scaler"),
    (dict(autocast_dtype="fp16"), TypeError, "autocast_dtype"),
    (dict(device="not-a-device"), ValueError, "device"),
    (dict(progress="yes"), TypeError, "progress"),
    (dict(seed=-1), ValueError, "seed"),
    (dict(seed=2**32), ValueError, "seed"),
    (dict(snapshot="gpu"), ValueError, "snapshot"),
    (dict(scheduler=object()), TypeError, "scheduler"),
    (dict(batch_fn=5), TypeError, "batch_fn"),
    (dict(val_loader=[]), ValueError, "val_loader"),
    (dict(val_loader=5), TypeError, "val_loader"),
]


@pytest.mark.parametrize(
    ("kwargs", "error", "name"),
    BAD,
    ids=[",".join(f"{k}={v!r}" for k, v in kw.items()) for kw, _, _ in BAD],
)
def test_bad_options_are_rejected_before_anything_changes(kwargs, error, name):
    model, opt = setup()
    before = capture(model, opt)
    with pytest.raises(error, match=name) as info:
        run(model, opt, **kwargs)
    value = next(iter(kwargs.values()))
    if isinstance(value, (int, float, str)):  # the message names the value too
        assert repr(value) in str(info.value)
    assert_same(before, capture(model, opt))


@pytest.mark.parametrize(
    ("device", "cuda", "mps", "message"),
    [
        (
            "cuda",
            0,
            True,
            "device='cuda' is not available on this machine (torch.cuda.is_available() is False)",
        ),
        (
            torch.device("cuda", 0),
            0,
            True,
            "device='cuda:0' is not available on this machine (torch.cuda.is_available() is False)",
        ),
        (
            "cuda:2",
            2,
            True,
            "device='cuda:2' is not available on this machine (it has 2 CUDA devices, "
            "cuda:0 to cuda:1)",
        ),
        (
            "mps",
            1,
            False,
            "device='mps' is not available on this machine "
            "(torch.backends.mps.is_available() is False)",
        ),
        (
            "meta",
            1,
            True,
            "device='meta' cannot run a range test: meta tensors hold no data; pass a real "
            "device such as 'cpu' or 'cuda'",
        ),
    ],
    ids=["cuda-none", "cuda-device-object", "cuda-ordinal", "mps", "meta"],
)
def test_an_unavailable_device_is_rejected_before_anything_runs(
    monkeypatch, device, cuda, mps, message
):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda > 0)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: cuda)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: mps)
    model, opt = setup()
    data = Counting(loader(digits()))
    before = capture(model, opt)
    with pytest.raises(ValueError) as info:
        range_test(model, opt, CE, data, num_iter=10, device=device, progress=False)
    assert str(info.value) == message
    assert data.passes == 0 and data.batches == 0
    assert_same(before, capture(model, opt))


def test_a_model_on_the_meta_device_is_rejected():
    model = mlp().to("meta")
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError) as info:
        range_test(model, opt, CE, loader(digits()), num_iter=10, progress=False)
    assert str(info.value) == (
        "the model's parameters are on the meta device, which holds no data: move the model "
        "to a real device (or pass device=) first"
    )


def test_empty_or_unusable_training_setups():
    model, opt = setup()
    before = capture(model, opt)
    with pytest.raises(ValueError, match="train_loader is empty"):
        range_test(model, opt, CE, [], progress=False)
    with pytest.raises(ValueError, match="train_loader yielded fewer"):
        range_test(model, opt, CE, iter([]), num_iter=10, progress=False)
    with pytest.raises(ValueError, match="train_loader yielded fewer"):
        range_test(model, opt, CE, (b for b in []), num_iter=10, progress=False)
    with pytest.raises(ValueError, match="train_loader yielded fewer"):
        range_test(model, opt, CE, (b for b in []), progress=False)  # one ramp: no refusal
    with pytest.raises(TypeError, match="train_loader"):
        range_test(model, opt, CE, 42, progress=False)
    with pytest.raises(ValueError, match="val_loader is empty"):
        run(model, opt, val_loader=iter([]), num_iter=10)
    with pytest.raises(ValueError, match="val_loader is empty"):
        run(model, opt, val_loader=iter([]))
    with pytest.raises(TypeError, match="model"):
        range_test(lambda x: x, opt, CE, loader(digits()), progress=False)
    with pytest.raises(TypeError, match="optimizer"):
        range_test(model, "sgd", CE, loader(digits()), progress=False)
    with pytest.raises(TypeError, match="loss_fn"):
        range_test(model, opt, "ce", loader(digits()), progress=False)
    assert_same(before, capture(model, opt))

    frozen = mlp()
    frozen.requires_grad_(False)
    fopt = torch.optim.SGD(frozen.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="no trainable parameters"):
        range_test(frozen, fopt, CE, loader(digits()), progress=False)
    other = torch.optim.SGD(mlp(1).parameters(), lr=0.1)
    with pytest.raises(ValueError, match="optimizer holds none"):
        range_test(model, other, CE, loader(digits()), progress=False)
    lazy = nn.Sequential(nn.LazyLinear(10))
    with pytest.raises(ValueError, match="lazy"):
        range_test(
            lazy, torch.optim.SGD(lazy.parameters(), lr=0.1), CE, loader(digits()), progress=False
        )


def test_bad_loss_value_is_a_type_error_and_restores():
    model, opt = setup()
    before = capture(model, opt)
    with pytest.raises(TypeError, match="scalar tensor"):
        range_test(
            model, opt, lambda o, t: CE(o, t, reduction="none"), loader(digits()), progress=False
        )
    with pytest.raises(TypeError, match="scalar tensor"):
        range_test(model, opt, lambda o, t: 1.0, loader(digits()), progress=False)
    assert_same(before, capture(model, opt))


def test_the_settings_take_exactly_range_tests_arguments_by_name() -> None:
    """``check_args`` is called with range_test's arguments by keyword: the same names, so a
    renamed argument fails here and under mypy, never silently."""
    import inspect

    from cyclr.torch._args import check_args

    ours = inspect.signature(check_args).parameters
    theirs = inspect.signature(range_test).parameters
    assert set(ours) == set(theirs)
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in ours.values())


def test_the_result_config_is_the_settings_json_copy() -> None:
    model, opt = setup()
    r = run(model, opt, num_iter=10, mode="linear", seed=2, val_loader=loader(digits()))
    assert {k: r.config[k] for k in ("start_lr", "end_lr", "num_iter", "mode", "seed")} == {
        "start_lr": 1e-3,
        "end_lr": 1.0,
        "num_iter": 10,
        "mode": "linear",
        "seed": 2,
    }
    assert (r.config["val_every"], r.config["val_batches"]) == (10, 4)
    r = run(model, opt, num_iter=10)
    assert (r.config["val_every"], r.config["val_batches"]) == (None, None)
