"""cyclr.online.OnlineController (numpy core): the warm-up ramp, the decision, the 1cycle / CLR
after it, the blow-up guard and the state, against formulas written out plainly here."""

from __future__ import annotations

import json
import math
from statistics import NormalDist

import numpy as np
import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

import cyclr.suggest
from cyclr.online import OnlineController
from cyclr.range_test.result import RangeTestResult
from cyclr.suggest import SuggestionError

# ---------------------------------------------------------------------------------------------
# Independent references.

NOISE = 0.02


def curve(lr: float) -> float:
    """A loss-vs-LR curve: flat at 2.3, falls around lr=0.01, floor near 0.05, blows up past 0.3."""
    return 2.3 - 1.8 / (1 + (0.01 / lr) ** 1.5) + 3 * (lr / 0.3) ** 3


def ramp(t: int, start: float, end: float, warmup: int) -> float:
    return start * (end / start) ** (t / (warmup - 1))


def warmup_momentum(t: int, warmup: int, hi: float = 0.95, lo: float = 0.85) -> float:
    return hi - (hi - lo) * min(t / (warmup - 1), 1.0)


def one_cycle_after(t, d, total, top, div=10.0, final_div=1e3, pct=0.1):
    """Linear from top at d to top/div at (1 - pct)(total - 1), then to top/div/final_div at
    total - 1, held after."""
    a, last = (1 - pct) * (total - 1), total - 1
    low = top / div
    if t <= a:
        return top + (low - top) * (t - d) / (a - d)
    if t <= last:
        return low + (low / final_div - low) * (t - a) / (last - a)
    return low / final_div


def triangle_from_peak(t, d, base, top, size):
    """A triangle wave between base and top with half cycle ``size``, at its peak at t = d."""
    phase = (t - d) % (2 * size)
    if phase <= size:
        return top - (top - base) * phase / size
    return base + (top - base) * (phase - size) / size


def feed_curve(s: OnlineController, seed: int = 0, limit: int | None = None) -> list[float]:
    """Feed ``curve(lr) + noise`` until the schedule decides (or ``limit`` updates)."""
    rng = np.random.default_rng(seed)
    fed = []
    while s.decided_at is None and (limit is None or len(fed) < limit):
        loss = curve(s.lr()) + NOISE * rng.standard_normal()
        s.observe(loss)
        fed.append(loss)
    return fed


def training_loss(t: int) -> float:
    """A calm loss after the decision: slowly falling, never blowing up."""
    return 0.5 + 0.1 * math.exp(-t / 500)


def prefix(r: RangeTestResult, n: int) -> RangeTestResult:
    """The warm-up curve as it was after its first ``n`` updates (the EMA is causal)."""
    return RangeTestResult(
        lr=r.lr[:n],
        loss=r.loss[:n],
        smoothed_loss=r.smoothed_loss[:n],
        mode="exp",
        config=dict(r.config),
    )


def ready(r: RangeTestResult, z_looks: float, base_frac: float = 0.1) -> bool:
    """The decision rule of the module docstring, on a curve: the reading passes at z and at
    z_looks, the plateau ended >= one kernel width before the last point, and the smoothed fit
    has risen by base_frac of the fall and by more than z_looks standard errors."""
    try:
        b = cyclr.suggest.suggest(r, "loss")
        cyclr.suggest.suggest(r, "loss", z=z_looks)
    except SuggestionError:
        return False
    right = b.reading.plateau[1]
    right_at = int(np.flatnonzero(r.lr >= right)[0])
    past = len(r.lr) - 1 - right_at
    fit = b.curve_values
    risen = fit[-1] - min(fit)
    se = math.hypot(b.reading.se_best, b.reading.se_last)
    return (
        past >= b.reading.smoothing_steps
        and risen >= base_frac * b.reading.change
        and risen > z_looks * se
    )


# ---------------------------------------------------------------------------------------------
# The rise.


