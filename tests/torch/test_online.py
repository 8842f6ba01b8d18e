"""cyclr.torch.OnlineScheduler and online_schedule: the bounds read from the run's
own warm-up, written into a real optimizer; resume; non-finite losses; momentum; DDP.

The DDP test starts two copies of this file as gloo worker processes (see ``_worker``)."""

from __future__ import annotations

import copy
import json
import math
import warnings
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from tests.support.distributed import run_ranks, worker_main  # noqa: E402

import cyclr  # noqa: E402
import cyclr.suggest  # noqa: E402
from cyclr.online import OnlineController  # noqa: E402
from cyclr.range_test.result import RangeTestResult  # noqa: E402
from cyclr.torch import OnlineScheduler, auto_schedule, online_schedule  # noqa: E402

nn = torch.nn
F = torch.nn.functional

TOTAL = 400  # warm-up of int(0.45 * 399) = 179 updates, a look at every update
WARMUP = 179


def data() -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(1024, 10, generator=g)
    return x, (x[:, 0] + x[:, 1] > 0).long()


X, Y = data()


def batch(t: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The batch of update ``t``: the same for every run, without a loader's RNG."""
    idx = (torch.arange(32) + 32 * t) % len(X)
    return X[idx], Y[idx]


def make(opt: str = "sgd", seed: int = 0, groups: bool = False, **kwargs):
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(10, 16), nn.ReLU(), nn.Linear(16, 2))
    params = (
        [{"params": model[0].parameters()}, {"params": model[2].parameters()}]
        if groups
        else model.parameters()
    )
    if opt == "sgd":
        optimizer = torch.optim.SGD(params, lr=0.1, momentum=0.9)
    elif opt == "sgd_plain":
        optimizer = torch.optim.SGD(params, lr=0.1)
    else:
        optimizer = torch.optim.Adam(params, lr=1e-3)
        kwargs.setdefault("start_lr", 1e-5)
        kwargs.setdefault("end_lr", 1.0)
    kwargs.setdefault("total_steps", TOTAL)
    sched = online_schedule(model, optimizer, **kwargs)
    return model, optimizer, sched


def train_step(model, optimizer, sched, t: int) -> torch.Tensor:
    xb, yb = batch(t)
    loss = F.cross_entropy(model(xb), yb)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    sched.step(loss)
    return loss


# ---------------------------------------------------------------------------------------------
# A plain training loop.


def test_a_training_loop_reads_the_bounds_and_drives_every_param_group():
    model, opt, sched = make(groups=True)
    assert isinstance(sched, OnlineScheduler) and sched.bounds is None
    online = sched.online
    assert online.warmup_steps == WARMUP and online.method == "loss"
    applied, fed = [], []
    for t in range(TOTAL):
        lr = online.lr()
        assert online.step == t
        assert [g["lr"] for g in opt.param_groups] == [lr, lr]
        assert sched.get_last_lr() == [lr, lr]
        assert [g["momentum"] for g in opt.param_groups] == [online.momentum()] * 2
        if t == 0:  # the first update runs at start_lr: SGD's first step is -lr * grad
            assert lr == 1e-6
            before = model[2].weight.detach().clone()
            loss = train_step(model, opt, sched, t)
            delta = model[2].weight.detach() - before
            # float32 weights of ~0.2: a delta of ~1e-7 is known to ~2e-8 (0.1, the optimizer's own
            # lr, would move them by ~1e-2)
            torch.testing.assert_close(delta, -1e-6 * model[2].weight.grad, rtol=0, atol=3e-8)
        else:
            loss = train_step(model, opt, sched, t)
        applied.append(lr)
        fed.append(float(loss.detach().double()))
    d = sched.decided_at
    assert d is not None and 32 <= d < WARMUP
    # the curve read is what the optimizer ran at and the losses it gave
    r = sched.range_test_result
    assert list(r.lr) == applied[:d] and list(r.loss) == fed[:d]
    # the bounds are the offline loss rule's reading of that curve (1cycle: the plateau's end)
    b = cyclr.suggest.suggest(r, "loss")
    assert sched.bounds.max_lr == b.reading.plateau[1]
    assert sched.bounds.base_lr == min(b.base_lr, sched.bounds.max_lr)
    assert applied[d] == sched.bounds.max_lr
    assert applied[-1] == pytest.approx(sched.bounds.max_lr / 1e4, rel=1e-12)
    assert sched.log == online.log and "bounds read" in sched.log[-1]
    assert "bounds read at" in repr(sched)
    # and the model learned
    with torch.no_grad():
        assert F.cross_entropy(model(X), Y).item() < 0.2


