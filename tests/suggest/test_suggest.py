"""Suggestion rules on synthetic curves with known answers, the cannot-suggest cases, the
single-LR rules against their reference definitions, and properties."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import cyclr
import cyclr.suggest as sg
from cyclr.range_test.recipe import linear_range
from cyclr.suggest import _curve as cv
from cyclr.suggest import _rise as rs


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-x))


def ramp(
    mode: str = "linear",
    n: int = 400,
    seed: int = 0,
    noise: float = 0.04,
    center: float = 0.2,
    width: float = 0.03,
    fall: float = 0.6,
    val_every: int | None = None,
) -> cyclr.RangeTestResult:
    """Accuracy: a sigmoid ramp 0.1 -> 0.9 centred at ``center`` that collapses at ``fall``; the
    loss mirrors it and blows up at ``fall``. Gaussian noise on both."""
    rng = np.random.default_rng(seed)
    if mode == "linear":
        lr = np.linspace(1e-3, 1.0, n)
        u, c, w, f = lr, center, width, fall
    else:
        lr = np.geomspace(1e-5, 10.0, n)
        u, c, w, f = np.log10(lr), np.log10(center), 0.15, np.log10(fall)
    up, down = sigmoid((u - c) / w), sigmoid((u - f) / (w / 2))
    acc = 0.1 + 0.8 * up * (1 - down) + rng.normal(0, noise, n)
    loss = 2.3 - 1.8 * up + 6 * down + rng.normal(0, 2 * noise, n)
    kw: dict[str, object] = {}
    if val_every:
        steps = np.arange(0, n, val_every)
        kw = {
            "val_step": steps,
            "val_metric": acc[steps] * 0
            + (0.1 + 0.8 * up * (1 - down))[steps]
            + rng.normal(0, noise / 3, len(steps)),
            "val_loss": loss[steps],
        }
    return cyclr.RangeTestResult(
        lr=lr,
        loss=loss,
        smoothed_loss=ema(loss),
        metric=acc,
        mode=mode,
        metric_name="accuracy",
        **kw,
    )  # type: ignore[arg-type]


def ema(x: np.ndarray, beta: float = 0.98) -> np.ndarray:
    out, avg = [], 0.0
    for i, v in enumerate(x):
        avg = beta * avg + (1 - beta) * v
        out.append(avg / (1 - beta ** (i + 1)))
    return np.asarray(out)


def loss_only(
    lr: np.ndarray, loss: np.ndarray, mode: str = "exp", **kw: object
) -> cyclr.RangeTestResult:
    return cyclr.RangeTestResult(
        lr=lr, loss=loss, smoothed_loss=kw.pop("smoothed", loss), mode=mode, **kw
    )  # type: ignore[arg-type]


# -- the two-bound rules on known curves ---------------------------------------------------
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_accuracy_on_a_noisy_sigmoid_ramp_linear(seed: int) -> None:
    b = ramp(seed=seed).suggest("accuracy")
    assert b.method == "accuracy" and b.curve == "metric"
    # 10% of the rise: 0.2 - 0.03 * ln 9 = 0.134; the knee sits at the ramp's upper shoulder.
    assert 0.11 <= b.base_lr <= 0.16
    assert 0.24 <= b.reading.knee_lr <= 0.31
    lo, hi = b.reading.plateau
    assert 0.28 <= lo <= 0.37 and 0.5 <= hi <= 0.6  # the plateau, then the fall at 0.6
    assert b.max_lr == pytest.approx((lo + hi) / 2 / 2, rel=0.02)
    assert "starts to rise clearly at lr=" in b.reason and "max_lr =" in b.reason
    assert {p.label for p in b.points} >= {"base_lr", "max_lr", "plateau centre", "rise slows"}


@pytest.mark.parametrize(("method", "best"), [("accuracy", "peak"), ("loss", "minimum")])
def test_the_plateau_centre_is_not_called_the_peak(method: str, best: str) -> None:
    """max_lr is read at the centre of the best plateau, which is not the curve's highest (for
    the loss, lowest) point: the point is labelled "plateau centre", and the reason keeps
    "peak" ("minimum") for the best smoothed value, at its own LR."""
    r = ramp(seed=0)
    b = r.suggest(method)
    labels = [p.label for p in b.points]
    assert "peak" not in labels and "minimum" not in labels
    centre = b.point("plateau centre")
    assert centre is not None and centre.lr == b.reading.plateau_centre
    assert b.max_lr == pytest.approx(centre.lr / b.details["margin"])
    fit = np.asarray(b.curve_values)
    i = int(np.argmax(fit) if method == "accuracy" else np.argmin(fit))
    assert centre.lr != b.curve_lr[i]  # the plateau is wide: its centre is not the best point
    assert f"reaches its {best} {fit[i]:.3g} at lr={b.curve_lr[i]:.3g}" in b.reason
    assert f"plateau centre {centre.lr:.3g}" in b.reason


@pytest.mark.parametrize("seed", [0, 1])
def test_accuracy_on_an_exponential_sweep(seed: int) -> None:
    b = ramp("exp", seed=seed).suggest("accuracy")
    # ramp centred at 0.2 in log-LR (10%: 0.2 * 10**(-0.15 ln 9) = 0.076), collapse at 0.6
    assert 0.06 <= b.base_lr <= 0.1
    assert 0.17 <= b.max_lr <= 0.25
    assert b.base_lr < b.max_lr


def test_loss_valley_then_divergence() -> None:
    b = ramp(seed=3).suggest("loss")
    assert b.curve == "loss" and b.method == "loss"
    assert 0.11 <= b.base_lr <= 0.16
    lo, hi = b.reading.plateau
    assert hi < 0.6  # before it turns up
    assert b.max_lr == pytest.approx((lo + hi) / 4, rel=0.02)
    assert "blew up" in b.reason


def test_loss_margin_option() -> None:
    r = ramp(seed=4)
    b1, b3 = r.suggest("loss", margin=1), r.suggest("loss", margin=3)
    assert b1.max_lr == pytest.approx(3 * b3.max_lr, rel=1e-9)
    with pytest.raises(ValueError, match="margin must be >= 1"):
        r.suggest("loss", margin=0.5)


def test_validation_metric_is_preferred_and_named() -> None:
    r = ramp(seed=5, val_every=10)
    b = r.suggest("accuracy")
    assert b.curve == "val_metric" and "validation accuracy" in b.reason
    t = r.suggest("accuracy", use_validation=False)
    assert t.curve == "metric" and "training accuracy" in t.reason
    assert b.max_lr == pytest.approx(t.max_lr, rel=0.15)
    with pytest.raises(cyclr.SuggestionError, match="use_validation=True") as e:
        ramp(seed=5).suggest("accuracy", use_validation=True)
    assert e.value.kind == "no_metric"


def test_lower_is_better_metric() -> None:
    r = ramp(seed=6)
    err = cyclr.RangeTestResult(
        lr=r.lr, loss=r.loss, smoothed_loss=r.smoothed_loss, metric=1 - r.metric, mode="linear"
    )
    a, b = r.suggest("accuracy"), err.suggest("accuracy", maximize=False)
    assert (a.base_lr, a.max_lr) == (b.base_lr, b.max_lr)


def test_auto_reads_the_metric_and_compares_with_the_loss() -> None:
    r = ramp(seed=7)
    b = r.suggest()
    assert b.method == "auto" and b.reading.rule == "accuracy"
    assert b.max_lr == r.suggest("accuracy").max_lr
    other = b.details["other"]
    assert other["method"] == "loss" and other["agree"] is True
    assert "The loss reading agrees within x1.5" in b.reason


def test_auto_without_a_metric_reads_the_loss() -> None:
    r = ramp(seed=8)
    bare = loss_only(r.lr, r.loss, mode="linear")
    b = bare.suggest()
    assert b.reading.rule == "loss" and "no metric recorded" in b.reason
    assert b.max_lr == bare.suggest("loss").max_lr


def test_auto_says_when_the_readings_disagree() -> None:
    r = ramp(seed=9)
    lr = r.lr
    shifted = 0.1 + 0.8 * sigmoid((lr - 0.08) / 0.01) * (1 - sigmoid((lr - 0.15) / 0.01))
    r2 = cyclr.RangeTestResult(
        lr=lr, loss=r.loss, smoothed_loss=r.smoothed_loss, metric=shifted, mode="linear"
    )
    b = r2.suggest("auto")
    assert b.details["other"]["agree"] is False and "disagrees" in b.reason


def test_auto_falls_back_to_the_loss_when_the_metric_is_flat() -> None:
    r = ramp(seed=10)
    flat = np.full(len(r), 0.5) + np.random.default_rng(0).normal(0, 0.01, len(r))
    r2 = cyclr.RangeTestResult(
        lr=r.lr, loss=r.loss, smoothed_loss=r.smoothed_loss, metric=flat, mode="linear"
    )
    b = r2.suggest()
    assert b.reading.rule == "loss" and "the metric gives no reading" in b.reason


# -- cannot suggest ------------------------------------------------------------------------
def _expect(kind: str, r: cyclr.RangeTestResult, method: str, match: str) -> None:
    with pytest.raises(cyclr.SuggestionError, match=match) as e:
        r.suggest(method)
    assert e.value.kind == kind
    assert isinstance(e.value, ValueError)


ALL = ["auto", "accuracy", "loss", "steepest", "minimum", "valley", "slide"]


@pytest.mark.parametrize("method", ALL)
def test_flat_curve(method: str) -> None:
    rng = np.random.default_rng(0)
    lr = np.geomspace(1e-6, 1, 200)
    r = cyclr.RangeTestResult(
        lr=lr,
        loss=2.3 + rng.normal(0, 0.02, 200),
        smoothed_loss=np.full(200, 2.3),
        metric=0.1 + rng.normal(0, 0.03, 200),
        mode="exp",
    )
    _expect("flat", r, method, "flat")


@pytest.mark.parametrize("method", [m for m in ALL if m != "accuracy"])
def test_the_flat_message_of_the_loss_is_in_the_losss_sign(method: str) -> None:
    """The loss is read as -loss; its flat message prints the loss as recorded: a start level of
    +2.3, and its lowest smoothed value a little below it."""
    rng = np.random.default_rng(0)
    lr = np.geomspace(1e-6, 1, 200)
    r = loss_only(lr, 2.3 + rng.normal(0, 0.02, 200))
    with pytest.raises(cyclr.SuggestionError) as e:
        r.suggest(method)
    msg = str(e.value)
    assert e.value.kind == "flat" and msg.startswith("the loss is flat: its lowest smoothed value ")
    low, change, level = (
        float(x) for x in re.findall(r"value (\S+) is (\S+) from its start level (\S+),", msg)[0]
    )
    assert level == pytest.approx(2.3, abs=0.01) and -0.05 < change < 0
    assert low == pytest.approx(level + change, abs=0.002)
    assert "-2.3" not in msg


def test_the_flat_message_of_a_lower_is_better_metric_is_in_its_own_sign() -> None:
    rng = np.random.default_rng(0)
    r = ramp(seed=3)
    for level, maximize, best in ((0.9, False, "lowest"), (0.1, True, "highest")):
        flat = with_metric(r, level + rng.normal(0, 0.02, len(r)))  # an error rate, an accuracy
        with pytest.raises(cyclr.SuggestionError) as e:
            flat.suggest("accuracy", maximize=maximize)
        msg = str(e.value)
        assert e.value.kind == "flat" and f"its {best} smoothed value" in msg
        start = float(re.findall(r"from its start level (\S+),", msg)[0])
        assert start == pytest.approx(level, abs=0.01)


def dead_network(n: int = 200, drift_ulps: float = 0.0, seed: int = 0) -> cyclr.RangeTestResult:
    """A network that learns nothing: loss log 3 and accuracy 1/3 (three classes) at every
    update, plus ``drift_ulps`` units of float64 rounding of drift (down, or up if negative)
    and a unit of jitter."""
    rng = np.random.default_rng(seed)
    lr = np.geomspace(1e-5, 1, n)
    loss, acc = np.full(n, math.log(3)), np.full(n, 1 / 3)
    if drift_ulps:
        steps = np.round(np.linspace(0, drift_ulps, n)) + rng.integers(-1, 2, n)
        loss = loss - np.spacing(loss) * steps
        acc = acc + np.spacing(acc) * steps
    return cyclr.RangeTestResult(lr=lr, loss=loss, smoothed_loss=loss, metric=acc, mode="exp")


@pytest.mark.parametrize("method", ALL)
@pytest.mark.parametrize(
    ("n", "drift"), [(200, 0.0), (200, 4.0), (40, 2.0), (5000, 8.0), (300, -6.0)]
)
def test_a_dead_network_is_flat(method: str, n: int, drift: float) -> None:
    """Rounding passes no significance test: with a noise estimate of 0, a fit a few units of
    float64 rounding off its start would."""
    r = dead_network(n, drift)
    _expect("flat", r, method, "flat")
    _expect("flat", loss_only(r.lr, r.loss), method if method != "accuracy" else "loss", "flat")
    with pytest.raises(cyclr.SuggestionError) as e:
        sg.blow_up_lr(r)
    assert e.value.kind == "flat"


@pytest.mark.parametrize("method", ALL)
def test_a_loss_one_rounding_unit_up_has_not_blown_up(method: str) -> None:
    """One unit of float64 rounding above the start level is no blow-up (which, within the
    first 8 points, would read as a sweep that diverged at once)."""
    loss = np.full(100, math.log(3))
    loss[6:] += np.spacing(loss[0])
    r = cyclr.RangeTestResult(
        lr=np.geomspace(1e-5, 1, 100), loss=loss, smoothed_loss=loss, metric=loss - 1, mode="exp"
    )
    _expect("flat", r, method, "flat")


def test_a_constant_metric_is_flat_and_auto_reads_the_loss() -> None:
    r = ramp(seed=14)
    const = cyclr.RangeTestResult(
        lr=r.lr, loss=r.loss, smoothed_loss=r.smoothed_loss, metric=np.full(len(r), 0.1)
    )
    _expect("flat", const, "accuracy", "training metric is flat")
    b = const.suggest("auto")
    assert b.reading.rule == "loss" and "the metric gives no reading" in b.reason
    assert (b.base_lr, b.max_lr) == (r.suggest("loss").base_lr, r.suggest("loss").max_lr)


def constant_loss(acc: np.ndarray) -> cyclr.RangeTestResult:
    """A model whose output never changes: its loss is log 2 at every update, exactly, and its
    batch accuracy ``acc`` varies only with the batch."""
    loss = np.full(len(acc), math.log(2))
    lr = np.geomspace(1e-7, 10, len(acc))
    return cyclr.RangeTestResult(
        lr=lr, loss=loss, smoothed_loss=loss, metric=acc, mode="exp", metric_name="accuracy"
    )


def two_valued(n: int, p: float, seed: int) -> np.ndarray:
    """A batch accuracy of 0.5 (with probability ``p``) or 0.625, batch by batch."""
    return np.where(np.random.default_rng(seed).random(n) < p, 0.5, 0.625)


@pytest.mark.parametrize("n", [30, 200])
@pytest.mark.parametrize(
    "acc",
    [
        lambda n: np.resize([0.5, 0.625], n),  # four batches in turn, two kinds
        lambda n: np.resize([0.625, 0.5], n),
        lambda n: two_valued(n, 0.5, 0),
        lambda n: two_valued(n, 0.9, 0),
    ],
    ids=["alternating", "alternating-high-first", "random", "random-mostly-low"],
)
def test_a_varying_accuracy_on_a_constant_loss_is_flat(
    acc: Callable[[int], np.ndarray], n: int
) -> None:
    """An accuracy that takes two values at random, or in turn, around a constant level is
    noise: flat for the accuracy rule, and "auto" then finds the loss flat too."""
    r = constant_loss(acc(n))
    _expect("flat", r, "accuracy", "training accuracy is flat")
    _expect("flat", r, "auto", "the loss is flat")


@pytest.mark.parametrize(("n", "p"), [(30, 0.5), (30, 0.9), (200, 0.5), (200, 0.9)])
def test_a_two_valued_accuracy_is_significant_no_more_often_than_gaussian_noise(
    n: int, p: float
) -> None:
    """Over 20 seeds, a two-valued accuracy around a constant level reads as a rise no more
    often than Gaussian noise of the same standard deviation does (at z = 3, rarely)."""

    def reads(acc: np.ndarray) -> bool:
        try:
            constant_loss(acc).suggest("accuracy")
        except cyclr.SuggestionError as e:
            assert e.kind == "flat"
            return False
        return True

    sd = 0.125 * math.sqrt(p * (1 - p))
    discrete = sum(reads(two_valued(n, p, seed)) for seed in range(20))
    gauss = sum(reads(0.5 + np.random.default_rng(seed).normal(0, sd, n)) for seed in range(20))
    assert discrete <= max(gauss, 1), (discrete, gauss)


@pytest.mark.parametrize("method", ALL)
def test_too_short(method: str) -> None:
    lr = np.geomspace(1e-3, 1, 5)
    r = cyclr.RangeTestResult(
        lr=lr,
        loss=[2.3, 2.2, 2.0, 1.5, 1.4],
        smoothed_loss=[2.3] * 5,
        metric=[0.1, 0.2, 0.3, 0.4, 0.5],
        mode="exp",
    )
    _expect("too_short", r, method, "only 5 points")


@pytest.mark.parametrize("method", ALL)
def test_diverged_at_once_nan(method: str) -> None:
    lr = np.geomspace(1e-3, 1, 50)
    loss = np.r_[[2.3, 2.5, 4.0], np.full(47, np.nan)]
    r = cyclr.RangeTestResult(
        lr=lr,
        loss=loss,
        smoothed_loss=loss,
        metric=np.full(50, 0.1),
        mode="exp",
        stop_reason="non_finite_loss",
    )
    _expect("diverged_at_once", r, method, "diverged at once")


@pytest.mark.parametrize("method", ALL)
def test_diverged_at_once_rising_loss(method: str) -> None:
    lr = np.geomspace(1e-1, 10, 100)
    loss = 2.3 * np.exp(np.linspace(0, 3, 100))
    r = cyclr.RangeTestResult(
        lr=lr, loss=loss, smoothed_loss=loss, metric=np.full(100, 0.1), mode="exp"
    )
    _expect("diverged_at_once", r, method, "start_lr is already too large")


def _flat_then_blow_up(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """An exponential sweep whose loss stays at ln 10 (noise 0.03) until it blows up in its last
    tenth, and whose running median crosses the start level by noise within the first points."""
    rng = np.random.default_rng(seed)
    lr = np.geomspace(1e-7, 1, 180)
    loss = math.log(10) + rng.normal(0, 0.03, 180)
    loss[162:] = np.geomspace(3, 50, 18)
    return lr, loss


def _early_noise_crossing(loss: np.ndarray) -> bool:
    """The unconditional blow-up reading would cut this curve before ``MIN_POINTS``."""
    h = cv.kernel_width(len(loss), cv.BANDWIDTH)
    start = float(np.median(loss[: max(5, int(2 * h))]))
    cut = cv.blow_up_cut(loss, start, max(2, round(h)))
    return cut is not None and cut < cv.MIN_POINTS


@pytest.mark.parametrize("method", ALL)
def test_a_flat_loss_that_crosses_its_start_by_noise_reads_as_flat_not_diverged(
    method: str,
) -> None:
    """A model that learns nothing until the loss blows up is flat, not "too large from the
    first steps": an early crossing of the start level must be significant to cut the ramp."""
    seeds = [s for s in range(60) if _early_noise_crossing(_flat_then_blow_up(s)[1])]
    assert len(seeds) >= 5  # the case is common, not contrived
    for seed in seeds[:5]:
        lr, loss = _flat_then_blow_up(seed)
        acc = np.full(180, 0.1) + np.random.default_rng(seed + 1).normal(0, 0.02, 180)
        r = cyclr.RangeTestResult(lr=lr, loss=loss, smoothed_loss=loss, metric=acc, mode="exp")
        with pytest.raises(cyclr.SuggestionError) as e:
            r.suggest(method)
        assert e.value.kind == "flat", str(e.value)
        found = re.search(r"stayed flat up to lr=(\S+), where the loss blew up", str(e.value))
        assert found is not None, str(e.value)
        assert float(found.group(1).rstrip(":")) > lr[cv.MIN_POINTS]
        assert "wider LR range" not in str(e.value)


