"""``range_test(..., loss_fn=None, loss_of_batch=fn)``: a model that computes its own loss.

``fn(model, batch)`` returns the scalar loss, or ``(loss, output, target)`` for the metric. The
reference everywhere is the same test through ``loss_fn``: on the same seed the two must record
the same curve, bit for bit, and leave the state as it was, bit for bit.
"""

from __future__ import annotations

import collections
import json
import random
from pathlib import Path

import numpy as np
import pytest
import torch
from tests.support.distributed import run_ranks, worker_main
from tests.support.models import bn_cnn, digits, loader, mlp, mnist1d, warm_up
from tests.support.probes import Boom, StepCounter
from tests.support.state import assert_same, assert_same_curve, capture
from torch import nn

from cyclr.torch import auto_schedule, find_bounds, range_test, sweep

CE = nn.functional.cross_entropy


@pytest.fixture(autouse=True, scope="module")
def _data_loaded_before_any_state_is_captured():
    digits(), mnist1d()  # (importing scikit-learn draws from Python's RNG)


def ce_of_batch(model, batch):
    """The loss only: what a model that computes its own loss gives back."""
    x, y = batch
    return CE(model(x), y)


def ce_with_output(model, batch):
    x, y = batch
    out = model(x)
    return CE(out, y), out, y


def _pair(**kw):
    """The same range test twice on twin setups: through loss_fn, then through loss_of_batch."""
    results = []
    fn = kw.pop("fn", ce_with_output)
    for use_fn in (False, True):
        model = mlp(seed=3)  # with dropout: the test's seed must drive both runs alike
        opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        warm_up(model, opt, digits())
        args = (None, loader(digits())) if use_fn else (CE, loader(digits()))
        extra = {"loss_of_batch": fn} if use_fn else {}
        results.append(range_test(model, opt, *args, progress=False, seed=7, **kw, **extra))
    return results


# -- the curve ---------------------------------------------------------------------------------
def test_the_curve_is_bitwise_that_of_the_equivalent_loss_fn():
    ref, got = _pair(num_iter=40, start_lr=1e-4, end_lr=1.0)
    assert got.stop_reason == "end" and len(got) == 40
    assert_same_curve(ref, got)
    assert got.metric_name == "accuracy" and np.isfinite(got.metric).all()
    assert got.config["loss_of_batch"] == "ce_with_output" and "loss_of_batch" not in ref.config


def test_a_bare_loss_records_no_metric_under_auto_but_the_same_loss():
    ref, got = _pair(num_iter=25, fn=ce_of_batch)
    np.testing.assert_array_equal(got.loss, ref.loss)
    assert ref.metric_name == "accuracy"
    assert got.metric_name is None and got.metric is None


def test_a_user_metric_gets_the_output_and_target_of_the_tuple():
    seen = []

    def top2(output, target):
        seen.append((output.requires_grad, tuple(output.shape), tuple(target.shape)))
        return (output.topk(2, dim=1).indices == target[:, None]).any(1).float().mean()

    ref, got = _pair(num_iter=20, metric=top2)
    assert got.metric_name == "top2" and ref.metric_name == "top2"
    np.testing.assert_array_equal(got.metric, ref.metric)
    assert ((got.metric >= 0) & (got.metric <= 1)).all() and got.metric[-1] > 0
    assert set(seen) == {(False, (64, 10), (64,))}  # detached, whole batches


def test_accumulation_averages_the_micro_batches_like_loss_fn():
    calls = []

    def counted(model, batch):
        calls.append(len(batch[1]))
        return ce_with_output(model, batch)

    ref, got = _pair(num_iter=15, accumulation_steps=3, fn=counted)
    assert_same_curve(ref, got)
    assert len(calls) == 45 and got.config["accumulation_steps"] == 3


def test_validation_scores_the_same_fn_in_eval_mode_without_gradients():
    modes = []

    def watched(model, batch):
        modes.append((model.training, torch.is_grad_enabled()))
        return ce_with_output(model, batch)

    val = loader(digits(), shuffle=False, n=256)
    ref, got = _pair(num_iter=20, val_loader=val, val_every=5, val_batches=2, fn=watched)
    assert_same_curve(ref, got)
    assert got.val_step.tolist() == [0, 5, 10, 15] and np.isfinite(got.val_metric).all()
    # 20 updates in train mode with gradients; 4 validations x 2 batches in eval mode without
    assert modes.count((True, True)) == 20 and modes.count((False, False)) == 8
    assert len(modes) == 28


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_autocast_runs_around_fn_and_a_grad_scaler_steps_like_with_loss_fn(dtype):
    inside = []

    def watched(model, batch):
        inside.append(torch.is_autocast_enabled("cpu"))
        x, y = batch
        out = model(x)
        inside.append(out.dtype)
        return CE(out, y), out, y

    ref, got = _pair(
        num_iter=15,
        scaler=torch.amp.GradScaler("cpu", init_scale=2.0**10),
        autocast_dtype=dtype,
        fn=watched,
    )
    assert inside[0] is True and inside[1] == dtype
    assert got.config["autocast_dtype"] == str(dtype).replace("torch.", "")
    assert got.config["scaler"] == "GradScaler"
    assert_same_curve(ref, got)
    assert len(got) == 15 and np.isfinite(got.loss).all()