def test_step_needs_a_scalar_loss():
    _, opt, sched = make()
    with pytest.raises(TypeError, match=r"needs the batch loss.*scheduler\.step\(loss\)"):
        sched.step()
    with pytest.raises(ValueError, match=r"loss must be a scalar.*\(4,\)"):
        sched.step(torch.ones(4))
    with pytest.raises(ValueError, match=r"loss must be a scalar.*\(2,\)"):
        sched.step(np.array([0.5, 0.7]))
    with pytest.raises(TypeError, match=r"loss must be a tensor or a number, got '0\.5' \(str\)"):
        sched.step("0.5")
    with pytest.raises(TypeError, match=r"loss must be .* got True \(bool\)"):
        sched.step(True)
    with pytest.raises(TypeError, match=r"loss must be .* got np\.True_ \(bool"):
        sched.step(np.bool_(True))
    with pytest.raises(TypeError, match=r"loss must be .* got array\('x'"):
        sched.step(np.array("x"))
    with pytest.raises(TypeError, match=r"loss must hold a real number.*bool"):
        sched.step(torch.tensor(True))
    with pytest.raises(TypeError, match="not an epoch"):
        sched.step(0.5, epoch=3)
    assert sched.online.step == 0  # nothing was recorded
    # one number in a 1-element tensor or array, Python and numpy numbers are fine
    losses = [
        torch.tensor([0.7]),
        0.7,
        np.float32(0.7),
        np.float64(0.7),
        np.int64(1),
        np.array(0.7),
        np.array([[0.25]], dtype=np.float16),
    ]
    for loss in losses:
        opt.step()
        sched.step(loss)
    want = [float(np.float32(0.7)), 0.7, float(np.float32(0.7)), 0.7, 1.0, 0.7, 0.25]
    assert sched.online.losses == want


def test_the_constructor_checks_its_arguments():
    model, opt, sched = make()
    with pytest.raises(TypeError, match="optimizer"):
        OnlineScheduler(model, sched.online)
    with pytest.raises(TypeError, match="OnlineController"):
        OnlineScheduler(opt, {"policy": "one_cycle"})


# ---------------------------------------------------------------------------------------------
# Resume.


def run(opt_name: str, stop: int, start: int = 0, objs=None):
    objs = objs or make(opt_name)
    for t in range(start, stop):
        train_step(*objs, t)
    return objs


@pytest.mark.parametrize("opt_name", ["sgd", "adam"])
@pytest.mark.parametrize("k", [80, 260])  # mid-warm-up, after the decision
def test_resume_from_a_checkpoint_is_bitwise_the_uninterrupted_run(tmp_path, opt_name, k):
    full = run(opt_name, TOTAL)
    d = full[2].decided_at
    assert (k < d) if k == 80 else (k > d)

    model, opt, sched = run(opt_name, k)
    path = tmp_path / "ckpt.pt"
    torch.save(
        {"model": model.state_dict(), "opt": opt.state_dict(), "sched": sched.state_dict()}, path
    )
    state = sched.state_dict()
    snap = state.pop("rollback_snapshot", None)  # the weights to go back to: tensors
    json.dumps(state)  # the rest is plain data
    assert (snap is not None) == (k < d)  # held only until the decision
    del model, opt, sched

    fresh = make(opt_name, seed=123)  # other initial weights: the checkpoint must restore them
    ckpt = torch.load(path, weights_only=True)
    fresh[0].load_state_dict(ckpt["model"])
    fresh[1].load_state_dict(ckpt["opt"])
    fresh[2].load_state_dict(ckpt["sched"])
    assert fresh[2].online.step == k
    assert fresh[1].param_groups[0]["lr"] == fresh[2].online.lr() == fresh[2].get_last_lr()[0]
    run(opt_name, TOTAL, start=k, objs=fresh)

    assert fresh[2].decided_at == d
    assert fresh[2].bounds.max_lr == full[2].bounds.max_lr
    assert fresh[2].bounds.base_lr == full[2].bounds.base_lr
    for a, b in zip(full[0].parameters(), fresh[0].parameters()):
        assert torch.equal(a, b)
    assert fresh[1].param_groups[0]["lr"] == full[1].param_groups[0]["lr"]


