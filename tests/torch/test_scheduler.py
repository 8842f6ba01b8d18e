"""CyclicScheduler: parity with torch's own schedulers, state, momentum, groups, AMP."""

from __future__ import annotations

import copy
import gc
import io
import json
import pickle
import warnings
import weakref

import numpy as np
import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from torch.optim.lr_scheduler import CyclicLR, LRScheduler, OneCycleLR

import cyclr
from cyclr.torch import CyclicScheduler


def _opt(kind="sgd", lr=0.1, groups=1):
    params = [torch.nn.Parameter(torch.zeros(2)) for _ in range(groups)]
    spec = [{"params": [p], "lr": lr * (i + 1)} for i, p in enumerate(params)]
    if kind == "sgd":
        return torch.optim.SGD(spec, lr=lr, momentum=0.9)
    if kind == "adam":
        return torch.optim.Adam(spec, lr=lr)
    return torch.optim.Adagrad(spec, lr=lr)


def _trajectory(opt, sched, steps, key="momentum"):
    out = []
    for _ in range(steps):
        g = opt.param_groups[0]
        mom = g["momentum"] if key == "momentum" else g["betas"][0]
        out.append((sched.get_last_lr()[0], g["lr"], mom))
        opt.step()
        sched.step()
    return out


def _rel_close(a, b, tol=1e-9):
    return abs(a - b) <= tol * max(abs(a), abs(b), 1e-300)


def _assert_same_trajectories(ref_opt, ref, our_opt, ours, steps, kind):
    """LR (reported and in the optimizer) and momentum agree at every step to 1e-9 relative."""
    key = "momentum" if kind == "sgd" else "betas"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = _trajectory(ref_opt, ref, steps, key)
    b = _trajectory(our_opt, ours, steps, key)
    for x, y in zip(a, b, strict=True):
        assert all(_rel_close(p, q) for p, q in zip(x, y, strict=True)), (x, y)


@settings(max_examples=200, deadline=None)
@given(
    base=st.floats(1e-5, 1.0),
    span=st.floats(1.0, 20.0),
    up=st.integers(1, 60),
    down=st.one_of(st.none(), st.integers(1, 60)),
    mode=st.sampled_from(["triangular", "triangular2", "exp_range"]),
    gamma=st.floats(0.95, 1.0),
    moms=st.tuples(st.floats(0.5, 0.8), st.floats(0.8, 0.99)),
    kind=st.sampled_from(["sgd", "adam"]),
)
def test_parity_with_torch_cycliclr(base, span, up, down, mode, gamma, moms, kind):
    top = base * span
    ref_opt, our_opt = _opt(kind), _opt(kind)
    ref = CyclicLR(
        ref_opt,
        base,
        top,
        step_size_up=up,
        step_size_down=down,
        mode=mode,
        gamma=gamma,
        base_momentum=moms[0],
        max_momentum=moms[1],
    )
    if mode == "triangular":
        s = cyclr.Triangular(base, top, up, down)
    elif mode == "triangular2":
        s = cyclr.Triangular2(base, top, up, down)
    else:
        s = cyclr.ExpRange(base, top, up, gamma, down, decay="amplitude")
    ours = CyclicScheduler(our_opt, s, momentum=s.momentum(*moms))
    _assert_same_trajectories(ref_opt, ref, our_opt, ours, 3 * (up + (down or up)) + 5, kind)