def test_the_batch_goes_to_fn_as_the_loader_yields_it():
    """A dict batch (e.g. tokenised text) and a namedtuple batch reach fn whole, moved."""
    x, y = digits()
    Pair = collections.namedtuple("Pair", "features labels")
    dict_batches = [{"features": x[i : i + 32], "labels": y[i : i + 32]} for i in range(0, 320, 32)]
    tuple_batches = [Pair(b["features"], b["labels"]) for b in dict_batches]
    got = []
    for batches, get in ((dict_batches, dict.__getitem__), (tuple_batches, getattr)):
        seen = []

        def fn(model, batch, get=get, seen=seen):
            seen.append(type(batch).__name__)
            out = model(get(batch, "features"))
            return CE(out, get(batch, "labels")), out, get(batch, "labels")

        model = mlp(seed=3)
        opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        got.append(range_test(model, opt, None, batches, loss_of_batch=fn, num_iter=12, seed=1))
        assert set(seen) == {"dict" if batches is dict_batches else "Pair"}
    assert_same_curve(got[0], got[1])


# -- the restore -------------------------------------------------------------------------------
K = 6  # the update on which the failure scenarios strike


class DictMnist1d(torch.utils.data.Dataset):
    """MNIST-1D as dicts: the default collate gives ``{"x": (N, 1, 40), "y": (N,)}`` batches."""

    def __init__(self) -> None:
        self.x, self.y = mnist1d()

    def __len__(self) -> int:
        return len(self.y)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        return {"x": self.x[i], "y": self.y[i]}


class SelfLoss(nn.Module):
    """A model whose forward computes its own loss from a dict batch (as Hugging Face's do)."""

    def __init__(self) -> None:
        super().__init__()
        self.net = bn_cnn(seed=1)

    def forward(self, x, y=None):
        logits = self.net(x)
        return {"logits": logits, "loss": None if y is None else CE(logits, y)}


def failing(kind: str, k: int = K):
    calls = {"n": 0}

    def fn(model, batch):
        out = model(**batch)
        calls["n"] += 1
        if calls["n"] > k:
            if kind == "error":
                raise Boom("loss exploded")
            if kind == "keyboard_interrupt":
                raise KeyboardInterrupt
        return out["loss"], out["logits"], batch["y"]

    return fn


@pytest.mark.parametrize("scenario", ["end", "diverged", "error", "keyboard_interrupt"])
@pytest.mark.parametrize("attach", ["none", "scheduler+scaler"])
def test_state_is_bitwise_identical_after(scenario, attach):
    model = SelfLoss()
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)
    scheduler = scaler = None
    if attach != "none":
        scheduler = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=100)
        scaler = torch.amp.GradScaler("cpu", init_scale=2.0**12, growth_interval=3)
    warm_up(model.net, opt, mnist1d(), steps=5, scaler=scaler)
    if scheduler is not None:
        for _ in range(5):
            scheduler.step()
    model.net[4].eval()  # a BatchNorm frozen in eval mode: its mode must come back
    g = torch.Generator().manual_seed(5)
    data = torch.utils.data.DataLoader(DictMnist1d(), batch_size=50, shuffle=True, generator=g)
    random.seed(11), np.random.seed(11), torch.manual_seed(11)
    before = capture(model, opt, scheduler, scaler)
    generator = g.get_state()
    expected = (random.random(), np.random.rand(), torch.rand(2))
    random.setstate(before["rng_python"])
    np.random.set_state(before["rng_numpy"])
    torch.set_rng_state(before["rng_torch"])

    kw = dict(num_iter=25, start_lr=1e-4, end_lr=0.5, scheduler=scheduler, scaler=scaler)
    fn = failing(scenario)
    if scenario == "diverged":
        kw.update(start_lr=1e-2, end_lr=1e4, num_iter=60, smooth=0.5)
    if scenario in ("error", "keyboard_interrupt"):
        error = KeyboardInterrupt if scenario == "keyboard_interrupt" else Boom
        with pytest.raises(error) as info:
            range_test(model, opt, None, data, loss_of_batch=fn, progress=False, **kw)
        partial = info.value.range_test_result
        assert partial.stop_reason == ("interrupted" if error is KeyboardInterrupt else "error")
        assert len(partial) == K and partial.metric_name == "accuracy"
    else:
        r = range_test(model, opt, None, data, loss_of_batch=fn, progress=False, **kw)
        assert r.stop_reason in (("end",) if scenario == "end" else ("diverged", "non_finite_loss"))
        assert len(r) == 25 if scenario == "end" else len(r) < 60
    assert_same(before, capture(model, opt, scheduler, scaler))
    assert not model.net[4].training and model.net[1].training
    assert torch.equal(g.get_state(), generator)
    assert (random.random(), np.random.rand()) == expected[:2]
    assert torch.equal(torch.rand(2), expected[2])


