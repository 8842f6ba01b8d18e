"""After a range test, however it ends, the training state is bitwise what it was before."""

from __future__ import annotations

import os
import random

import numpy as np
import pytest
import torch
from tests.support.models import bn_cnn, digits, loader, mlp, mnist1d, warm_up
from tests.support.probes import Boom
from tests.support.state import assert_same, capture
from torch import nn

from cyclr.torch import range_test
from cyclr.torch._snapshot import TrainingState

CE = nn.functional.cross_entropy


@pytest.fixture(autouse=True, scope="module")
def _data_loaded_before_any_state_is_captured():
    digits(), mnist1d()  # (importing scikit-learn draws from Python's RNG)


K = 6  # the update on which the failure scenarios strike


def failing_loss(kind: str, k: int = K):
    """A loss that turns NaN, raises, or is interrupted on its (k+1)-th call."""
    calls = {"n": 0}

    def loss_fn(out, target):
        calls["n"] += 1
        if calls["n"] > k:
            if kind == "nan":
                return CE(out, target) * float("nan")
            if kind == "loss_error":
                raise Boom("loss exploded")
            if kind == "keyboard_interrupt":
                raise KeyboardInterrupt
        return CE(out, target)

    return loss_fn


def failing_forward(model: nn.Module, k: int = K):
    calls = {"n": 0}

    def hook(module, args, out):
        if module.training:
            calls["n"] += 1
            if calls["n"] > k:
                raise Boom("forward exploded")

    return model.register_forward_hook(hook)


class Rebinding(nn.Module):
    """Rebinds its buffers in forward, as hand-written statistics and step counters do."""

    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.inner = inner
        self.register_buffer("steps", torch.zeros((), dtype=torch.int64))
        self.register_buffer("running_mean", torch.zeros(10))

    def forward(self, x):
        out = self.inner(x)
        if self.training:
            self.steps = self.steps + 1
            self.running_mean = 0.9 * self.running_mean + 0.1 * out.detach().mean(0)
        return out

    def __getitem__(self, i):
        return self.inner[i]


def mid_training(attach: str, opt_kind: str = "sgd", rebinding: bool = False):
    """A BN CNN a few steps into training: momentum, BN statistics, grads, a scheduler, AMP."""
    data = mnist1d()
    model = bn_cnn(seed=1)
    if rebinding:
        model = Rebinding(model)
    if opt_kind == "sgd":
        opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)
    else:
        opt = torch.optim.AdamW(
            [
                {"params": list(model.parameters())[:2], "lr": 1e-3},
                {"params": list(model.parameters())[2:], "lr": 3e-3},
            ]
        )
    scheduler = scaler = None
    if "scheduler" in attach:
        scheduler = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=100)
    if "scaler" in attach:
        scaler = torch.amp.GradScaler("cpu", init_scale=2.0**12, growth_interval=3)
    warm_up(model, opt, data, steps=5, scaler=scaler)
    if scheduler is not None:
        for _ in range(5):
            scheduler.step()
    model[4].eval()  # one BatchNorm frozen in eval mode; its mode must come back
    return model, opt, scheduler, scaler


SCENARIOS = ["end", "diverged", "nan", "forward_error", "loss_error", "keyboard_interrupt"]
ATTACH = ["none", "scheduler", "scaler", "scheduler+scaler", "rebinding", "loader_generator"]


def seeded_loader(batch_size: int = 50) -> torch.utils.data.DataLoader:
    """A DataLoader that shuffles with its own generator (not torch's global RNG)."""
    x, y = mnist1d()
    g = torch.Generator().manual_seed(5)
    data = torch.utils.data.TensorDataset(x, y)
    return torch.utils.data.DataLoader(data, batch_size=batch_size, shuffle=True, generator=g)