def test_the_warmup_lr_and_momentum_are_the_exponential_ramp_written_out():
    start, end, warmup = 1e-5, 1.0, 120
    s = OnlineController(
        "one_cycle", total_steps=400, warmup_steps=warmup, start_lr=start, end_lr=end
    )
    # a constant loss is never read (flat) and never blows up: the ramp runs to its last update
    for t in range(warmup - 1):
        assert s.step == t
        assert s.lr() == pytest.approx(ramp(t, start, end, warmup), rel=1e-12)
        assert s.momentum() == pytest.approx(warmup_momentum(t, warmup), rel=1e-12)
        s.observe(1.0)
    assert s.decided_at is None
    assert s.lr(0) == start
    assert s.lr(warmup - 1) == pytest.approx(end, rel=1e-12)
    assert s.lr(warmup + 50) == pytest.approx(end, rel=1e-12)  # the ramp stops at end_lr
    assert s.momentum(warmup - 1) == pytest.approx(0.85)
    # the recorded curve is the ramp and the losses fed
    r = s.result()
    want = [ramp(t, start, end, warmup) for t in range(warmup - 1)]
    np.testing.assert_allclose(r.lr, want, rtol=1e-12)
    assert r.mode == "exp" and list(r.loss) == [1.0] * (warmup - 1)
    assert s.log == []


def test_the_default_warmup_is_the_rising_half_of_the_one_cycle():
    s = OnlineController("one_cycle", total_steps=1001)
    assert s.warmup_steps == int(0.9 / 2 * 1000) == 450
    assert s.check_every == 4  # warmup // 100
    s = OnlineController("one_cycle", total_steps=1001, pct_annihilate=0.3)
    assert s.warmup_steps == 350


def test_z_looks_keeps_the_false_reading_rate_of_one_look():
    s = OnlineController("one_cycle", total_steps=1000)  # warmup 449, check_every 4: 113 looks
    looks = math.ceil(449 / 4)
    p = (1 - NormalDist().cdf(3.0)) / looks
    assert s.z_looks == pytest.approx(NormalDist().inv_cdf(1 - p), rel=1e-6)
    s = OnlineController("one_cycle", total_steps=1000, suggest_kwargs={"z": 2.0}, check_every=449)
    assert s.z_looks == pytest.approx(2.0, rel=1e-6)  # one look: no correction


# ---------------------------------------------------------------------------------------------
# The decision.


@pytest.mark.parametrize(
    ("policy", "max_lr_from"),
    [("one_cycle", None), ("one_cycle", "rule"), ("triangular", None)],
)
def test_it_decides_in_the_warmup_with_the_offline_rules_reading(policy, max_lr_from):
    s = OnlineController(policy, total_steps=1000, max_lr_from=max_lr_from)
    fed = feed_curve(s)
    d = s.decided_at
    assert d is not None and d == len(fed) < s.warmup_steps
    assert s.lr() == s.bounds.max_lr  # the LR drops to max_lr at once

    # the shared reading: the offline rule on the same curve
    r = s.result()
    assert len(r.lr) == d and list(r.loss) == fed
    b = cyclr.suggest.suggest(r, "loss")
    plateau_end = b.reading.plateau[1]
    if policy == "one_cycle" and max_lr_from is None:  # 1cycle peaks at the plateau's end
        assert s.bounds.max_lr == plateau_end
        assert s.bounds.base_lr == min(b.base_lr, plateau_end)
        assert s.bounds.details["rule_max_lr"] == b.max_lr
        assert s.bounds.details["max_lr_from"] == "plateau_end"
        # the max_lr point, moved to the plateau's end, sits on the analysed curve there
        (p,) = [p for p in s.bounds.points if p.label == "max_lr"]
        x, y = np.log(s.bounds.curve_lr), np.asarray(s.bounds.curve_values)
        assert p.lr == s.bounds.max_lr
        assert p.value == pytest.approx(float(np.interp(np.log(p.lr), x, y)), rel=1e-12)
    else:
        assert (s.bounds.base_lr, s.bounds.max_lr) == (b.base_lr, b.max_lr)
    assert s.bounds.details["online_decided_at"] == d

    # it is the first look at which the rule of the docstring holds
    assert ready(r, s.z_looks)
    earlier = [n for n in range(32, d) if n % s.check_every == 0]
    assert earlier and not any(ready(prefix(r, n), s.z_looks) for n in earlier)
    right_at = int(np.flatnonzero(r.lr >= plateau_end)[0])
    assert d - 1 - right_at >= b.reading.smoothing_steps

    # against the curve itself: its floor lies between 0.02 and 0.15, the blow-up past 0.3
    assert 1e-3 < s.bounds.base_lr < s.bounds.max_lr < 0.15
    assert any("bounds read" in line for line in s.log)