@settings(max_examples=200, deadline=None)
@given(
    top=st.floats(1e-4, 5.0),
    total=st.integers(10, 400),
    pct=st.floats(0.05, 0.6),
    anneal=st.sampled_from(["cos", "linear"]),
    three=st.booleans(),
    div=st.floats(2.0, 50.0),
    final_div=st.floats(10.0, 1e5),
    moms=st.tuples(st.floats(0.5, 0.85), st.floats(0.85, 0.99)),
    kind=st.sampled_from(["sgd", "adam"]),
)
def test_parity_with_torch_onecyclelr(top, total, pct, anneal, three, div, final_div, moms, kind):
    try:
        s = cyclr.OneCycle.pytorch(top, total, pct, anneal, div, final_div, three_phase=three)
    except ValueError:
        assume(False)
    ref_opt, our_opt = _opt(kind), _opt(kind)
    ref = OneCycleLR(
        ref_opt,
        top,
        total_steps=total,
        pct_start=pct,
        anneal_strategy=anneal,
        div_factor=div,
        final_div_factor=final_div,
        three_phase=three,
        base_momentum=moms[0],
        max_momentum=moms[1],
    )
    ours = CyclicScheduler(our_opt, s, momentum=s.momentum(*moms))
    _assert_same_trajectories(ref_opt, ref, our_opt, ours, total, kind)


def test_is_a_real_lrscheduler_and_follows_the_schedule():
    opt = _opt()
    s = cyclr.Triangular(0.01, 0.1, step_size=5)
    sched = CyclicScheduler(opt, s)
    assert isinstance(sched, LRScheduler)
    seen = []
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "step before optimizer.step" warnings
        for _ in range(23):
            seen.append(opt.param_groups[0]["lr"])
            assert sched.get_last_lr() == [seen[-1]]
            opt.step()
            sched.step()
    assert seen == [s(i) for i in range(23)]
    assert "momentum" not in repr(sched) and "Triangular" in repr(sched)


def test_momentum_true_uses_the_inverse_companion_and_cycles_adam_beta1():
    opt = _opt("adam")
    s = cyclr.OneCycle(0.2, total_steps=101)
    sched = CyclicScheduler(opt, s, momentum=True)
    m = s.momentum()
    for i in range(101):
        assert opt.param_groups[0]["betas"] == (m(i), 0.999)
        opt.step()
        sched.step()


def test_momentum_needs_an_optimizer_with_momentum_or_betas():
    with pytest.raises(ValueError, match="Adagrad has neither"):
        CyclicScheduler(_opt("adagrad"), cyclr.Triangular(0.01, 0.1, 5), momentum=True)


def test_param_groups_ratio_explicit_and_per_group_schedules():
    s = cyclr.Triangular(0.01, 0.1, 4)
    opt = _opt(groups=3)  # group LRs 0.1, 0.2, 0.3
    ratios = [g["lr"] / opt.param_groups[0]["lr"] for g in opt.param_groups]
    sched = CyclicScheduler(opt, s, group_scale="ratio")
    for i in range(12):
        lrs = [g["lr"] for g in opt.param_groups]
        assert lrs == [s(i) * k for k in ratios]
        assert lrs == pytest.approx([s(i), 2 * s(i), 3 * s(i)], rel=1e-15)
        opt.step()
        sched.step()
    opt = _opt(groups=2)
    sched = CyclicScheduler(opt, s, group_scale=[1.0, 0.5])
    assert [g["lr"] for g in opt.param_groups] == [s(0), s(0) * 0.5]
    other = cyclr.OneCycle(1.0, 50)
    opt = _opt(groups=2)
    sched = CyclicScheduler(opt, [s, other])
    opt.step()
    sched.step()
    assert [g["lr"] for g in opt.param_groups] == [s(1), other(1)]
    with pytest.raises(ValueError, match="one per param group"):
        CyclicScheduler(_opt(groups=3), [s, other])
    with pytest.raises(ValueError, match="group_scale"):
        CyclicScheduler(_opt(groups=2), s, group_scale="bogus")
    with pytest.raises(TypeError, match="schedule"):
        CyclicScheduler(_opt(), "triangular")  # type: ignore[arg-type]


def _train_steps(model, opt, sched, n, x):
    out = []
    for _ in range(n):
        opt.zero_grad()
        model(x).pow(2).mean().backward()
        opt.step()
        sched.step()
        out.append((opt.param_groups[0]["lr"], opt.param_groups[0]["momentum"]))
    return out