def resume(ckpt: dict, k: int, opt_name: str = "sgd"):
    """A fresh run (other initial weights) restored from an in-memory ``ckpt`` taken after
    update ``k``, trained to the end."""
    fresh = make(opt_name, seed=123)
    fresh[0].load_state_dict(ckpt["model"])
    fresh[1].load_state_dict(copy.deepcopy(ckpt["opt"]))
    fresh[2].load_state_dict(ckpt["sched"])
    return run(opt_name, TOTAL, start=k, objs=fresh)


def same_weights(a, b) -> bool:
    return all(torch.equal(x, y) for x, y in zip(a[0].parameters(), b[0].parameters()))


@pytest.mark.parametrize("opt_name", ["sgd", "adam"])
def test_an_in_memory_state_is_a_copy_that_training_does_not_change(opt_name):
    full = run(opt_name, TOTAL)
    k = full[2].online.rolled_back_to  # the copy taken here becomes the live optimizer state
    assert k is not None and k < full[2].decided_at
    objs = run(opt_name, k)
    model, opt, sched = objs
    ckpt = {
        "model": copy.deepcopy(model.state_dict()),
        "opt": copy.deepcopy(opt.state_dict()),
        "sched": sched.state_dict(),  # kept as returned, as every scheduler's state is
    }
    kept = copy.deepcopy(ckpt["sched"]["rollback_snapshot"])
    run(opt_name, TOTAL, start=k, objs=objs)  # the run goes on through the decision
    assert same_weights(objs, full)
    snap = ckpt["sched"]["rollback_snapshot"]
    assert all(torch.equal(a, b) for a, b in zip(snap["params"], kept["params"]))
    assert states_equal(dict(enumerate(snap["optimizer"])), dict(enumerate(kept["optimizer"])))
    # resumed from it, twice: the uninterrupted run both times
    assert same_weights(resume(ckpt, k, opt_name), full)
    assert same_weights(resume(ckpt, k, opt_name), full)


def test_load_state_dict_refuses_a_state_saved_with_other_settings(tmp_path):
    _, _, sched = run("sgd", 80)
    torch.save(sched.state_dict(), tmp_path / "sched.pt")
    _, opt2, longer = make(total_steps=1000)
    lr, before = opt2.param_groups[0]["lr"], longer.state_dict()
    state = torch.load(tmp_path / "sched.pt", weights_only=True)
    with pytest.raises(ValueError, match=r"other settings.*total_steps=400 vs 1000"):
        longer.load_state_dict(state)
    # nothing changed: not the schedule, not the optimizer's LR
    assert opt2.param_groups[0]["lr"] == lr
    assert json.dumps(longer.state_dict()["online"]) == json.dumps(before["online"])
    _, _, other = make(end_lr=1.0)
    with pytest.raises(ValueError, match=r"end_lr=10\.0 vs 1\.0"):
        other.load_state_dict(state)
    _, _, same = make()
    same.load_state_dict(state)
    assert same.online.step == 80


def test_a_snapshot_that_does_not_fit_the_optimizer_is_refused():
    _, _, sched = run("sgd", 10)
    state = sched.state_dict()
    _, _, wider = make(groups=True)  # the same parameters in two groups: fits
    wider.load_state_dict(state)
    torch.manual_seed(0)
    other = nn.Linear(10, 3)
    sched2 = OnlineScheduler(
        torch.optim.SGD(other.parameters(), lr=0.1),
        OnlineController("one_cycle", TOTAL),
        model=other,
    )
    with pytest.raises(ValueError, match=r"rollback_snapshot\['params'\] holds 4 tensors"):
        sched2.load_state_dict(state)
    assert sched2.online.step == 0


# ---------------------------------------------------------------------------------------------
# Non-finite losses.


def test_non_finite_weights_raise_floating_point_error():
    model, opt, sched = run("sgd", 50)
    with torch.no_grad():
        model[0].weight[0, 0] = float("nan")
    with pytest.raises(FloatingPointError, match="weights are no longer finite at update 50"):
        sched.step(torch.tensor(float("nan")))
    # the same through an optimizer step on a NaN loss
    model, opt, sched = run("sgd", 50)
    xb, yb = batch(50)
    loss = F.cross_entropy(model(xb), yb) * float("nan")
    opt.zero_grad()
    loss.backward()
    opt.step()
    with pytest.raises(FloatingPointError):
        sched.step(loss)