@pytest.mark.parametrize("method", ALL)
def test_all_nan(method: str) -> None:
    lr = np.geomspace(1e-3, 1, 20)
    r = cyclr.RangeTestResult(
        lr=lr, loss=np.full(20, np.nan), smoothed_loss=np.full(20, np.nan), mode="exp"
    )
    _expect("all_nan", r, method, "all NaN")
    empty = cyclr.RangeTestResult(
        lr=[], loss=[], smoothed_loss=[], mode="exp", stop_reason="non_finite_loss"
    )
    _expect("all_nan", empty, method, "no finite loss")


@pytest.mark.parametrize("method", ALL)
def test_an_empty_result_quotes_why_nothing_was_recorded(method: str) -> None:
    """An empty range test whose message says why (the GradScaler skipped every step) is not
    read as "all NaN": the error quotes the message. Recorded NaNs still read as before."""
    why = (
        "the GradScaler skipped every step (51 in a row from the first update, lr=1e-07) "
        "because of inf/NaN gradients; the losses were finite"
    )
    empty = cyclr.RangeTestResult(
        lr=[], loss=[], smoothed_loss=[], mode="exp", stop_reason="non_finite_loss", message=why
    )
    with pytest.raises(cyclr.SuggestionError) as e:
        empty.suggest(method)
    assert e.value.kind == "all_nan" and str(e.value) == f"nothing to read: {why}"
    nans = cyclr.RangeTestResult(
        lr=np.geomspace(1e-3, 1, 20),
        loss=np.full(20, np.nan),
        smoothed_loss=np.full(20, np.nan),
        mode="exp",
        stop_reason="non_finite_loss",
        message="the loss was NaN",
    )
    _expect("all_nan", nans, method, "no finite loss was recorded \\(all NaN\\)")