def test_a_slow_fall_at_a_tiny_lr_is_not_read_as_a_floor():
    # A model that learns a little at every update, even at lr ~ 1e-6 (a transformer under
    # AdamW): the loss drifts down by 0.0008 per update, noise 0.012, before the real valley at
    # lr ~ 3e-3. Noise on the drifting start must not pass for "the loss left its floor": the
    # rise past the floor has to be significant too (without that test seed 1 read max_lr 2e-6
    # at update 36).
    for seed in range(10):
        rng = np.random.default_rng(seed)
        s = OnlineController("one_cycle", total_steps=1500)
        while s.decided_at is None:
            t, lr = s.step, s.lr()
            valley = -2.3 / (1 + (0.003 / lr) ** 2) + 50 * lr**2
            s.observe(3.37 - 0.0008 * min(t, 400) + valley + 0.012 * rng.standard_normal())
        assert s.decided_at > 400, seed
        assert 0.01 < s.bounds.max_lr < 0.1, seed
        assert "standard errors" in s.log[-1]


# ---------------------------------------------------------------------------------------------
# After the decision.


def test_one_cycle_after_the_decision_is_the_piecewise_formula():
    total = 1000
    s = OnlineController("one_cycle", total_steps=total)
    feed_curve(s)
    d, top, w = s.decided_at, s.bounds.max_lr, s.warmup_steps
    m0 = warmup_momentum(d - 1, w)  # where momentum stood when the LR stopped rising
    a = 0.9 * (total - 1)
    for t in range(d, total + 20):
        want = one_cycle_after(t, d, total, top)
        assert s.step == t
        assert s.lr() == pytest.approx(want, rel=1e-9), t
        assert s.lr(t) == s.lr()
        frac = min(max((top - min(want, top)) / (top - top / 10), 0.0), 1.0)
        assert s.momentum() == pytest.approx(m0 + (0.95 - m0) * frac, rel=1e-9), t
        s.observe(training_loss(t))
    assert s.scale == 1.0 and s.lr(total - 1) == pytest.approx(top / 10 / 1e3, rel=1e-12)
    assert s.lr(int(a)) == pytest.approx(top / 10, rel=1e-2)
    assert s.momentum(d) == pytest.approx(m0) and s.momentum(total - 1) == 0.95
    assert s.momentum(math.ceil(a)) == 0.95
    # the LR before the decision is still the ramp
    assert s.lr(d - 1) == pytest.approx(ramp(d - 1, 1e-6, 10.0, w), rel=1e-12)


def test_triangular_after_the_decision_is_a_triangle_wave_from_its_peak():
    size = 60
    s = OnlineController("triangular", total_steps=2000, warmup_steps=449, step_size=size)
    feed_curve(s)
    d, base, top = s.decided_at, s.bounds.base_lr, s.bounds.max_lr
    assert base < top
    for t in range(d, d + 7 * size):
        assert s.lr() == pytest.approx(triangle_from_peak(t, d, base, top, size), rel=1e-9), t
        s.observe(training_loss(t))
    assert s.lr(d) == top and s.lr(d + size) == pytest.approx(base, rel=1e-12)
    assert s.lr(d + 2 * size) == pytest.approx(top, rel=1e-12)
    # momentum is lowest at the peak and back at max_momentum at the trough
    assert s.momentum(d + size) == pytest.approx(0.95) and s.momentum(d) < 0.95