def test_a_nan_loss_with_finite_weights_in_the_warmup_warns_and_decides():
    # an update skipped on a NaN loss (as GradScaler skips it), once the loss is falling
    model, opt, sched = run("sgd", 120)
    assert sched.decided_at is None
    lr_nan = sched.online.lr()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        sched.step(torch.tensor(float("nan")))
    said = [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)]
    assert len(said) == 1 and "blew up" in said[0]  # one event, one warning
    assert sched.decided_at == 121 and sched.online.blew_up
    assert sched.bounds.max_lr < lr_nan
    assert opt.param_groups[0]["lr"] == sched.bounds.max_lr
    run("sgd", 200, start=121, objs=(model, opt, sched))  # training goes on
    assert all(torch.isfinite(p).all() for p in model.parameters())


def test_a_nan_loss_with_finite_weights_after_the_decision_halves_the_rest():
    _, opt, sched = run("sgd", 200)
    d = sched.decided_at
    assert d is not None
    with pytest.warns(RuntimeWarning, match="halved"):
        sched.step(float("nan"))
    assert sched.online.scale == 0.5
    full = OnlineController("one_cycle", TOTAL)
    full.load_state_dict(sched.online.state_dict())
    full.scale, full.halvings = 1.0, []
    assert opt.param_groups[0]["lr"] == pytest.approx(0.5 * full.lr(201), rel=1e-12)
    assert sched.online.halvings == [(200, 0.5)]
    assert sched.online.lr(200) == full.lr(200)  # the update that blew up ran unhalved


def test_a_nan_loss_early_in_the_warmup_does_not_stop_training():
    _, opt, sched = run("sgd", 60)  # lr ~ 2e-4: the loss has not started to fall
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        sched.step(torch.tensor(float("nan")))  # an update skipped on a NaN loss
    assert any("blew up" in str(w.message) for w in caught)
    assert sched.decided_at == 61
    assert 0 < opt.param_groups[0]["lr"] <= sched.online.lrs[-1]
    # cautious bounds: a tenth of the LR that blew up, base a quarter of that
    lr_nan = 1e-6 * (10.0 / 1e-6) ** (60 / (WARMUP - 1))  # the ramp's LR at update 60
    b = sched.bounds
    assert b.method == "cautious" and "cautious" in b.reason
    assert b.max_lr == pytest.approx(lr_nan / 10, rel=1e-12)
    assert b.base_lr == pytest.approx(lr_nan / 40, rel=1e-12)
    assert opt.param_groups[0]["lr"] == b.max_lr


# ---------------------------------------------------------------------------------------------
# Rollback: at the decision the weights go back to the last look on the floor.


def make_bn(rollback: bool = True):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(10, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Linear(16, 2))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    sched = online_schedule(
        model, opt, total_steps=TOTAL, start_lr=1e-5, end_lr=1.0, rollback=rollback
    )
    return model, opt, sched


def states_equal(a: dict, b: dict) -> bool:
    if a.keys() != b.keys():
        return False
    return all(
        torch.equal(x, y) if isinstance(x, torch.Tensor) else x == y
        for k in a
        for x, y in zip(a[k].values(), b[k].values())
    )


@pytest.mark.parametrize("build", ["sgd", "adam", "batchnorm"])
def test_at_the_decision_the_weights_are_those_of_the_last_look_on_the_floor(build):
    new = make_bn if build == "batchnorm" else (lambda: make(build))
    model, opt, sched = new()
    group = opt.param_groups[0]  # held by user code (an LR monitor, a recorder)
    while sched.decided_at is None:
        train_step(model, opt, sched, sched.online.step)
    d, f = sched.decided_at, sched.online.rolled_back_to
    assert f is not None and 0 < f < d and f % sched.online.check_every == 0
    assert f"go back to those after update {f}" in sched.log[-1]
    # a twin stopped after update f: the same weights, buffers and optimizer state, bitwise
    twin = new()
    for t in range(f):
        train_step(*twin, t)
    for a, b in zip(model.state_dict().values(), twin[0].state_dict().values()):
        assert torch.equal(a, b)
    assert states_equal(opt.state_dict()["state"], twin[1].state_dict()["state"])
    # and the schedule goes on from the decision: max_lr next, nothing held any more; the
    # param groups are the same objects (restored in place), so a held one sees the new LR
    assert opt.param_groups[0] is group and group["lr"] == sched.bounds.max_lr
    assert sched._snapshot is None