def with_metric(r: cyclr.RangeTestResult, metric: np.ndarray) -> cyclr.RangeTestResult:
    return cyclr.RangeTestResult(
        lr=r.lr, loss=r.loss, smoothed_loss=r.smoothed_loss, metric=metric, mode=r.mode
    )


@pytest.mark.parametrize("lead", [1, 20, 40])
def test_leading_nans_of_the_metric_are_skipped(lead: int) -> None:
    """A metric undefined at the first updates is read from its first finite point."""
    r = ramp(seed=15)
    metric = r.metric.copy()  # type: ignore[union-attr]
    metric[:lead] = np.nan
    b = with_metric(r, metric).suggest("accuracy")
    assert b.curve == "metric" and b.curve_lr[0] == r.lr[lead]
    assert np.isfinite(b.curve_values).all() and "nan" not in b.reason
    assert 0.11 <= b.base_lr <= 0.16 and 0.1 <= b.max_lr <= 0.25
    if lead == 1:  # one point fewer barely moves the reading
        a = r.suggest("accuracy")
        assert b.max_lr == pytest.approx(a.max_lr, rel=0.02)
    auto = with_metric(r, metric).suggest("auto")
    assert auto.reading.rule == "accuracy" and auto.max_lr == b.max_lr


def test_read_rise_skips_leading_nans() -> None:
    x = np.arange(200.0)
    y = 1 / (1 + np.exp(-(x - 100) / 10))
    y[:30] = np.nan
    r = rs.read_rise(x, y, h=5.0)
    clean = rs.read_rise(x[30:], y[30:], h=5.0)
    assert (r.base, r.knee, r.peak) == (clean.base + 30, clean.knee + 30, clean.peak + 30)
    assert np.isnan(r.fit[:30]).all() and np.array_equal(r.fit[30:], clean.fit)
    assert r.start_level == clean.start_level and math.isfinite(r.rise)