def test_state_dict_is_plain_data_and_resume_continues_the_same_trajectory():
    torch.manual_seed(0)
    x = torch.randn(8, 3)

    def fresh():
        torch.manual_seed(1)
        model = torch.nn.Linear(3, 1)
        opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        s = cyclr.Triangular2(0.01, 0.1, step_size=7)
        return model, opt, CyclicScheduler(opt, s, momentum=True)

    model, opt, sched = fresh()
    straight = _train_steps(model, opt, sched, 60, x)
    final = [p.detach().clone() for p in model.parameters()]

    model, opt, sched = fresh()
    first = _train_steps(model, opt, sched, 23, x)  # stop mid-cycle
    buf = io.BytesIO()
    torch.save(
        {"model": model.state_dict(), "opt": opt.state_dict(), "sched": sched.state_dict()}, buf
    )
    buf.seek(0)
    ckpt = torch.load(buf, weights_only=True)

    model, opt, _ = fresh()
    sched = CyclicScheduler(opt, cyclr.Constant(0.5))  # schedule comes from the checkpoint
    model.load_state_dict(ckpt["model"])
    opt.load_state_dict(ckpt["opt"])
    sched.load_state_dict(ckpt["sched"])
    rest = _train_steps(model, opt, sched, 37, x)
    assert first + rest == straight
    for a, b in zip(final, model.parameters(), strict=True):
        assert torch.equal(a, b.detach())


def test_load_state_dict_rejects_foreign_state():
    sched = CyclicScheduler(_opt(), cyclr.Constant(0.1))
    with pytest.raises(ValueError, match="not a CyclicScheduler state_dict"):
        sched.load_state_dict({"last_epoch": 3})


def test_skip_unapplied_does_not_advance_when_gradscaler_skips_a_step():
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    scaler = torch.amp.GradScaler("cpu", init_scale=2.0**8)
    s = cyclr.Triangular(0.01, 0.1, step_size=4)
    sched = CyclicScheduler(opt, s, skip_unapplied=True)
    x = torch.randn(4, 3)
    lrs, skipped = [], 0
    for k in range(12):
        opt.zero_grad()
        loss = model(x).mean() * (float("inf") if k in (3, 4, 9) else 1.0)
        scaler.scale(loss).backward()
        before = scaler.get_scale()
        scaler.step(opt)
        scaler.update()
        skipped += scaler.get_scale() < before
        sched.step()
        lrs.append(opt.param_groups[0]["lr"])
    assert skipped == 3
    assert sched.last_epoch == 12 - 3
    assert lrs == [s(i) for i in (1, 2, 3, 3, 3, 4, 5, 6, 7, 7, 8, 9)]


def test_epoch_argument_jumps_and_validation():
    opt = _opt()
    s = cyclr.Triangular(0.01, 0.1, 10)
    sched = CyclicScheduler(opt, s)
    with pytest.warns(UserWarning, match="before `optimizer.step"):  # as torch's would
        sched.step(15)
    assert opt.param_groups[0]["lr"] == s(15)
    sched.step()
    assert opt.param_groups[0]["lr"] == s(16)
    with pytest.raises(ValueError, match="epoch"):
        sched.step(-3)
    with pytest.raises(TypeError, match="optimizer"):
        CyclicScheduler(object(), s)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------
# Copies, resuming, hooks, numpy inputs, tensor hyper-parameters, call order


def _one_param_sgd(lr=0.1):
    return torch.optim.SGD([torch.nn.Parameter(torch.zeros(2))], lr=lr, momentum=0.9)


@pytest.mark.parametrize("how", ["pickle", "deepcopy"])
def test_copied_skip_unapplied_scheduler_counts_its_own_optimizers_steps(how):
    s = cyclr.Triangular(0.01, 0.1, step_size=4)
    opt = _one_param_sgd()
    sched = CyclicScheduler(opt, s, skip_unapplied=True)
    for _ in range(3):
        opt.step()
        sched.step()
    twin = pickle.loads(pickle.dumps(sched)) if how == "pickle" else copy.deepcopy(sched)
    twin_opt = twin.optimizer
    assert twin_opt is not opt and twin.last_epoch == 3
    for k in range(4, 12):
        twin_opt.step()
        twin.step()
        assert twin_opt.param_groups[0]["lr"] == s(k)
    twin.step()  # no optimizer step since the last scheduler step: held
    assert twin.last_epoch == 11 and twin_opt.param_groups[0]["lr"] == s(11)
    opt.step()  # the original's optimizer drives the original only
    twin.step()
    sched.step()
    assert twin.last_epoch == 11 and sched.last_epoch == 4
    assert opt.param_groups[0]["lr"] == s(4)