def test_the_last_look_on_the_floor_is_the_rules_reading_at_each_look():
    model, opt, sched = make("sgd")
    while sched.decided_at is None:
        train_step(model, opt, sched, sched.online.step)
    on, d = sched.online, sched.decided_at
    r = on.result()

    def on_floor(n: int) -> bool:  # the reading of n updates: no fall yet, or on its plateau
        p = RangeTestResult(
            lr=r.lr[:n], loss=r.loss[:n], smoothed_loss=r.smoothed_loss[:n], mode="exp"
        )
        try:
            b = cyclr.suggest.suggest(p, "loss")
            cyclr.suggest.suggest(p, "loss", z=on.z_looks)
        except cyclr.suggest.SuggestionError:
            return True
        return int(np.flatnonzero(p.lr >= b.reading.plateau[1])[0]) >= n - 1

    looks = [n for n in range(32, d) if n % on.check_every == 0]
    assert on.rolled_back_to == max(n for n in looks if on_floor(n))


def test_without_rollback_the_weights_stay():
    model, opt, sched = make("adam", rollback=False)
    while sched.decided_at is None:
        train_step(model, opt, sched, sched.online.step)
    assert sched.online.rolled_back_to is None and "go back" not in sched.log[-1]
    assert "rollback_snapshot" not in sched.state_dict() and sched._snapshot is None
    twin = make("adam", rollback=False)
    for t in range(sched.decided_at):
        train_step(*twin, t)
    for a, b in zip(model.parameters(), twin[0].parameters()):
        assert torch.equal(a, b)  # the same run: nothing restored


def test_without_the_model_rollback_warns_that_buffers_stay():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(10, 16), nn.BatchNorm1d(16))
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    with pytest.warns(UserWarning, match=r"model=None.*buffers \(BatchNorm"):
        online_schedule(None, opt, total_steps=TOTAL)
    with pytest.warns(UserWarning, match="model=None"):
        OnlineScheduler(opt, OnlineController("one_cycle", TOTAL))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        online_schedule(model, opt, total_steps=TOTAL)
        online_schedule(None, opt, total_steps=TOTAL, rollback=False)


def test_a_new_rollback_copy_is_taken_after_the_old_one_is_let_go():
    import weakref

    model, opt, sched = make("adam")
    take = sched._take
    alive_at_take: list[int] = []
    held: list[weakref.ref] = []

    def watched():
        alive_at_take.append(sum(r() is not None for r in held))
        return take()

    sched._take = watched
    while sched.decided_at is None:
        snap = sched._snapshot
        held = [
            weakref.ref(t)
            for t in [*snap["params"], *snap["buffers"]]
            + [x for st in snap["optimizer"] if st for x in st.values() if torch.is_tensor(x)]
        ]
        assert len(held) >= 4
        del snap
        train_step(model, opt, sched, sched.online.step)
    assert len(alive_at_take) >= 2  # re-taken at several looks on the floor
    assert alive_at_take == [0] * len(alive_at_take)  # never two copies at once


# ---------------------------------------------------------------------------------------------
# Updates the optimizer did not apply.


def test_updates_a_grad_scaler_skipped_do_not_move_the_schedule():
    model, opt, sched = make()
    scaler = torch.amp.GradScaler("cpu", init_scale=3e38)  # inf gradients: every step skipped
    lr = opt.param_groups[0]["lr"]
    for t in range(20):
        xb, yb = batch(t)
        loss = F.cross_entropy(model(xb), yb)
        opt.zero_grad()
        scaler.scale(loss * 1e6).backward()
        scaler.step(opt)
        scaler.update()
        sched.step(loss)
    assert sched.online.step == 0 and sched.online.losses == [] and sched.skipped == 20
    assert opt.param_groups[0]["lr"] == lr and sched.state_dict()["skipped"] == 20


def test_a_run_with_skipped_updates_is_the_run_without_them():
    skip = {3, 4, 40, 41, 42, 150}
    ref = make()
    for t in range(TOTAL):
        train_step(*ref, t)
    model, opt, sched = make()
    t = 0
    for i in range(TOTAL + len(skip)):
        if i in skip:  # the loss of a batch whose update was skipped (no optimizer.step)
            opt.zero_grad()
            sched.step(F.cross_entropy(model(X[:32]), Y[:32]))
        else:
            train_step(model, opt, sched, t)
            t += 1
    assert sched.online.step == TOTAL
    assert sched.online.losses == ref[2].online.losses
    assert sched.decided_at == ref[2].decided_at
    assert same_weights((model, opt, sched), ref)
    assert sched.skipped == len(skip)