def test_a_metric_with_too_few_finite_points() -> None:
    r = ramp(seed=16)
    metric = np.full(len(r), np.nan)
    metric[100:105] = 0.5
    with pytest.raises(cyclr.SuggestionError, match="only 5 finite") as e:
        with_metric(r, metric).suggest("accuracy")
    assert e.value.kind == "too_short" and "nan" not in str(e.value)
    b = with_metric(r, metric).suggest("auto")  # the loss still reads
    assert b.reading.rule == "loss" and "only 5 finite" in b.reason
    with pytest.raises(cyclr.SuggestionError, match="too few finite") as e:
        rs.read_rise(np.arange(50.0), np.r_[np.full(45, np.nan), np.ones(5)], h=2.0)
    assert e.value.kind == "too_short"
    with pytest.raises(cyclr.SuggestionError, match="no finite") as e:
        rs.read_rise(np.arange(50.0), np.full(50, np.nan), h=2.0)
    assert e.value.kind == "all_nan"


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 10_000), st.floats(0.0, 1.0), st.integers(0, 400))
def test_no_message_prints_nan(seed: int, share: float, lead: int) -> None:
    r = ramp(n=200, seed=seed)
    rng = np.random.default_rng(seed)
    metric = r.metric.copy()  # type: ignore[union-attr]
    metric[rng.random(len(r)) < share] = np.nan
    metric[:lead] = np.nan
    for method in ("accuracy", "auto"):
        try:
            b = with_metric(r, metric).suggest(method)
        except cyclr.SuggestionError as e:
            assert "nan" not in str(e).lower(), str(e)
            continue
        assert "nan" not in b.reason.lower(), b.reason
        assert math.isfinite(b.base_lr) and math.isfinite(b.max_lr)