@pytest.mark.parametrize("kind", ["sgd", "adam"])
def test_load_state_dict_writes_the_current_lr_and_momentum_into_the_optimizer(kind):
    s = cyclr.OneCycle(0.2, total_steps=101)
    m = s.momentum()
    key = "momentum" if kind == "sgd" else "betas"

    def mom(opt):
        value = opt.param_groups[0][key]
        return value if kind == "sgd" else value[0]

    opt = _opt(kind, groups=2)
    sched = CyclicScheduler(opt, s, momentum=True, group_scale=[1.0, 0.5])
    for _ in range(30):
        opt.step()
        sched.step()
    opt_state, sched_state = opt.state_dict(), sched.state_dict()

    # Resume with the optimizer's state loaded before the scheduler is built: building the
    # scheduler writes schedule(0); loading its state must put schedule(30) back.
    opt = _opt(kind, groups=2)
    opt.load_state_dict(opt_state)
    sched = CyclicScheduler(opt, cyclr.Constant(0.5), momentum=cyclr.Constant(0.5))
    sched.load_state_dict(sched_state)
    assert [g["lr"] for g in opt.param_groups] == [s(30), s(30) * 0.5]
    assert sched.get_last_lr() == [s(30), s(30) * 0.5]
    assert mom(opt) == m(30)
    assert (round(s(30), 6), round(m(30), 6)) == (0.14, 0.883333)
    for k in range(31, 40):
        opt.step()
        sched.step()
        assert [g["lr"] for g in opt.param_groups] == [s(k), s(k) * 0.5]
        assert mom(opt) == m(k)


def test_load_state_dict_rejects_a_state_for_another_number_of_groups():
    sched = CyclicScheduler(_opt(groups=2), cyclr.Constant(0.1))
    state = CyclicScheduler(_opt(groups=1), cyclr.Constant(0.1)).state_dict()
    with pytest.raises(ValueError, match="schedules"):
        sched.load_state_dict(state)
    state = sched.state_dict()
    state["group_scales"] = [1.0]
    with pytest.raises(ValueError, match="group_scales"):
        sched.load_state_dict(state)


def _post_hooks(opt):
    return len(opt._optimizer_step_post_hooks)


def test_replaced_or_closed_schedulers_leave_no_hook_on_the_optimizer():
    opt = _one_param_sgd()
    s = cyclr.Triangular(0.01, 0.1, step_size=4)
    for _ in range(5):
        sched = CyclicScheduler(opt, s, skip_unapplied=True)
    gc.collect()
    assert _post_hooks(opt) == 1
    for k in range(1, 6):  # the survivor still counts the optimizer's steps
        opt.step()
        sched.step()
        assert opt.param_groups[0]["lr"] == s(k)
    del sched
    gc.collect()
    assert _post_hooks(opt) == 0
    sched = CyclicScheduler(opt, s, skip_unapplied=True)
    assert _post_hooks(opt) == 1
    sched.close()
    sched.close()  # idempotent
    assert _post_hooks(opt) == 0


def test_the_hook_does_not_keep_the_scheduler_alive():
    opt = _one_param_sgd()
    ref = weakref.ref(CyclicScheduler(opt, cyclr.Constant(0.1), skip_unapplied=True))
    gc.collect()
    assert ref() is None and _post_hooks(opt) == 0
    opt.step()  # no hook left to call