def test_triangular_default_half_cycle_ends_training_at_a_trough():
    total = 2000
    s = OnlineController("triangular", total_steps=total, warmup_steps=449)
    feed_curve(s)
    d, base, top = s.decided_at, s.bounds.base_lr, s.bounds.max_lr
    lrs = np.array([s.lr(t) for t in range(d, total)])
    size = int(np.flatnonzero(np.diff(lrs) > 0)[0])  # the first trough: a half cycle on
    assert lrs[size] == pytest.approx(base, rel=1e-12)
    assert 0.5 * d <= size <= 2 * d  # about the warm-up's length
    for t in range(d, total):
        assert s.lr(t) == pytest.approx(triangle_from_peak(t, d, base, top, size), rel=1e-9)
    # an odd number of half cycles from the peak: the last update sits at (next to) a trough
    n = (total - d) // size
    assert n % 2 == 1
    assert s.lr(total - 1) - base <= (top - base) * max(1, n - 2) / size + 1e-15


# ---------------------------------------------------------------------------------------------
# Blow-ups.


@pytest.mark.parametrize("bad", [100.0, float("nan")])
def test_a_blow_up_in_the_warmup_decides_at_once_and_is_logged(bad):
    s = OnlineController("one_cycle", total_steps=1000)
    fed = feed_curve(s, limit=290)  # the loss has fallen onto its floor (lr ~ 0.035)
    assert s.decided_at is None
    lr_blown = s.lr()
    extra = 0
    while s.decided_at is None:
        s.observe(bad)
        extra += 1
        assert extra <= 5, "a loss of 100 (25x the floor) must blow the smoothed loss up fast"
    if math.isnan(bad):
        assert extra == 1 and len(s.result().lr) == len(fed)  # the NaN is not recorded
        assert "non-finite" in s.log[0]
    else:
        assert len(s.result().lr) == len(fed) + extra
        assert "past 4x its low" in s.log[0]
    assert s.decided_at == len(fed) + extra and s.blew_up
    assert "blew up" in s.log[0] and "in the warm-up" in s.log[0]
    r = s.result()
    assert r.stop_reason == "diverged"
    # read up to there with the same offline rule
    b = cyclr.suggest.suggest(r, "loss")
    assert s.bounds.max_lr == b.reading.plateau[1]
    assert s.bounds.max_lr < lr_blown  # below where it blew up
    assert s.lr() == s.bounds.max_lr


def test_a_finite_blow_up_in_the_warmup_is_handled_once():
    s = OnlineController("one_cycle", total_steps=1000)
    feed_curve(s, limit=290)
    while s.decided_at is None:
        s.observe(100.0)
    d = s.decided_at
    for _ in range(5):
        s.observe(0.6)  # below anything seen in the warm-up: no blow-up here
    assert s.scale == 1.0
    assert [line for line in s.log if "blew up at" in line] == []
    assert s.lr() == pytest.approx(one_cycle_after(d + 5, d, 1000, s.bounds.max_lr), rel=1e-9)


def test_a_warmup_without_a_reading_falls_back_to_the_minimum_rule():
    # a shallow fall: significant at z=3 (one look) but not at z_looks (100 looks), so the
    # warm-up runs to its end unread and 'minimum' (the lowest smoothed loss's LR / 10) decides
    rng = np.random.default_rng(0)
    s = OnlineController("one_cycle", total_steps=400, warmup_steps=100, start_lr=1e-4, end_lr=1.0)
    while s.decided_at is None:
        s.observe(2.3 - 0.04 / (1 + (0.01 / s.lr()) ** 2) + 0.05 * rng.standard_normal())
    assert s.decided_at == s.warmup_steps == 100
    r = s.result()
    cyclr.suggest.suggest(r, "loss")  # one look reads it
    with pytest.raises(SuggestionError, match="flat"):
        cyclr.suggest.suggest(r, "loss", z=s.z_looks)
    assert "without a reading" in s.log[0] and "'minimum' rule" in s.log[0]
    b = cyclr.suggest.suggest(r, "minimum")
    assert (s.bounds.base_lr, s.bounds.max_lr) == (b.base_lr, b.max_lr)
    assert s.lr() == b.max_lr


