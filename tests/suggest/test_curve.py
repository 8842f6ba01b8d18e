"""Curve statistics and the usable part of a ramp, shared by the rules and the sweep reading."""

from __future__ import annotations

import numpy as np
import pytest

import cyclr
import cyclr.suggest as sg
from cyclr.suggest import _curve as cv
from cyclr.suggest._usable import usable_ramp


def test_kernel_width_and_leading_run() -> None:
    assert cv.kernel_width(400, cv.BANDWIDTH) == 10.0
    assert cv.kernel_width(10, cv.BANDWIDTH) == 2.0
    assert cv.leading_run(np.isfinite([1.0, np.inf, 2.0])) == 1
    assert cv.leading_run(np.ones(4, dtype=bool)) == 4
    assert cv.leading_run(np.zeros(0, dtype=bool)) == 0


def test_running_median_ignores_a_spike() -> None:
    y = np.array([1.0, 1.0, 50.0, 1.0, 1.0])
    assert cv.running_median(y, 1).tolist() == [1.0] * 5
    assert cv.running_median(y, 0).tolist() == y.tolist()


def test_blow_up_cut_is_after_the_minimum() -> None:
    y = np.array([2.5, 2.0, 1.0, 0.5, 1.0, 2.0, 3.0, 9.0])
    assert cv.blow_up_cut(y, start_level=2.3, k=0) == 6
    assert cv.blow_up_cut(y, start_level=10.0, k=0) is None
    # the first point sits above the start level, but before the minimum: not a blow-up
    assert cv.blow_up_cut(y[:6], start_level=2.3, k=0) is None


def test_usable_ramp_ends_at_the_blow_up() -> None:
    lr = np.geomspace(1e-6, 10, 100)
    loss = 2.3 - 1.5 / (1 + np.exp(-(np.log10(lr) + 2) * 4)) + 8 * lr
    r = cyclr.RangeTestResult(lr=lr, loss=loss, smoothed_loss=loss, mode="exp")
    ramp = usable_ramp(r)
    assert ramp.n == 100 and ramp.exp and ramp.h == 2.5
    assert loss[ramp.end] > np.median(loss[:5]) >= loss[ramp.end - 1]
    assert sg.blow_up_lr(r) == lr[ramp.end]
    with pytest.raises(ValueError, match="bandwidth must be in"):
        usable_ramp(r, bandwidth=0.0)


def test_noise_level_of_second_differences_ignores_a_changing_slope() -> None:
    """``order=2`` reads the second differences, scaled by sqrt(6) (var = 6 sigma**2 for
    independent noise): it agrees with ``order=1`` on white noise and, unlike it, is not inflated
    by an exponential trend, whose first differences grow along the curve."""
    rng = np.random.default_rng(1)
    gauss = rng.normal(0, 0.1, 20_000)
    d2 = np.diff(gauss, n=2)
    assert cv.noise_level(gauss, order=2) == 1.4826 * np.median(
        np.abs(d2 - np.median(d2))
    ) / np.sqrt(6)
    assert cv.noise_level(gauss, order=2) == pytest.approx(0.1, rel=0.03)
    trend = 2.3 * np.exp(np.linspace(0, 3, 100))
    noisy = trend + rng.normal(0, 0.01, 100)
    assert cv.noise_level(noisy, order=1) > 10 * 0.01  # the growing slope read as noise
    assert cv.noise_level(noisy, order=2) == pytest.approx(0.01, rel=0.5)
    assert cv.noise_level(np.arange(50.0) ** 2, order=2) == 0.0  # constant curvature
    with pytest.raises(ValueError, match="order must be 1 or 2, got 3"):
        cv.noise_level(gauss, order=3)


def test_noise_level_of_a_discrete_curve_counts_every_difference() -> None:
    """On a curve that takes a few values (a batch accuracy), more than half of the successive
    differences may tie, and their MAD is 0 whatever the spread: the noise level is then the
    standard deviation of the differences over sqrt(2), right for independent noise of any
    distribution. A continuous curve keeps the MAD's reading."""
    rng = np.random.default_rng(0)
    alternating = np.resize([0.5, 0.625], 30)  # 15 of the 29 differences are +0.125
    d = np.diff(alternating)
    assert cv.noise_level(alternating) == pytest.approx(np.std(d) / np.sqrt(2))
    for n in (30, 31):  # at least the curve's own standard deviation
        assert cv.noise_level(np.resize([0.5, 0.625], n)) >= 0.0625
    mostly_low = np.where(rng.random(20_000) < 0.9, 0.5, 0.625)  # 82% of the differences are 0
    assert cv.noise_level(mostly_low) == pytest.approx(0.125 * 0.3, rel=0.05)
    batch = rng.binomial(4, 0.9, 20_000) / 4  # batch accuracy of 4 samples, at 90%
    assert cv.noise_level(batch) == pytest.approx(np.sqrt(0.9 * 0.1 / 4), rel=0.05)
    gauss = rng.normal(0, 0.1, 20_000)
    d = np.diff(gauss)
    mad = 1.4826 * np.median(np.abs(d - np.median(d))) / np.sqrt(2)
    assert cv.noise_level(gauss) == mad
    assert cv.noise_level(np.linspace(0, 1, 50) * 0 + 0.3) == 0.0  # constant: no noise
    assert cv.noise_level(np.arange(50.0)) == 0.0  # a straight line: no noise