def test_a_loss_of_batch_module_is_restored_too():
    """A callable module (e.g. a loss head with a learned temperature) passed as the fn."""

    class Head(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.log_t = nn.Parameter(torch.zeros(()))

        def forward(self, model, batch):
            x, y = batch
            return CE(model(x) / self.log_t.exp(), y)

    model, head = mlp(), Head()
    opt = torch.optim.SGD([*model.parameters(), *head.parameters()], lr=0.1, momentum=0.9)
    before = (capture(model, opt), head.log_t.detach().clone())
    r = range_test(model, opt, None, loader(digits()), loss_of_batch=head, num_iter=12)
    assert r.config["loss_of_batch"] == "Head" and len(r) == 12
    assert_same(before[0], capture(model, opt))
    assert torch.equal(head.log_t, before[1]) and head.log_t.grad is None


# -- bad arguments -----------------------------------------------------------------------------
def _setup():
    model = mlp()
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    return model, opt


@pytest.mark.parametrize(
    ("loss_fn", "kw", "error", "match"),
    [
        (None, {}, TypeError, r"needs loss_fn .* or loss_of_batch .*; both are None"),
        (CE, {"loss_of_batch": ce_of_batch}, TypeError, "give loss_fn or loss_of_batch, not both"),
        (None, {"loss_of_batch": "ce"}, TypeError, "loss_of_batch must be callable.*'ce'"),
        (
            None,
            {"loss_of_batch": ce_of_batch, "batch_fn": lambda b: b},
            TypeError,
            "batch_fn=.* is not used with loss_of_batch",
        ),
    ],
)
def test_bad_loss_arguments_are_refused_before_anything_runs(loss_fn, kw, error, match):
    model, opt = _setup()
    data = loader(digits())
    counter = StepCounter(opt)
    before = capture(model, opt)
    for call in (range_test, find_bounds, auto_schedule, sweep):
        extra = {"epochs": 2} if call is auto_schedule else {}
        with pytest.raises(error, match=match):
            call(model, opt, loss_fn, data, progress=False, **kw, **extra)
    counter.remove()
    assert counter.steps == 0
    assert_same(before, capture(model, opt))


def per_sample(m, b):
    return CE(m(b[0]), b[1], reduction="none")


def as_float(m, b):
    return CE(m(b[0]), b[1]).item()


def pair(m, b):
    return CE(m(b[0]), b[1]), b[1]


def as_dict(m, b):
    return {"loss": CE(m(b[0]), b[1])}


def tuple_of_vector(m, b):
    out = m(b[0])
    return CE(out, b[1], reduction="none"), out, b[1]


@pytest.mark.parametrize(
    ("fn", "match"),
    [
        (
            per_sample,
            r"^loss_of_batch \(per_sample\) must return a scalar tensor, got a tensor "
            r"of shape \(64,\)$",
        ),
        (
            as_float,
            r"^loss_of_batch \(as_float\) must return a scalar loss tensor or \(loss, "
            r"output, target\), got float$",
        ),
        (pair, r"^loss_of_batch \(pair\) must .* got a tuple of length 2$"),
        (as_dict, r"^loss_of_batch \(as_dict\) must .* got dict$"),
        (
            tuple_of_vector,
            r"^loss_of_batch \(tuple_of_vector\) must return a scalar tensor as "
            r"the loss of \(loss, output, target\), got a tensor of shape \(64,\)$",
        ),
    ],
)
def test_a_fn_returning_no_scalar_loss_fails_before_the_first_update(fn, match):
    model, opt = _setup()
    warm_up(model, opt, digits())
    before = capture(model, opt)
    counter = StepCounter(opt)
    with pytest.raises(TypeError, match=match) as info:
        range_test(model, opt, None, loader(digits()), loss_of_batch=fn, progress=False)
    counter.remove()
    assert counter.steps == 0 and len(info.value.range_test_result) == 0
    assert_same(before, capture(model, opt))


@pytest.mark.parametrize("metric", ["accuracy", lambda out, target: 1.0])
def test_a_metric_other_than_auto_needs_the_tuple_form(metric):
    model, opt = _setup()
    counter = StepCounter(opt)
    with pytest.raises(ValueError, match=r"needs output and target: make loss_of_batch return"):
        range_test(model, opt, None, loader(digits()), loss_of_batch=ce_of_batch, metric=metric)
    counter.remove()
    assert counter.steps == 0


# -- find_bounds, auto_schedule, sweep -------------------------------------------------------------
def _twins():
    for use_fn in (False, True):
        model = mlp(seed=2)
        opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        args = (None, loader(digits())) if use_fn else (CE, loader(digits()))
        yield model, opt, args, ({"loss_of_batch": ce_with_output} if use_fn else {})


def test_find_bounds_and_auto_schedule_read_the_same_bounds_as_with_loss_fn():
    found, scheds = [], []
    for model, opt, args, kw in _twins():
        before = capture(model, opt)
        f = find_bounds(model, opt, *args, coarse_iter=30, linear_iter=60, seed=0, **kw)
        assert_same(before, capture(model, opt))
        found.append(f)
        s = auto_schedule(model, opt, *args, epochs=3, coarse_iter=30, linear_iter=60, seed=0, **kw)
        scheds.append(s)
    assert [t.mode for t in found[1].tests] == ["exp", "linear"]
    for a, b in zip(found[0].tests, found[1].tests):
        assert_same_curve(a, b)
    assert found[0].bounds == found[1].bounds == scheds[1].bounds
    assert found[1].bounds.base_lr < found[1].bounds.max_lr
    # the scheduler is applied: the optimizer starts the 1cycle at its first LR
    assert scheds[1].optimizer.param_groups[0]["lr"] == scheds[0].optimizer.param_groups[0]["lr"]


@pytest.mark.parametrize("param", ["momentum", "batch_size"])
def test_sweep_runs_each_value_through_loss_of_batch(param):
    results = []
    for model, opt, args, kw in _twins():
        before = capture(model, opt)
        extra = {"values": [32, 64], "budget": "samples"} if param == "batch_size" else {}
        s = sweep(model, opt, *args, param=param, num_iter=20, seed=0, **kw, **extra)
        assert_same(before, capture(model, opt))
        results.append(s)
    for a, b in zip(results[0].results, results[1].results):
        assert_same_curve(a, b)


def test_sweep_times_batch_sizes_through_loss_of_batch():
    model, opt = _setup()
    calls = []

    def fn(m, b):
        calls.append(len(b[1]))
        return ce_with_output(m, b)

    s = sweep(
        model,
        opt,
        None,
        loader(digits()),
        loss_of_batch=fn,
        param="batch_size",
        values=[64, 32],
        num_iter=20,
        seed=0,
    )
    assert s.config["budget"] == "time" and len(s.config["seconds_per_update"]) == 2
    assert calls.count(64) >= 12 + 20 and calls.count(32) >= 12 + 10  # pilots, then the runs


# -- torch.distributed -----------------------------------------------------------------------------
WORLD = 2


@pytest.mark.slow
@pytest.mark.skipif(not torch.distributed.is_available(), reason="no torch.distributed")
def test_ddp_all_reduces_the_loss_of_batch_like_the_loss_fn(tmp_path):
    """Two gloo ranks run a DDP model through loss_fn and through loss_of_batch: the recorded
    curves (means over ranks) are the same on every rank and for both."""
    run_ranks(__file__, WORLD, tmp_path, timeout_s=150)
    out = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in range(WORLD)]
    assert out[0] == out[1]
    assert out[0]["loss_fn"]["loss"] == out[0]["loss_of_batch"]["loss"]
    assert out[0]["loss_of_batch"]["config"]["world_size"] == WORLD
    assert out[0]["loss_of_batch"]["val_metric"] == out[0]["loss_fn"]["val_metric"]
    assert all(r["restored"] for r in out)


def _ddp_worker(rank: int, world: int, out: Path) -> None:
    x, y = digits()
    part = slice(rank * 640, (rank + 1) * 640)  # each rank its own data
    results = {}
    restored = True
    for name in ("loss_fn", "loss_of_batch"):
        model = nn.parallel.DistributedDataParallel(mlp(seed=0, dropout=0.0))
        opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        data = loader((x[part], y[part]), shuffle=False)
        val = loader((x[1280:], y[1280:]), shuffle=False)
        before = capture(model, opt)
        args = (CE,) if name == "loss_fn" else (None,)
        kw = {} if name == "loss_fn" else {"loss_of_batch": ce_with_output}
        r = range_test(
            model, opt, *args, data, num_iter=12, val_loader=val, val_every=4, progress=False, **kw
        )
        try:
            assert_same(before, capture(model, opt))
        except AssertionError:
            restored = False
        d = r.to_dict()
        d["config"].pop("loss_of_batch", None)
        results[name] = d
    results["restored"] = restored
    (out / f"rank{rank}.json").write_text(json.dumps(results))


if __name__ == "__main__":
    worker_main(_ddp_worker)