def test_a_blow_up_after_the_decision_halves_the_rest():
    total = 1000
    s = OnlineController("one_cycle", total_steps=total)
    feed_curve(s)
    d, top = s.decided_at, s.bounds.max_lr
    for t in range(d, d + 20):
        s.observe(training_loss(t))
    assert s.scale == 1.0 and len(s.log) == 1
    s.observe(float("nan"))  # update d + 20
    assert s.scale == 0.5 and "halved" in s.log[-1] and f"update {d + 20}" in s.log[-1]
    for t in range(d + 21, total):
        assert s.lr(t) == pytest.approx(0.5 * one_cycle_after(t, d, total, top), rel=1e-9)
    # the divergence test restarts after a halving: calm losses give it a low again
    for t in range(d + 21, d + 31):
        s.observe(training_loss(t))
    assert s.scale == 0.5
    # a finite blow-up: the smoothed loss past 4x its low halves once; the test then restarts
    # from the raised level, so a loss that stays there halves nothing more
    for _ in range(30):
        s.observe(100.0)
    assert s.scale == 0.25 and len(s.log) == 3 and "x0.25" in s.log[-1]
    assert s.lr() == pytest.approx(0.25 * one_cycle_after(s.step, d, total, top), rel=1e-9)
    assert s.lr(d - 1) == pytest.approx(ramp(d - 1, 1e-6, 10.0, s.warmup_steps), rel=1e-12)
    # past updates keep the scale they ran at
    (u1, s1), (u2, s2) = s.halvings
    assert (u1, s1, s2) == (d + 20, 0.5, 0.25) and u2 > u1
    assert s.lr(d + 20) == pytest.approx(one_cycle_after(d + 20, d, total, top), rel=1e-9)
    assert s.lr(u2) == pytest.approx(0.5 * one_cycle_after(u2, d, total, top), rel=1e-9)
    assert s.lr(u2 + 1) == pytest.approx(0.25 * one_cycle_after(u2 + 1, d, total, top), rel=1e-9)


# ---------------------------------------------------------------------------------------------
# State.


def run_with_checkpoint(kwargs, total, k, blow_up_at=None, spike_from=None):
    """Run A to the end; at update k restore a fresh B from A's state (through JSON) and run
    it on the same losses. Returns (A, B, A's and B's (lr, momentum) from k on)."""
    noise = np.random.default_rng(1).standard_normal(total)

    def loss(s, t):
        if t == blow_up_at:
            return float("nan")
        if spike_from is not None and spike_from <= t < spike_from + 5:
            return 100.0
        if s.decided_at is None:
            return curve(s.lr()) + NOISE * noise[t]
        return training_loss(t) + 0.01 * noise[t]

    a = OnlineController(**kwargs)
    a_path, state = [], None
    for t in range(total):
        if t == k:
            state = json.loads(json.dumps(a.state_dict()))
        if t >= k:
            a_path.append((a.lr(), a.momentum()))
        a.observe(loss(a, t))
    b = OnlineController(**kwargs)
    b.load_state_dict(state)
    b_path = []
    for t in range(k, total):
        assert b.step == t
        b_path.append((b.lr(), b.momentum()))
        b.observe(loss(b, t))
    return a, b, a_path, b_path


@pytest.mark.parametrize("policy", ["one_cycle", "triangular"])
@pytest.mark.parametrize("k", [0, 150, 300, 600])
def test_state_round_trip_continues_the_same_trajectory(policy, k):
    total = 1000
    kwargs = {"policy": policy, "total_steps": total, "warmup_steps": 449}
    a, b, a_path, b_path = run_with_checkpoint(kwargs, total, k)
    assert a.decided_at is not None and a.decided_at < 449
    if k in (150, 300):
        assert k < a.decided_at  # a mid-warm-up checkpoint
    if k == 600:
        assert k > a.decided_at  # a checkpoint after the decision
    assert b_path == a_path
    assert b.decided_at == a.decided_at
    assert (b.bounds.base_lr, b.bounds.max_lr) == (a.bounds.base_lr, a.bounds.max_lr)
    assert b.log == a.log and b.scale == a.scale
    assert json.dumps(b.state_dict()) == json.dumps(a.state_dict())


def test_state_round_trip_after_a_halving():
    total = 1000
    kwargs = {"policy": "one_cycle", "total_steps": total}
    a, b, a_path, b_path = run_with_checkpoint(kwargs, total, k=700, blow_up_at=650)
    assert a.scale == 0.5 and b.scale == 0.5
    assert b_path == a_path