def test_no_metric_for_the_accuracy_rule() -> None:
    r = ramp(seed=11)
    _expect("no_metric", loss_only(r.lr, r.loss, mode="linear"), "accuracy", "no metric")


def test_unknown_method_and_bad_options() -> None:
    r = ramp(seed=12)
    with pytest.raises(cyclr.SuggestionError, match="method must be one of") as e:
        r.suggest("best")
    assert e.value.kind == "unknown_method"
    with pytest.raises(TypeError, match="takes no option 'window'"):
        r.suggest("loss", window=3)
    with pytest.raises(ValueError, match="bandwidth must be in"):
        r.suggest("loss", bandwidth=0)
    with pytest.raises(ValueError, match="wrt must be one of"):
        r.suggest("steepest", wrt="time")
    with pytest.raises(TypeError, match="RangeTestResult"):
        sg.suggest([1, 2, 3], "loss")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="kind must be one of"):
        cyclr.SuggestionError("x", "other")


# -- single-LR rules against their definitions ---------------------------------------------
def tanh_valley(n: int = 100) -> tuple[np.ndarray, np.ndarray]:
    lr = np.geomspace(1e-5, 1, n)
    loss = 2.0 - np.tanh((np.log(lr) - np.log(1e-2)) / 0.7) + 3 * (lr / 0.5) ** 3
    return lr, loss