def test_many_skipped_updates_in_a_row_warn_once():
    from cyclr.torch._args import MAX_SKIPPED

    _, _, sched = run("sgd", 10)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(2 * MAX_SKIPPED):
            sched.step(0.7)
    said = [str(w.message) for w in caught if w.category is RuntimeWarning]
    assert len(said) == 1 and f"none of the last {MAX_SKIPPED} updates" in said[0]
    assert sched.online.step == 10 and sched.skipped == 2 * MAX_SKIPPED


def test_a_copy_counts_the_updates_of_its_own_optimizer():
    _, _, sched = run("sgd", 5)
    twin = copy.deepcopy(sched)
    twin.optimizer.step()
    twin.step(0.5)
    sched.step(0.5)  # this optimizer did not step: skipped
    assert (twin.online.step, twin.skipped) == (6, 0)
    assert (sched.online.step, sched.skipped) == (5, 1)


@pytest.mark.parametrize(
    ("backend", "loss", "params", "want"),
    [
        ("nccl", "cpu", "cuda:1", "cuda"),  # a float loss goes to the current CUDA device
        ("nccl", "cpu", "cpu", "cuda"),
        ("cuda:nccl", "cpu", "cuda:0", "cuda"),
        ("nccl", "cuda:1", "cuda:1", "cuda:1"),  # a CUDA loss stays where it is
        ("gloo", "cpu", "cuda:0", "cpu"),
        ("GLOO", "cpu", "cpu", "cpu"),
        ("mpi", "cpu", "cpu", "cpu"),
        ("cpu:gloo,cuda:nccl", "cpu", "cuda:0", "cpu"),
        ("xccl", "cpu", "xpu:0", "xpu:0"),  # another accelerator's backend: the model's device
    ],
)
def test_the_loss_is_reduced_on_a_device_the_backend_takes(backend, loss, params, want):
    from cyclr.torch._online import _reduce_device

    got = _reduce_device(backend, torch.device(loss), torch.device(params))
    assert got == torch.device(want)


# ---------------------------------------------------------------------------------------------
# Momentum.


@pytest.mark.parametrize("opt_name", ["sgd", "adam"])
def test_momentum_cycles_inversely_to_the_lr(opt_name):
    model, opt, sched = make(opt_name)
    online = sched.online
    seen = []
    for t in range(TOTAL):
        g = opt.param_groups[0]
        m = g["momentum"] if opt_name == "sgd" else g["betas"][0]
        if opt_name == "adam":
            assert g["betas"][1] == 0.999
        assert m == online.momentum()
        seen.append(m)
        train_step(model, opt, sched, t)
    d = sched.decided_at
    assert seen[0] == 0.95
    # down with the rising LR ...
    want = [0.95 - 0.1 * t / (WARMUP - 1) for t in range(d)]
    np.testing.assert_allclose(seen[:d], want, rtol=1e-12)
    # ... and back up as it falls, to 0.95 by the end of the cycle
    assert all(b >= a - 1e-15 for a, b in zip(seen[d:], seen[d + 1 :]))
    assert seen[d] == pytest.approx(seen[d - 1]) and seen[-1] == 0.95


def test_momentum_false_leaves_it_alone():
    model, opt, sched = make("sgd", momentum=False)
    assert not sched.online.cycle_momentum
    for t in range(100):
        assert opt.param_groups[0]["momentum"] == 0.9
        train_step(model, opt, sched, t)
    model, opt, sched = make("adam", momentum=False)
    for t in range(20):
        assert opt.param_groups[0]["betas"] == (0.9, 0.999)
        train_step(model, opt, sched, t)


def test_sgd_without_momentum_gets_none():
    model, opt, sched = make("sgd_plain")
    for t in range(20):
        train_step(model, opt, sched, t)
    assert opt.param_groups[0]["momentum"] == 0
    assert "betas" not in opt.param_groups[0]


# ---------------------------------------------------------------------------------------------
# online_schedule's options.


@pytest.mark.parametrize("policy", ["exp_range", "triangular2"])
def test_online_supports_one_cycle_and_triangular_only(policy):
    torch.manual_seed(0)
    model = nn.Linear(2, 2)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(
        ValueError, match=f"policy must be one of 'one_cycle', 'triangular'; got '{policy}'"
    ):
        online_schedule(model, opt, policy=policy, total_steps=400)