@pytest.mark.parametrize("attach", ATTACH)
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_state_is_bitwise_identical_after(scenario, attach):
    model, opt, scheduler, scaler = mid_training(attach, rebinding=attach == "rebinding")
    assert opt.state and all("momentum_buffer" in s for s in opt.state.values())
    random.seed(11)
    np.random.seed(11)
    torch.manual_seed(11)
    before = capture(model, opt, scheduler, scaler)
    data = seeded_loader() if attach == "loader_generator" else loader(mnist1d(), batch_size=50)
    generator = data.generator.get_state() if attach == "loader_generator" else None
    expected_draws = (random.random(), np.random.rand(), torch.rand(2))
    _set_rng(before)

    loss_fn = (
        failing_loss(scenario) if scenario in ("nan", "loss_error", "keyboard_interrupt") else CE
    )
    handle = failing_forward(model) if scenario == "forward_error" else None
    kw = dict(
        num_iter=25, start_lr=1e-4, end_lr=0.5, scheduler=scheduler, scaler=scaler, progress=False
    )
    if scenario == "diverged":
        kw.update(start_lr=1e-2, end_lr=1e4, num_iter=60, smooth=0.5)
    try:
        if scenario in ("forward_error", "loss_error", "keyboard_interrupt"):
            error = KeyboardInterrupt if scenario == "keyboard_interrupt" else Boom
            with pytest.raises(error) as info:
                range_test(model, opt, loss_fn, data, **kw)
            partial = info.value.range_test_result
            expected_reason = "interrupted" if error is KeyboardInterrupt else "error"
            assert partial.stop_reason == expected_reason and len(partial) == K
        else:
            r = range_test(model, opt, loss_fn, data, **kw)
            want = {"end": "end", "diverged": "diverged", "nan": "non_finite_loss"}[scenario]
            if scenario == "diverged" and r.stop_reason == "non_finite_loss":
                want = "non_finite_loss"  # blew up before the smoothed loss crossed 4x
            assert r.stop_reason == want, r.message
            if scenario == "nan":
                assert len(r) == K
    finally:
        if handle is not None:
            handle.remove()
    after = capture(model, opt, scheduler, scaler)
    assert_same(before, after)
    assert not model[4].training and model[1].training
    if generator is not None:
        assert torch.equal(data.generator.get_state(), generator)
    assert (random.random(), np.random.rand()) == expected_draws[:2]
    assert torch.equal(torch.rand(2), expected_draws[2])


def _set_rng(state):
    random.setstate(state["rng_python"])
    np.random.set_state(state["rng_numpy"])
    torch.set_rng_state(state["rng_torch"])


@pytest.mark.parametrize("opt_kind", ["sgd", "adamw"])
def test_restored_training_continues_exactly_as_if_untouched(opt_kind):
    """Train twin setups; one runs a range test in between. Their next steps are identical."""
    twins = []
    for run_test in (False, True):
        model, opt, _, _ = mid_training("none", opt_kind)
        if run_test:
            range_test(
                model,
                opt,
                CE,
                loader(mnist1d(), batch_size=50),
                num_iter=15,
                progress=False,
                seed=3,
            )
        torch.manual_seed(0)
        warm_up(model, opt, mnist1d(), steps=3)
        twins.append(capture(model, opt))
    assert_same(twins[0], twins[1])


def test_training_after_a_test_sees_the_same_batches_as_without_it():
    """The loader's own generator is rewound: the next epoch's batch order is unchanged."""
    orders = []
    for run_test in (False, True):
        model, opt, _, _ = mid_training("none")
        data = seeded_loader()
        if run_test:
            range_test(model, opt, CE, data, num_iter=15, progress=False)
        orders.append([y.tolist() for _, y in data])
    assert orders[0] == orders[1]


def test_a_second_interrupt_during_the_restore_waits_for_it_to_finish(monkeypatch):
    """Ctrl-C pressed again while the state is written back: the restore completes first."""
    import signal

    model, opt, _, _ = mid_training("none")
    before = capture(model, opt)
    original = TrainingState.restore_tensors
    sent = []

    def interrupted_midway(self, blobs):
        sent.append(True)
        os.kill(os.getpid(), signal.SIGINT)  # delivered while the tensors are being restored
        original(self, blobs)

    monkeypatch.setattr(TrainingState, "restore_tensors", interrupted_midway)
    with pytest.raises(KeyboardInterrupt):
        range_test(
            model,
            opt,
            failing_loss("keyboard_interrupt"),
            seeded_loader(),
            num_iter=20,
            progress=False,
        )
    assert sent
    assert_same(before, capture(model, opt))