def test_pause_counting_hides_optimizer_steps_from_skip_unapplied_schedulers():
    s = cyclr.Triangular(0.01, 0.1, step_size=4)
    opt = _one_param_sgd()
    other = _one_param_sgd()
    a = CyclicScheduler(opt, s, skip_unapplied=True)
    b = CyclicScheduler(opt, s, skip_unapplied=True)
    c = CyclicScheduler(other, s, skip_unapplied=True)
    opt.step()
    other.step()
    for sched in (a, b, c):
        sched.step()
    with CyclicScheduler.pause_counting(opt):
        with CyclicScheduler.pause_counting(opt):  # nests
            opt.step()
        opt.step()
        other.step()
    a.step()
    b.step()
    c.step()
    assert (a.last_epoch, b.last_epoch, c.last_epoch) == (1, 1, 2)
    assert opt.param_groups[0]["lr"] == s(1) and other.param_groups[0]["lr"] == s(2)
    with pytest.raises(RuntimeError, match="boom"), CyclicScheduler.pause_counting(opt):
        opt.step()
        raise RuntimeError("boom")
    opt.step()  # counting is back after the block, even when it raised
    a.step()
    assert a.last_epoch == 2 and opt.param_groups[0]["lr"] == s(2)
    with pytest.raises(TypeError, match="optimizer"):
        CyclicScheduler.pause_counting("sgd")  # type: ignore[arg-type]


_np_real = st.sampled_from([np.float64, np.float32, float])
_np_int = st.sampled_from([np.int64, np.int32, np.uint16, int])


@st.composite
def _numpy_schedule(draw):
    """Every schedule type built from numpy scalars, as ``np.ceil(n / bs).astype(int)`` gives."""
    f, i = draw(_np_real), draw(_np_int)
    base, top = f(0.01), f(0.1)
    step = i(draw(st.integers(1, 50)))
    total = i(draw(st.integers(60, 500)))
    kind = draw(st.sampled_from(["tri", "tri2", "exp", "one", "pt", "fa", "const", "chain", "pw"]))
    if kind == "tri":
        return cyclr.Triangular(base, top, step, i(3))
    if kind == "tri2":
        return cyclr.Triangular2(base, top, step)
    if kind == "exp":
        return cyclr.ExpRange(base, top, step, f(0.99), decay=np.str_("amplitude"))
    if kind == "one":
        return cyclr.OneCycle(top, total, f(10.0), f(1e3), f(0.3), f(0.1), np.str_("cos"))
    if kind == "pt":
        return cyclr.OneCycle.pytorch(top, total, f(0.3), three_phase=np.bool_(True))
    if kind == "fa":
        return cyclr.OneCycle.fastai(top, total, f(0.25), f(25.0), f(1e5))
    if kind == "const":
        return cyclr.Constant(top)
    if kind == "pw":
        return cyclr.Piecewise(np.array([0, 5, 9]), np.array([0.1, 1.0, 0.1]))
    return cyclr.Chain((cyclr.Triangular(base, top, step), cyclr.OneCycle(top, total)), (step,))


@settings(max_examples=60, deadline=None)
@given(_numpy_schedule())
def test_numpy_built_schedules_give_a_checkpoint_that_loads_with_weights_only(s):
    opt = _one_param_sgd()
    momentum = None if isinstance(s, cyclr.Piecewise) else True
    sched = CyclicScheduler(opt, s, momentum=momentum)
    for _ in range(3):
        opt.step()
        sched.step()
    state = sched.state_dict()
    json.dumps(state)
    buf = io.BytesIO()
    torch.save({"sched": state}, buf)
    buf.seek(0)
    loaded = torch.load(buf, weights_only=True)["sched"]
    assert loaded == state
    fresh = CyclicScheduler(_one_param_sgd(), cyclr.Constant(0.5), momentum=momentum)
    fresh.load_state_dict(loaded)
    assert fresh.schedules == [s] and fresh.optimizer.param_groups[0]["lr"] == s(3)