def test_steepest_finds_the_steepest_log_lr_slope() -> None:
    lr, loss = tanh_valley()
    r = loss_only(lr, loss)
    b = r.suggest("steepest")
    grad = np.gradient(loss[10:-5], np.log(lr[10:-5]))
    assert b.max_lr == lr[10 + int(np.argmin(grad))]
    assert b.max_lr == pytest.approx(1e-2, rel=0.15)  # the tanh's inflection
    assert b.base_lr == pytest.approx(b.max_lr / 4)
    assert "max_lr / 4" in b.reason and b.point("steepest") is not None
    # torch-lr-finder differentiates over the sample index: the same on an exponential sweep
    assert r.suggest("steepest", wrt="index").max_lr == b.max_lr


def test_steepest_matches_lightning_convention_on_linear_sweeps() -> None:
    lr = np.linspace(1e-3, 1, 100)
    loss = 2.0 - np.tanh((lr - 0.3) / 0.1)
    r = loss_only(lr, loss, mode="linear")
    b = r.suggest("steepest", skip_start=10, skip_end=1, wrt="lr")
    grad = np.gradient(loss[10:-1], lr[10:-1])
    assert b.max_lr == lr[10 + int(np.argmin(grad))]


def test_minimum_is_a_tenth_of_the_lowest_point() -> None:
    lr, loss = tanh_valley()
    r = loss_only(lr, loss)
    b = r.suggest("minimum")
    view = loss[len(lr) // 10 : -5]
    assert b.max_lr == pytest.approx(lr[len(lr) // 10 + int(np.argmin(view))] / 10)
    assert b.point("minimum").lr == pytest.approx(b.max_lr * 10)  # type: ignore[union-attr]


SINGLE = ["steepest", "minimum", "valley", "slide"]


def early_minimum() -> cyclr.RangeTestResult:
    """Two decades swept; the loss falls at once, bottoms out a fifth of the way in and blows up:
    a tenth of the LR at the minimum is below the sweep's first LR."""
    lr = np.geomspace(1e-3, 1e-1, 100)
    u = np.log10(lr)
    loss = 2.3 - 1.5 / (1 + np.exp(-(u + 2.9) / 0.05)) + 40 * np.maximum(u + 2.55, 0) ** 2
    return loss_only(lr, loss)


def test_minimum_stays_inside_the_sweep() -> None:
    r = early_minimum()
    b = r.suggest("minimum")
    low = b.point("minimum").lr  # type: ignore[union-attr]
    assert low / 10 < r.lr[0]  # the tenth falls below the sweep
    assert b.max_lr == b.base_lr == r.lr[0]
    assert f"raised to the sweep's first LR {r.lr[0]:.3g}" in b.reason
    assert "max_lr is a tenth of that" in b.reason


def test_slide_with_a_large_adjust_value_stays_inside_the_sweep() -> None:
    lr, loss = tanh_valley(120)
    r = loss_only(lr, loss)
    plain = r.suggest("slide")
    big = r.suggest("slide", adjust_value=1e6)
    assert plain.max_lr * 1e6 > lr[-1]
    assert big.max_lr == lr[-1] and big.base_lr == lr[-1] / 4
    assert f"lowered to the sweep's last LR {lr[-1]:.3g}" in big.reason


single_curves = st.fixed_dictionaries(
    {
        "mode": st.sampled_from(["linear", "exp"]),
        "n": st.integers(30, 300),
        "seed": st.integers(0, 10_000),
        "noise": st.floats(0.0, 0.1),
        "fall_at": st.floats(0.0, 0.9),
        "width": st.floats(0.01, 0.3),
        "blow_at": st.floats(0.2, 1.2),
        "decades": st.floats(0.5, 8.0),
    }
)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    single_curves,
    st.sampled_from(SINGLE),
    st.integers(0, 30),
    st.integers(0, 10),
    st.floats(0.01, 100.0),
)
def test_single_lr_bounds_stay_inside_the_sweep(
    c: dict, method: str, skip_start: int, skip_end: int, adjust: float
) -> None:
    """Random falls, floors and blow-ups anywhere in the sweep, and random options."""
    rng = np.random.default_rng(c["seed"])
    n = c["n"]
    lo = 10.0 ** -c["decades"]
    lr = np.geomspace(lo, 1.0, n) if c["mode"] == "exp" else np.linspace(lo, 1.0, n)
    t = np.linspace(0, 1, n)  # position in the sweep
    loss = (
        2.3
        - 1.5 / (1 + np.exp(-(t - c["fall_at"]) / c["width"]))
        + 30 * np.maximum(t - c["blow_at"], 0) ** 2
        + rng.normal(0, c["noise"], n)
    )
    r = loss_only(lr, loss, mode=c["mode"], smoothed=ema(loss))
    options: dict[str, object] = {"skip_start": skip_start, "skip_end": skip_end}
    if method == "slide":
        options.update(adjust_value=adjust, lr_diff=max(1, n // 10))
    try:
        b = r.suggest(method, **options)
    except cyclr.SuggestionError:
        assume(False)
        return
    assert lr[0] <= b.base_lr <= b.max_lr <= lr[-1]
    assert b.base_lr == max(b.max_lr / 4, lr[0])


def reference_valley(lrs: list[float], losses: list[float]) -> float:
    """fastai's valley, written out independently: longest strictly decreasing subsequence."""
    n = len(losses)
    best = [1] * n
    end, span_start = 0, 0
    for i in range(1, n):
        for j in range(i):
            if losses[i] < losses[j] and best[i] < best[j] + 1:
                best[i] = best[j] + 1
            if best[end] < best[i]:
                end, span_start = i, i - best[i]
    third = (end - span_start) / 3
    return lrs[span_start + int(third) + int(third / 2)]


def reference_slide(
    lrs: list[float], losses: list[float], lr_diff: int = 15, thresh: float = 0.005
) -> float:
    grad = np.gradient(np.asarray(losses))
    r_idx, l_idx = -1, -1 - lr_diff
    found = lrs[l_idx]
    while l_idx >= -len(losses) and abs(grad[r_idx] - grad[l_idx]) > thresh:
        found = lrs[l_idx]
        r_idx, l_idx = r_idx - 1, l_idx - 1
    return found


@pytest.mark.parametrize("seed", range(4))
def test_valley_and_slide_match_fastai_definitions(seed: int) -> None:
    rng = np.random.default_rng(seed)
    lr, loss = tanh_valley(120)
    noisy = ema(loss + rng.normal(0, 0.05, len(lr)))
    r = loss_only(lr, loss + 0.0, smoothed=noisy)
    view_lr, view = list(lr[12:-5]), list(noisy[12:-5])
    assert r.suggest("valley").max_lr == reference_valley(view_lr, view)
    assert r.suggest("slide").max_lr == reference_slide(view_lr, view)
    assert r.suggest("slide", adjust_value=0.5).max_lr == reference_slide(view_lr, view) / 2


def test_fastai_view_uses_the_requested_iterations() -> None:
    lr, loss = tanh_valley(100)
    r = loss_only(lr[:80], loss[:80], config={"num_iter": 100}, stop_reason="diverged")
    b = r.suggest("minimum")
    assert b.details["skip_start"] == 10


def test_steepest_against_torch_lr_finder() -> None:
    torch = pytest.importorskip("torch")
    lrf = pytest.importorskip("torch_lr_finder")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    lr, loss = tanh_valley(100)
    noisy = ema(loss + np.random.default_rng(0).normal(0, 0.05, 100))
    model = torch.nn.Linear(2, 2)
    finder = lrf.LRFinder(model, torch.optim.SGD(model.parameters(), lr=0.1), torch.nn.MSELoss())
    finder.history = {"lr": list(lr), "loss": list(noisy)}
    fig, ax = plt.subplots()
    _, theirs = finder.plot(skip_start=10, skip_end=5, suggest_lr=True, ax=ax)
    plt.close(fig)
    assert loss_only(lr, loss, smoothed=noisy).suggest("steepest").max_lr == theirs


# -- properties ----------------------------------------------------------------------------
curves = st.fixed_dictionaries(
    {
        "mode": st.sampled_from(["linear", "exp"]),
        "n": st.integers(60, 400),
        "seed": st.integers(0, 10_000),
        "noise": st.floats(0.0, 0.08),
        "center": st.floats(0.05, 0.3),
        "fall": st.floats(0.4, 0.9),
    }
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(curves, st.sampled_from(ALL))
def test_bounds_are_ordered_and_inside_the_sweep(c: dict, method: str) -> None:
    r = ramp(c["mode"], c["n"], c["seed"], c["noise"], c["center"], fall=c["fall"])
    try:
        b = r.suggest(method)
    except cyclr.SuggestionError:
        assume(False)
        return
    assert 0 < b.base_lr <= b.max_lr
    assert r.lr[0] <= b.base_lr and b.max_lr <= r.lr[-1]
    json.dumps(b.to_dict(), allow_nan=False)


@settings(max_examples=30, deadline=None)
@given(curves, st.floats(1e-3, 1e3), st.floats(-5.0, 5.0))
def test_loss_rules_ignore_the_loss_scale(c: dict, scale: float, shift: float) -> None:
    r = ramp(c["mode"], c["n"], c["seed"], c["noise"], c["center"], fall=c["fall"])
    s = cyclr.RangeTestResult(
        lr=r.lr,
        loss=r.loss * scale + shift,
        smoothed_loss=r.smoothed_loss * scale + shift,
        mode=r.mode,
        metric=r.metric,
    )
    for method in ("loss", "auto", "steepest", "minimum", "valley"):
        try:
            a = r.suggest(method)
        except cyclr.SuggestionError as e:
            with pytest.raises(cyclr.SuggestionError) as e2:
                s.suggest(method)
            assert e2.value.kind == e.kind
            continue
        b = s.suggest(method)
        assert (b.base_lr, b.max_lr) == pytest.approx((a.base_lr, a.max_lr), rel=1e-9)


@settings(max_examples=20, deadline=None)
@given(curves, st.floats(0.1, 10.0))
def test_accuracy_rule_ignores_the_metric_scale(c: dict, scale: float) -> None:
    r = ramp(c["mode"], c["n"], c["seed"], c["noise"], c["center"], fall=c["fall"])
    s = cyclr.RangeTestResult(
        lr=r.lr, loss=r.loss, smoothed_loss=r.smoothed_loss, mode=r.mode, metric=r.metric * scale
    )
    try:
        a = r.suggest("accuracy")
    except cyclr.SuggestionError:
        assume(False)
        return
    b = s.suggest("accuracy")
    assert (b.base_lr, b.max_lr) == pytest.approx((a.base_lr, a.max_lr), rel=1e-9)


# -- saved results, reread without torch -------------------------------------------------
def test_saved_result_gives_the_same_bounds_in_a_fresh_process(
    tmp_path: Path, suggest_without_torch: Callable[..., dict]
) -> None:
    r = ramp(seed=13, val_every=10)
    path = r.save(tmp_path / "rt.json")
    here = {m: r.suggest(m).to_dict() for m in ALL}
    assert suggest_without_torch(path, ALL) == json.loads(json.dumps(here))


def test_linear_range_reads_the_blow_up() -> None:
    lr, loss = tanh_valley()
    lo, hi = linear_range(loss_only(lr, loss))
    assert 0.1 < hi < 1 and lo == pytest.approx(hi / 1000)
    rng = np.random.default_rng(0)
    with pytest.raises(cyclr.SuggestionError) as e:
        linear_range(loss_only(lr, 2.3 + rng.normal(0, 0.01, len(lr))))
    assert e.value.kind == "flat"


def test_the_standard_errors_of_the_best_and_last_points_are_the_kernels() -> None:
    """reading.se_best and .se_last are sigma * ||kernel|| of the local-linear fit at the
    lowest smoothed loss and at the last point read (here the whole curve: it never climbs back
    to its start level)."""
    from cyclr.suggest._curve import local_linear

    rng = np.random.default_rng(0)
    lr = np.geomspace(1e-4, 1.0, 300)
    loss = 2 - 1 / (1 + (0.01 / lr) ** 2) + 0.3 * lr**2 + 0.02 * rng.standard_normal(300)
    r = cyclr.RangeTestResult(lr=lr, loss=loss, smoothed_loss=loss, mode="exp")
    b = r.suggest("loss")
    assert b.reading.points_used == 300
    fit, norm = local_linear(np.arange(300.0), loss, b.reading.smoothing_steps)
    np.testing.assert_allclose(b.curve_values, fit, rtol=1e-12)
    sigma = b.reading.noise
    best = int(np.argmin(fit))
    assert b.reading.se_best == pytest.approx(sigma * norm[best], rel=1e-12)
    assert b.reading.se_last == pytest.approx(sigma * norm[-1], rel=1e-12)
    assert b.reading.se_last > b.reading.se_best  # a one-sided kernel at the end