def test_modules_and_parameters_added_or_rebound_during_the_test_are_put_back():
    model = Rebinding(bn_cnn(seed=3))
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    steps, mean = model.steps, model.running_mean
    weight = model.inner[0].weight
    before = capture(model, opt)
    with TrainingState([model], opt):
        model(mnist1d()[0][:8])
        model.inner[0].weight = nn.Parameter(torch.zeros_like(weight))
        model.register_buffer("extra", torch.ones(1))
    assert model.steps is steps and model.running_mean is mean and model.inner[0].weight is weight
    assert "extra" not in dict(model.named_buffers())
    assert_same(before, capture(model, opt))


def test_fresh_optimizer_state_and_grads_are_removed_again():
    model = mlp()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    assert not opt.state and all(p.grad is None for p in model.parameters())
    before = capture(model, opt)
    range_test(model, opt, CE, loader(digits()), num_iter=12, progress=False)
    assert not opt.state and all(p.grad is None for p in model.parameters())
    assert_same(before, capture(model, opt))


def test_unused_scaler_comes_back_uninitialised():
    model = mlp()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    scaler = torch.amp.GradScaler("cpu")
    assert scaler._scale is None
    before = capture(model, opt, scaler=scaler)
    range_test(model, opt, CE, loader(digits()), num_iter=12, scaler=scaler, progress=False)
    assert scaler._scale is None and scaler._growth_tracker is None
    assert_same(before, capture(model, opt, scaler=scaler))


@pytest.mark.parametrize("scenario", ["end", "keyboard_interrupt"])
def test_disk_snapshot(tmp_path, scenario):
    model, opt, _, _ = mid_training("none")
    before = capture(model, opt)
    kw = dict(num_iter=15, snapshot="disk", snapshot_dir=tmp_path, progress=False)
    files_during: list[list[str]] = []

    def listing_loss(out, target):
        files_during.append(os.listdir(tmp_path))
        return CE(out, target)

    data = loader(mnist1d(), batch_size=50)
    if scenario == "end":
        range_test(model, opt, listing_loss, data, **kw)
        assert len(files_during[0]) == 1 and files_during[0][0].endswith(".pt")
    else:
        with pytest.raises(KeyboardInterrupt):
            range_test(model, opt, failing_loss(scenario), data, **kw)
    assert os.listdir(tmp_path) == []
    assert_same(before, capture(model, opt))


def test_loss_module_parameters_are_restored():
    """A loss with its own parameters (e.g. learned temperature) held by the optimizer."""

    class TempCE(nn.Module):
        def __init__(self):
            super().__init__()
            self.log_t = nn.Parameter(torch.zeros(()))
            self.register_buffer("calls", torch.zeros((), dtype=torch.int64))

        def forward(self, out, target):
            self.calls += 1
            return CE(out / self.log_t.exp(), target)

    model, crit = mlp(), TempCE()
    opt = torch.optim.SGD(list(model.parameters()) + list(crit.parameters()), lr=0.1, momentum=0.9)
    log_t, calls = crit.log_t.detach().clone(), crit.calls.clone()
    before = capture(model, opt)
    range_test(model, opt, crit, loader(digits()), num_iter=12, progress=False)
    assert torch.equal(crit.log_t, log_t) and torch.equal(crit.calls, calls)
    assert_same(before, capture(model, opt))