def test_state_round_trip_keeps_the_divergence_test():
    # a loss spike 3 updates after the checkpoint: seen at its first value of 100 only with
    # the smoothed loss's history (a fresh EMA would need 5 values first)
    total = 1000
    kwargs = {"policy": "one_cycle", "total_steps": total}
    a, b, a_path, b_path = run_with_checkpoint(kwargs, total, k=600, spike_from=603)
    assert a.scale == 0.5 and "update 603" in a.log[-1]
    assert b_path == a_path and b.log == a.log


@pytest.mark.parametrize("rollback", [True, False])
def test_the_decision_records_where_the_weights_go_back_to(rollback):
    s = OnlineController("one_cycle", total_steps=1000, rollback=rollback)
    floors, rng = [], np.random.default_rng(0)
    while s.decided_at is None:
        before = s.floor_at
        s.observe(curve(s.lr()) + NOISE * rng.standard_normal())
        if s.floor_at != before:
            floors.append(s.floor_at)
    d = s.decided_at
    # floor_at only moves forward, to the update count at a look
    assert floors == sorted(floors) and all(f % s.check_every == 0 for f in floors)
    if rollback:
        assert s.rolled_back_to == floors[-1] < d
        assert f"go back to those after update {floors[-1]}" in s.log[-1]
    else:
        assert s.rolled_back_to is None and "go back" not in s.log[-1]
    b = OnlineController("one_cycle", total_steps=1000, rollback=rollback)
    b.load_state_dict(json.loads(json.dumps(s.state_dict())))
    assert (b.floor_at, b.rolled_back_to) == (s.floor_at, s.rolled_back_to)


def test_load_state_dict_rejects_other_data():
    s = OnlineController("one_cycle", total_steps=1000)
    with pytest.raises(ValueError, match="missing"):
        s.load_state_dict({"step": 3})
    with pytest.raises(TypeError, match="mapping"):
        s.load_state_dict([("step", 3)])


@pytest.mark.parametrize(
    ("saved_kwargs", "other_kwargs", "named"),
    [
        ({"total_steps": 400}, {"total_steps": 1000}, "total_steps=400 vs 1000"),
        (
            {"total_steps": 1000},
            {"total_steps": 1000, "div_factor": 25.0},
            "div_factor=10.0 vs 25.0",
        ),
        ({"total_steps": 1000}, {"total_steps": 1000, "end_lr": 1.0}, "end_lr=10.0 vs 1.0"),
        ({"total_steps": 1000}, {"total_steps": 1000, "rollback": False}, "rollback=True vs False"),
        (
            {"total_steps": 1000, "suggest_kwargs": {"margin": 2.5}},
            {"total_steps": 1000},
            "suggest_kwargs={'margin': 2.5} vs {}",
        ),
    ],
)
def test_a_state_saved_with_other_settings_is_refused(saved_kwargs, other_kwargs, named):
    a = OnlineController("one_cycle", **saved_kwargs)
    feed_curve(a, limit=80)
    state = json.loads(json.dumps(a.state_dict()))
    b = OnlineController("one_cycle", **other_kwargs)
    before = json.dumps(b.state_dict())
    with pytest.raises(ValueError, match=named.replace("(", r"\(").replace("{", r"\{")):
        b.load_state_dict(state)
    assert json.dumps(b.state_dict()) == before  # nothing was loaded
    # the same settings load, through JSON too
    c = OnlineController("one_cycle", **saved_kwargs)
    c.load_state_dict(state)
    assert c.step == 80 and c.losses == a.losses and c.settings() == a.settings()


# ---------------------------------------------------------------------------------------------
# Arguments.