def test_online_rejects_options_of_the_range_test_and_a_momentum_schedule():
    model = nn.Linear(2, 2)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    for option in ("num_iter", "coarse_iter", "method", "seed", "online", "epochs"):
        with pytest.raises(TypeError, match=f"unexpected keyword argument '{option}'"):
            online_schedule(model, opt, total_steps=400, **{option: 1})
    with pytest.raises(TypeError, match="momentum must be True or False, got Constant"):
        online_schedule(model, opt, total_steps=400, momentum=cyclr.Constant(0.9))
    with pytest.raises(ValueError, match="policy='one_cycle' needs total_steps"):
        online_schedule(model, opt)
    with pytest.raises(ValueError, match="total_steps must be >= 2, got 1"):
        online_schedule(model, opt, total_steps=1)


def test_auto_schedule_takes_no_online_option():
    model = nn.Linear(2, 2)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    loss = torch.nn.functional.mse_loss
    with pytest.raises(TypeError, match=r"unexpected keyword argument 'online'.*online_schedule"):
        auto_schedule(model, opt, loss, [(X[:, :2], X[:, :2])] * 4, total_steps=400, online=True)
    assert opt.param_groups[0]["lr"] == 0.1  # refused before any update


def _synthetic_loss(lr: float, t: int) -> float:
    """A loss that falls from 2 to 0.5 around lr 1e-3 and blows up past lr 0.3, with a
    deterministic wiggle."""
    x = math.log10(lr)
    wiggle = 0.01 * math.sin(1.7 * t) * math.cos(0.3 * t)
    return 2.0 - 1.5 / (1 + math.exp(-3 * (x + 3))) + 0.05 * math.exp(2.5 * (x + 0.5)) + wiggle


#: What ``auto_schedule(model, opt, None, None, online=True, ...)`` gave on the synthetic loss
#: (the last release with that form): the decision, the bounds, a few LRs, and a SHA-256 of
#: every LR then every momentum (float64, little-endian) of the 300 updates.
ONLINE_REFERENCE = {
    "one_cycle": (
        {"check_every": 4},
        112,
        (0.00018329807108324357, 0.1568515164373548),
        {
            0: 1e-05,
            50: 0.0018015200408020248,
            100: 0.3245474457411329,
            111: 1.0174634027476068,
            112: 0.1568515164373548,
            200: 0.07777678631744074,
            299: 1.5685151643735478e-05,
        },
        "13f3010a4ec45277fd8efea63b2392dc92bec62d47bd5c134a1b9ad2b735aa76",
    ),
    "triangular": (
        {"step_size": 40},
        112,
        (0.00018329807108324357, 0.030792410553301303),
        {
            0: 1e-05,
            111: 1.0174634027476068,
            112: 0.030792410553301303,
            150: 0.001713753695194148,
            299: 0.01013125962780412,
        },
        "a7a6ff8425b35de560a24da36e8efd20ecb0130bb8d66fcbe091d2442e268498",
    ),
}