def test_tensor_lr_and_betas_are_updated_in_place_as_torch_schedulers_do():
    s = cyclr.OneCycle.pytorch(0.1, total_steps=40, anneal_strategy="linear")
    m = s.momentum(0.85, 0.95)

    def make():
        p = torch.nn.Parameter(torch.zeros(2))
        betas = (torch.tensor(0.9, dtype=torch.float64), torch.tensor(0.999, dtype=torch.float64))
        return torch.optim.Adam([p], lr=torch.tensor(0.01, dtype=torch.float64), betas=betas)

    ref_opt, opt = make(), make()
    lr_t, beta_t = opt.param_groups[0]["lr"], opt.param_groups[0]["betas"][0]
    ref = OneCycleLR(ref_opt, 0.1, total_steps=40, anneal_strategy="linear", base_momentum=0.85)
    sched = CyclicScheduler(opt, s, momentum=m)
    for k in range(40):
        g, rg = opt.param_groups[0], ref_opt.param_groups[0]
        assert g["lr"] is lr_t and g["betas"][0] is beta_t
        assert isinstance(rg["lr"], torch.Tensor)
        assert g["lr"].item() == s(k) and g["betas"][0].item() == m(k)
        assert _rel_close(g["lr"].item(), rg["lr"].item())
        assert g["betas"][1].item() == 0.999
        opt.step()
        sched.step()
        ref_opt.step()
        ref.step()


def _order_warnings(make_scheduler, calls):
    opt = _one_param_sgd()
    sched = make_scheduler(opt)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        for call in calls:
            (opt.step if call == "opt" else sched.step)()
    return [str(w.message) for w in seen if "optimizer.step()" in str(w.message)]


@pytest.mark.parametrize(
    "calls",
    [
        ["opt", "sched", "opt", "sched"],
        ["sched", "opt", "sched"],
        ["sched", "sched"],
        ["opt", "opt", "sched", "sched"],
    ],
)
def test_step_order_warnings_match_torch(calls):
    torch_said = _order_warnings(lambda o: CyclicLR(o, 0.01, 0.1, step_size_up=4), calls)
    we_said = _order_warnings(
        lambda o: CyclicScheduler(o, cyclr.Triangular(0.01, 0.1, 4), momentum=True), calls
    )
    assert [w[:40] for w in we_said] == [w[:40] for w in torch_said]
    assert bool(we_said) == (calls[0] == "sched")


def test_scheduler_step_before_optimizer_step_warns():
    opt = _one_param_sgd()
    sched = CyclicScheduler(opt, cyclr.Triangular(0.01, 0.1, 4))
    with pytest.warns(UserWarning, match=r"`lr_scheduler.step\(\)` before `optimizer.step\(\)`"):
        sched.step()
    opt = _one_param_sgd()
    sched = CyclicScheduler(opt, cyclr.Triangular(0.01, 0.1, 4))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for _ in range(3):
            opt.step()
            sched.step()


def test_group_scale_ratio_is_over_the_first_group_with_a_positive_lr():
    opt = _opt(groups=2)
    opt.param_groups[0]["lr"] = 0.0
    opt.param_groups[1]["lr"] = 0.2
    sched = CyclicScheduler(opt, cyclr.Triangular(0.1, 0.5, 4), group_scale="ratio")
    assert sched.group_scales == [0.0, 1.0]
    assert [g["lr"] for g in opt.param_groups] == [0.0, 0.1]


def test_group_scale_zero_keeps_a_group_frozen_and_negative_is_refused():
    sched = CyclicScheduler(_opt(groups=2), cyclr.Triangular(0.1, 0.5, 4), group_scale=[1.0, 0])
    sched.optimizer.step()
    sched.step()
    assert [g["lr"] for g in sched.optimizer.param_groups] == [0.2, 0.0]
    with pytest.raises(ValueError, match=r"group_scale\[1\] must be >= 0, got -0.5"):
        CyclicScheduler(_opt(groups=2), cyclr.Triangular(0.1, 0.5, 4), group_scale=[1.0, -0.5])
    opt = _opt(groups=2)
    for g in opt.param_groups:
        g["lr"] = 0.0
    with pytest.raises(ValueError, match="group_scale='ratio' needs a positive LR"):
        CyclicScheduler(opt, cyclr.Triangular(0.1, 0.5, 4), group_scale="ratio")