@pytest.mark.parametrize(
    ("kwargs", "error", "name"),
    [
        ({"policy": "exp_range", "total_steps": 1000}, ValueError, "policy"),
        ({"policy": "triangular2", "total_steps": 1000}, ValueError, "policy"),
        ({"total_steps": 50}, ValueError, "total_steps"),  # a warm-up of 22 updates
        ({"total_steps": 100, "warmup_steps": 60}, ValueError, "total_steps"),
        ({"total_steps": None}, ValueError, "total_steps"),
        ({"policy": "one_cycle", "total_steps": None, "warmup_steps": 100}, ValueError, "total"),
        ({"policy": "triangular"}, ValueError, "total_steps"),
        ({"total_steps": 1000.0}, TypeError, "total_steps"),
        ({"total_steps": 1000, "start_lr": 1e-2, "end_lr": 1e-2}, ValueError, "end_lr"),
        ({"total_steps": 1000, "start_lr": 1.0, "end_lr": 1e-3}, ValueError, "end_lr"),
        ({"total_steps": 1000, "start_lr": 0.0}, ValueError, "start_lr"),
        ({"total_steps": 1000, "method": "steepest"}, ValueError, "method"),
        ({"total_steps": 1000, "method": "minimum"}, ValueError, "method"),
        ({"total_steps": 1000, "warmup_steps": 10}, ValueError, "warmup_steps"),
        ({"policy": "triangular", "warmup_steps": 31}, ValueError, "warmup_steps"),
        ({"total_steps": 1000, "warmup_steps": 100.5}, TypeError, "warmup_steps"),
        ({"total_steps": 1000, "check_every": 0}, ValueError, "check_every"),
        ({"total_steps": 1000, "rollback": 1}, TypeError, "rollback"),
        ({"total_steps": 1000, "step_size": 0}, ValueError, "step_size"),
        ({"total_steps": 1000, "smooth": 1.0}, ValueError, "smooth"),
        ({"total_steps": 1000, "pct_annihilate": 1.0}, ValueError, "pct_annihilate"),
        ({"total_steps": 1000, "div_factor": -1.0}, ValueError, "div_factor"),
        ({"total_steps": 1000, "div_factor": 0.5}, ValueError, r"div_factor must be >= 1, got 0.5"),
        ({"total_steps": 1000, "final_div_factor": 0.5}, ValueError, "final_div_factor.*0.5"),
        ({"total_steps": 1000, "final_div_factor": math.inf}, ValueError, "final_div_factor"),
        ({"total_steps": 1000, "cycle_momentum": 1}, TypeError, "cycle_momentum"),
        ({"total_steps": 1000, "base_momentum": 0.99}, ValueError, "base_momentum"),
        ({"total_steps": 1000, "max_lr_from": "centre"}, ValueError, "max_lr_from"),
        ({"total_steps": 1000, "suggest_kwargs": {"margn": 2.0}}, TypeError, "margn"),
        ({"total_steps": 1000, "suggest_kwargs": {"z": -1.0}}, ValueError, "z must"),
    ],
)
def test_bad_arguments_name_the_argument(kwargs, error, name):
    with pytest.raises(error, match=name):
        OnlineController(**kwargs)


def test_good_edge_arguments_are_accepted():
    OnlineController("one_cycle", total_steps=64, warmup_steps=32)  # exactly 2 x warm-up
    s = OnlineController("triangular", warmup_steps=32)  # no training length needed
    assert s.total_steps is None and s.method == "loss"
    assert OnlineController("one_cycle", total_steps=1000, method="auto").method == "auto"
    flat = OnlineController("one_cycle", total_steps=1000, div_factor=1, final_div_factor=1.0)
    assert (flat.div_factor, flat.final_div_factor) == (1.0, 1.0)


@pytest.mark.parametrize(("factor", "value"), [("div_factor", 0.5), ("final_div_factor", 0.01)])
def test_factors_below_one_would_raise_the_lr_after_max_lr_and_are_refused(factor, value):
    # with a factor of 1 the LR after the decision never rises above max_lr
    s = OnlineController("one_cycle", total_steps=400, **{factor: 1.0})
    feed_curve(s)
    assert max(s.lr(t) for t in range(s.decided_at, 400)) == s.bounds.max_lr
    with pytest.raises(ValueError, match=f"{factor} must be >= 1, got {value}"):
        OnlineController("one_cycle", total_steps=400, **{factor: value})


# ---------------------------------------------------------------------------------------------
# Properties.

losses = st.one_of(
    st.floats(1e-3, 1e3, allow_nan=False, allow_infinity=False),
    st.just(float("nan")),
)