@pytest.mark.parametrize("policy", sorted(ONLINE_REFERENCE))
def test_online_schedule_gives_the_lrs_of_auto_schedule_online_step_for_step(policy):
    import hashlib

    options, decided_at, bounds, some_lrs, digest = ONLINE_REFERENCE[policy]
    torch.manual_seed(0)
    model = nn.Linear(4, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    sched = online_schedule(
        model, opt, policy=policy, total_steps=300, start_lr=1e-5, end_lr=10.0, **options
    )
    lrs, moms = [], []
    for t in range(300):
        lr = opt.param_groups[0]["lr"]
        lrs.append(lr)
        moms.append(opt.param_groups[0]["momentum"])
        opt.step()
        sched.step(_synthetic_loss(lr, t))
    assert sched.decided_at == decided_at
    assert (sched.bounds.base_lr, sched.bounds.max_lr) == bounds
    assert {t: lrs[t] for t in some_lrs} == some_lrs
    both = np.asarray(lrs, "<f8").tobytes() + np.asarray(moms, "<f8").tobytes()
    assert hashlib.sha256(both).hexdigest() == digest


def test_online_passes_its_options_on():
    model = nn.Linear(2, 2)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    sched = online_schedule(
        model,
        opt,
        policy="triangular",
        start_lr=1e-4,
        end_lr=2.0,
        warmup_steps=64,
        check_every=8,
        step_size=30,
    )
    s = sched.online
    assert (s.policy, s.start_lr, s.end_lr) == ("triangular", 1e-4, 2.0)
    assert (s.warmup_steps, s.check_every, s.step_size, s.total_steps) == (64, 8, 30, None)
    assert opt.param_groups[0]["lr"] == 1e-4


# ---------------------------------------------------------------------------------------------
# torch.distributed: two gloo processes on localhost.

WORLD = 2
JOIN_TIMEOUT_S = 120
DDP_TOTAL = 600
NAN_AT = 400  # after the decision: a NaN loss on rank 1 only


def ddp_loss(rank: int, t: int, lr: float) -> float:
    """Each rank's own loss: a loss-vs-LR curve with a rank-dependent offset and noise."""
    noise = np.random.default_rng([rank, t]).standard_normal()
    clean = 2.3 - 1.8 / (1 + (0.01 / lr) ** 1.5) + 3 * (lr / 0.3) ** 3
    return float(np.float32(clean + 0.3 * rank + 0.05 * noise))  # the float32 a model gives


@pytest.mark.slow
@pytest.mark.skipif(
    not torch.distributed.is_available(), reason="torch.distributed is not available"
)
def test_ranks_with_different_losses_decide_together_on_the_mean(tmp_path):
    run_ranks(__file__, WORLD, tmp_path, JOIN_TIMEOUT_S)
    out = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in range(WORLD)]

    # each rank fed its own losses ...
    assert out[0]["local"] != out[1]["local"]
    # ... and both read the same curve and decided the same
    for key in ("decided_at", "bounds", "lrs", "momenta", "state", "group_state"):
        assert out[0][key] == out[1][key], key
    assert out[0]["state"] == out[0]["group_state"]  # process_group=the world: the same
    assert out[0]["decided_at"] is not None and out[0]["decided_at"] < DDP_TOTAL * 0.45

    # a single process fed the mean loss reads exactly the same
    single = OnlineController("one_cycle", DDP_TOTAL)
    lrs = []
    for t in range(DDP_TOTAL):
        lrs.append(single.lr())
        single.observe((out[0]["local"][t] + out[1]["local"][t]) / 2)
    assert out[0]["lrs"] == lrs
    assert out[0]["decided_at"] == single.decided_at
    assert out[0]["bounds"] == [single.bounds.base_lr, single.bounds.max_lr]
    assert out[0]["state"]["losses"] == single.losses

    # a NaN loss on one rank only: the mean is NaN on both, and both halve the rest together
    assert out[0]["nan_state"] == out[1]["nan_state"]
    assert out[0]["nan_state"]["scale"] == 0.5
    assert f"update {NAN_AT}" in out[0]["nan_state"]["log"][-1]
    assert all(len(o["nan_warnings"]) == 1 and "halved" in o["nan_warnings"][0] for o in out)


def _worker(rank: int, world: int, out: Path) -> None:
    import torch.distributed as dist

    def drive(process_group=None, nan_at=None):
        model = nn.Linear(3, 1)
        opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        sched = OnlineScheduler(
            opt, OnlineController("one_cycle", DDP_TOTAL), process_group=process_group, model=model
        )
        local, lrs, momenta = [], [], []
        for t in range(DDP_TOTAL):
            lr = opt.param_groups[0]["lr"]
            lrs.append(lr)
            momenta.append(opt.param_groups[0]["momentum"])
            loss = ddp_loss(rank, t, lr)
            local.append(loss)
            opt.step()
            sched.step(torch.tensor(math.nan if t == nan_at else loss, dtype=torch.float32))
        b = sched.bounds
        return sched, local, lrs, momenta, None if b is None else [b.base_lr, b.max_lr]

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no blow-up warnings expected
        sched, local, lrs, momenta, bounds = drive()
        group_sched = drive(dist.new_group(list(range(world))))[0]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        nan_sched = drive(nan_at=NAN_AT if rank == 1 else None)[0]
    payload = {
        "local": local,
        "lrs": lrs,
        "momenta": momenta,
        "decided_at": sched.decided_at,
        "bounds": bounds,
        "state": sched.online.state_dict(),
        "group_state": group_sched.online.state_dict(),
        "nan_state": nan_sched.online.state_dict(),
        "nan_warnings": [str(w.message) for w in caught if w.category is RuntimeWarning],
    }
    (out / f"rank{rank}.json").write_text(json.dumps(payload))


if __name__ == "__main__":
    worker_main(_worker)
