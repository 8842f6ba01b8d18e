"""AMP: steps a real (CPU) GradScaler skips do not advance the ramp and are not recorded."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from tests.support.models import digits, mlp
from tests.support.probes import Counting, StepCounter
from tests.support.state import assert_same, capture
from torch import nn

from cyclr.torch import range_test
from cyclr.torch._args import MAX_SKIPPED

CE = nn.functional.cross_entropy


@pytest.fixture(autouse=True)
def _data_loaded_before_any_state_is_captured():
    digits()


def batches(n: int, size: int = 32):
    x, y = digits()
    return Counting(
        [(x[i * size : (i + 1) * size], y[i * size : (i + 1) * size]) for i in range(n)]
    )


def inject_inf(param: torch.Tensor, at: set[int] | None):
    """Make the gradient of ``param`` inf on the given backward calls (all, if ``at`` is None)."""
    calls = {"n": -1}

    def hook(grad):
        calls["n"] += 1
        if at is None or calls["n"] in at:
            return torch.full_like(grad, float("inf"))
        return grad

    return param.register_hook(hook)


def recording(losses: list[float]):
    def loss_fn(out, target):
        loss = CE(out, target)
        losses.append(float(loss.detach()))
        return loss

    return loss_fn


def exp_formula(i, start, end, n):
    return start * (end / start) ** (i / (n - 1))


def test_skipped_steps_do_not_advance_the_ramp():
    model = mlp()
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    scaler = torch.amp.GradScaler("cpu", init_scale=2.0**8)
    data = batches(60)
    skip = {2, 3, 9}
    handle = inject_inf(model[0].weight, skip)
    counter = StepCounter(opt)
    losses: list[float] = []
    before = capture(model, opt, scaler=scaler)
    n = 20
    r = range_test(
        model,
        opt,
        recording(losses),
        data,
        num_iter=n,
        start_lr=1e-4,
        end_lr=1.0,
        scaler=scaler,
        diverge=None,
        progress=False,
    )
    handle.remove()
    counter.remove()
    assert r.stop_reason == "end" and len(r) == n
    assert r.config["skipped_steps"] == 3 and r.config["scaler"] == "GradScaler"
    assert r.config["autocast_dtype"] == "float16"
    np.testing.assert_allclose(r.lr, [exp_formula(i, 1e-4, 1.0, n) for i in range(n)], rtol=1e-12)
    assert counter.steps == n  # real optimizer updates
    assert data.batches == n + 3 == len(losses)
    kept = [loss for i, loss in enumerate(losses) if i not in skip]
    np.testing.assert_allclose(r.loss, kept, rtol=1e-6)
    np.testing.assert_array_equal(np.array(counter.lrs)[:, 0], r.lr)
    assert_same(before, capture(model, opt, scaler=scaler))


def test_skips_from_a_real_overflow():
    """A huge initial scale overflows float16 gradients; the scaler backs off, the ramp waits."""
    model = mlp()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    scaler = torch.amp.GradScaler("cpu", init_scale=2.0**24)
    counter = StepCounter(opt)
    r = range_test(
        model, opt, CE, batches(40), num_iter=15, scaler=scaler, diverge=None, progress=False
    )
    counter.remove()
    assert r.stop_reason == "end" and len(r) == 15 and counter.steps == 15
    assert r.config["skipped_steps"] >= 1
    np.testing.assert_allclose(
        r.lr, [exp_formula(i, 1e-7, 10.0, 15) for i in range(15)], rtol=1e-12
    )
    assert np.all(np.isfinite(r.loss))
    assert scaler.state_dict()["scale"] == 2.0**24


def test_a_skipped_micro_batch_skips_the_whole_update():
    model = mlp()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    scaler = torch.amp.GradScaler("cpu", init_scale=2.0**8)
    data = batches(60)
    handle = inject_inf(model[0].weight, {4})  # second update, second micro-batch
    counter = StepCounter(opt)
    r = range_test(
        model,
        opt,
        CE,
        data,
        num_iter=10,
        accumulation_steps=3,
        scaler=scaler,
        diverge=None,
        progress=False,
    )
    handle.remove()
    counter.remove()
    assert len(r) == 10 and counter.steps == 10 and r.config["skipped_steps"] == 1
    assert data.batches == 33


def test_endless_inf_gradients_stop_the_test_and_blame_the_gradients():
    model = mlp()
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    scaler = torch.amp.GradScaler("cpu", init_scale=2.0**8)
    before = capture(model, opt, scaler=scaler)
    handle = inject_inf(model[0].weight, None)
    losses: list[float] = []
    r = range_test(
        model, opt, recording(losses), batches(10), num_iter=10, scaler=scaler, progress=False
    )
    handle.remove()
    assert r.stop_reason == "non_finite_loss" and len(r) == 0
    assert r.config["skipped_steps"] == MAX_SKIPPED + 1
    assert len(losses) == MAX_SKIPPED + 1 and np.all(np.isfinite(losses))
    assert r.message == (
        f"the GradScaler skipped every step ({MAX_SKIPPED + 1} in a row from the first update, "
        "lr=1e-07) because of inf/NaN gradients; the losses were finite. Nothing was recorded: "
        "start at a smaller start_lr, or give the GradScaler a smaller init_scale"
    )
    assert_same(before, capture(model, opt, scaler=scaler))


def test_inf_gradients_after_some_updates_name_the_update():
    model = mlp()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    scaler = torch.amp.GradScaler("cpu", init_scale=2.0**8)
    handle = inject_inf(model[0].weight, set(range(4, 200)))
    r = range_test(
        model, opt, CE, batches(10), num_iter=80, scaler=scaler, diverge=None, progress=False
    )
    handle.remove()
    assert r.stop_reason == "non_finite_loss" and len(r) == 4
    lr = exp_formula(4, 1e-7, 10.0, 80)
    assert r.message == (
        f"the GradScaler skipped {MAX_SKIPPED + 1} steps in a row at update 4 (lr={lr:.3g}) "
        "because of inf/NaN gradients; the losses were finite"
    )


def test_suggest_on_a_curve_the_scaler_skipped_entirely_blames_the_gradients():
    from cyclr.suggest import SuggestionError

    model = mlp()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    scaler = torch.amp.GradScaler("cpu", init_scale=2.0**8)
    handle = inject_inf(model[0].weight, None)
    r = range_test(model, opt, CE, batches(10), num_iter=10, scaler=scaler, progress=False)
    handle.remove()
    with pytest.raises(SuggestionError) as info:
        r.suggest()
    assert "the GradScaler skipped every step" in str(info.value)
    assert "inf/NaN gradients" in str(info.value)
    assert "all NaN" not in str(info.value)


def test_autocast_can_be_turned_off_or_chosen():
    model = mlp()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    dtypes: list[torch.dtype] = []

    def loss_fn(out, target):
        dtypes.append(out.dtype)
        return CE(out, target)

    scaler = torch.amp.GradScaler("cpu")
    r = range_test(
        model,
        opt,
        loss_fn,
        batches(10),
        num_iter=10,
        scaler=scaler,
        autocast_dtype=False,
        progress=False,
    )
    assert set(dtypes) == {torch.float32} and r.config["autocast_dtype"] is None
    dtypes.clear()
    r = range_test(
        model, opt, loss_fn, batches(10), num_iter=10, autocast_dtype=torch.bfloat16, progress=False
    )
    assert set(dtypes) == {torch.bfloat16} and r.config["autocast_dtype"] == "bfloat16"