@st.composite
def loss_streams(draw):
    """``loss(t, lr)``: either a raw random sequence, or a random loss-vs-LR curve (floor,
    depth, blow-up, noise) with random spikes and NaNs on top; positive or NaN."""
    if draw(st.booleans()):
        seq = draw(st.lists(losses, min_size=1, max_size=150))
        return len(seq), lambda t, lr: seq[t]
    floor = 10 ** draw(st.floats(-5.0, 0.5))
    depth = draw(st.floats(0.05, 2.2))
    wall = floor * draw(st.floats(1.5, 1e3))
    sigma = draw(st.floats(0.0, 0.3))
    n = draw(st.integers(1, 200))
    seed = draw(st.integers(0, 2**32 - 1))
    events = draw(st.dictionaries(st.integers(0, n - 1), losses, max_size=5))
    noise = np.random.default_rng(seed).standard_normal(n)

    def loss(t, lr):
        if t in events:
            return events[t]
        clean = 2.3 - depth / (1 + (floor / lr) ** 1.5) + 3 * (lr / wall) ** 3
        return max(clean, 1e-3) * math.exp(sigma * noise[t])

    return n, loss


@settings(max_examples=150, deadline=None)
@given(
    loss_streams(),
    st.sampled_from(["one_cycle", "triangular"]),
    st.sampled_from([40, 64]),
    st.sampled_from([1, 4, 9]),
)
def test_the_lr_stays_finite_positive_and_within_its_bounds(stream, policy, warmup, every):
    n, loss = stream
    s = OnlineController(
        policy,
        total_steps=3 * warmup,
        warmup_steps=warmup,
        check_every=every,
        start_lr=1e-5,
        end_lr=10.0,
    )
    for t in range(n):
        lr = s.lr()
        assert math.isfinite(lr) and lr > 0
        assert lr <= s.end_lr * (1 + 1e-12)
        assert 0.85 <= s.momentum() <= 0.95
        if s.decided_at is not None:
            assert lr <= s.bounds.max_lr * s.scale * (1 + 1e-12)
            assert 0 < s.bounds.base_lr <= s.bounds.max_lr <= s.end_lr
        try:
            s.observe(loss(t, lr))
        except SuggestionError as exc:
            # documented: a warm-up with nothing readable (not even by the 'minimum' rule)
            assert "could not be read" in str(exc) and s.decided_at is None
            event("unreadable")
            return
    if s.step >= s.warmup_steps:
        assert s.decided_at is not None and s.decided_at <= s.warmup_steps
    event("decided" if s.decided_at is not None else "undecided")
    event(f"halved {s.scale < 1}")
    event(f"blew up in the warm-up {s.blew_up}")


def _faint_fall(seed: int, amp: float) -> OnlineController:
    """A warm-up whose loss falls by ``amp`` under noise 0.01, run to the end of training."""
    rng = np.random.default_rng(seed)
    s = OnlineController("one_cycle", 400, warmup_steps=128, check_every=16)
    for _ in range(400):
        s.observe(2.3 - amp / (1 + 1e-3 / s.lr()) + rng.normal(0, 0.01))
    return s


def test_each_look_reads_the_curve_once(monkeypatch: pytest.MonkeyPatch) -> None:
    import cyclr.online.schedule as module

    calls: list[float] = []

    def counted(result: RangeTestResult, method: str, **options: float) -> cyclr.Bounds:
        calls.append(options.get("z", 3.0))
        return cyclr.suggest.suggest(result, method, **options)

    monkeypatch.setattr(module, "suggest", counted)
    s = _faint_fall(0, 0.3)
    assert s.decided_at is not None
    looks = s.decided_at // s.check_every - 1  # from MIN_WARMUP = 32 on, every 16 updates
    assert calls == [3.0] * looks


def test_a_fall_significant_at_z_but_not_at_z_looks_ends_with_the_rule_s_refusal() -> None:
    s = _faint_fall(1, 0.01)
    assert s.decided_at == 128
    refusal = f"within {s.z_looks:g} standard errors of the noise"
    assert refusal in s.log[0] and s.log[0].endswith("max_lr from the 'minimum' rule")
    assert s.bounds is not None and s.bounds.method == "minimum"
    reading = cyclr.suggest.suggest(s.result(), "loss").reading
    assert reading is not None
    assert 3.0 * reading.tested_se < reading.tested_change <= s.z_looks * reading.tested_se