# -- TrainingState directly ----------------------------------------------------------------------
def test_snapshot_restores_in_place_keeping_tensor_identity():
    model, opt, scheduler, scaler = mid_training("scheduler+scaler")
    ids = [id(p) for p in model.parameters()] + [id(b) for b in model.buffers()]
    moms = [id(s["momentum_buffer"]) for s in opt.state.values()]
    before = capture(model, opt, scheduler, scaler)
    with TrainingState([model], opt, scheduler=scheduler, scaler=scaler):
        model.train()
        warm_up(model, opt, mnist1d(), steps=3, scaler=scaler)
        scheduler.step()
        opt.param_groups[0]["extra"] = 1
        opt.add_param_group({"params": [nn.Parameter(torch.zeros(2))]})
        np.random.rand(), random.random(), torch.rand(1)
    assert_same(before, capture(model, opt, scheduler, scaler))
    assert ids == [id(p) for p in model.parameters()] + [id(b) for b in model.buffers()]
    assert moms == [id(s["momentum_buffer"]) for s in opt.state.values()]
    assert len(opt.param_groups) == 1 and "extra" not in opt.param_groups[0]


def test_snapshot_is_taken_off_the_model_device():
    model = mlp()
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    warm_up(model, opt, digits())
    state = TrainingState([model], opt)
    blobs = state._blobs
    assert blobs and all(b.device.type == "cpu" for b in blobs)
    assert all(b.data_ptr() != p.data_ptr() for b, p in zip(blobs, model.parameters()))
    state.close()
    with pytest.raises(ValueError, match="snapshot"):
        TrainingState([model], opt, storage="gpu")


def test_cyclr_scheduler_with_momentum_cycling_is_restored():
    """cyclr's own CyclicScheduler writes LR and momentum into param_groups; both come back."""
    import cyclr
    from cyclr.torch import CyclicScheduler

    model = bn_cnn(seed=2)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    sched = CyclicScheduler(opt, cyclr.Triangular(0.01, 0.1, step_size=20), momentum=True)
    x, y = mnist1d()
    for i in range(7):
        opt.zero_grad()
        CE(model(x[i * 32 : (i + 1) * 32]), y[i * 32 : (i + 1) * 32]).backward()
        opt.step()
        sched.step()
    before = capture(model, opt, sched)
    momentum = opt.param_groups[0]["momentum"]
    r = range_test(
        model,
        opt,
        CE,
        loader(mnist1d(), batch_size=50),
        num_iter=15,
        scheduler=sched,
        progress=False,
    )
    assert len(r) == 15
    assert_same(before, capture(model, opt, sched))
    assert opt.param_groups[0]["momentum"] == momentum
    opt.step()
    sched.step()  # the schedule carries on from where it was
    assert sched.state_dict()["last_epoch"] == 8


def test_an_lr_set_by_hand_after_the_schedulers_last_step_is_kept():
    import cyclr
    from cyclr.torch import CyclicScheduler

    model = mlp()
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    sched = CyclicScheduler(opt, cyclr.Triangular(0.01, 0.1, step_size=20), momentum=True)
    for _ in range(5):
        opt.step()
        sched.step()
    opt.param_groups[0]["lr"] = 0.0123  # the user overrides the schedule for now
    before = capture(model, opt, sched)
    range_test(model, opt, CE, loader(digits()), num_iter=12, scheduler=sched, progress=False)
    assert opt.param_groups[0]["lr"] == 0.0123
    assert_same(before, capture(model, opt, sched))


def test_a_skip_unapplied_scheduler_not_passed_to_the_test_does_not_count_its_updates():
    import cyclr
    from cyclr.torch import CyclicScheduler

    model = mlp()
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    sched = CyclicScheduler(opt, cyclr.Triangular(0.01, 0.1, step_size=20), skip_unapplied=True)
    for _ in range(3):
        opt.step()
        sched.step()
    range_test(model, opt, CE, loader(digits()), num_iter=12, progress=False)
    sched.step()  # no optimizer step since the last one (e.g. a GradScaler skipped it)
    assert sched.last_epoch == 3  # the test's 12 updates did not count as one
    opt.step()
    sched.step()
    assert sched.last_epoch == 4
