"""Cost of reading a curve: the smoother, the running medians and the valley rule are linear or
``n log n`` in its length, and give what the direct quadratic definitions give."""

from __future__ import annotations

import json
import tracemalloc
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import cyclr
import cyclr.suggest as sg
import cyclr.suggest._curve
import cyclr.suggest._rise
import cyclr.suggest.curve_stats
import cyclr.suggest.single_lr
from cyclr.suggest import _curve as cv
from cyclr.suggest._curve import residual_noise
from cyclr.suggest._order import Ranks, sliding_median, sliding_nanmedian_mad
from cyclr.suggest.single_lr import _longest_decrease

RESULTS = Path(__file__).parents[2] / "benchmarks" / "results"
METHODS = ("auto", "accuracy", "loss", "steepest", "minimum", "valley", "slide")


# -- the direct definitions ----------------------------------------------------------------
def direct_local_linear(x: np.ndarray, y: np.ndarray, h: float) -> tuple[np.ndarray, np.ndarray]:
    """The local-linear fit written out: every point weighs every finite point."""
    ok = np.isfinite(y)
    d = x[None, ok] - x[:, None]
    w = np.exp(-0.5 * (d / h) ** 2)
    s0, s1, s2 = w.sum(1), (w * d).sum(1), (w * d * d).sum(1)
    den = s0 * s2 - s1 * s1
    linear = den > 1e-12 * np.maximum(s0 * s2, 1e-300)
    with np.errstate(invalid="ignore", divide="ignore"):
        lw = np.where(
            linear[:, None], w * (s2[:, None] - s1[:, None] * d) / den[:, None], w / s0[:, None]
        )
    return lw @ y[ok], np.sqrt((lw * lw).sum(1))


def direct_running_median(y: np.ndarray, k: int) -> np.ndarray:
    pad = np.pad(y, k, mode="edge")
    return np.median(np.lib.stride_tricks.sliding_window_view(pad, 2 * k + 1), axis=1)[: len(y)]


def direct_nanmedian_mad(r: np.ndarray, w: int) -> tuple[np.ndarray, np.ndarray]:
    windows = np.lib.stride_tricks.sliding_window_view(
        np.pad(r, w, constant_values=np.nan), 2 * w + 1
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN windows
        m = np.nanmedian(windows, axis=1)
        return m, np.nanmedian(np.abs(windows - m[:, None]), axis=1)


def fastai_valley_span(losses: list[float]) -> tuple[int, int]:
    """fastai's ``valley`` double loop (its tie rules included)."""
    n = len(losses)
    lds = [1] * n
    max_start = max_end = 0
    for i in range(1, n):
        for j in range(i):
            if losses[i] < losses[j] and lds[i] < lds[j] + 1:
                lds[i] = lds[j] + 1
            if lds[max_end] < lds[i]:
                max_end, max_start = i, i - lds[i]
    return max_start, max_end


# -- curves ---------------------------------------------------------------------------------
def noisy_curve(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return 2.3 + np.cumsum(rng.normal(0, 0.1, n)) + rng.normal(0, 0.05, n)


def scaled_allclose(new: np.ndarray, ref: np.ndarray, y: np.ndarray) -> None:
    """``rtol=1e-9``; values near 0 compared at ``1e-12`` of the curve's scale."""
    scale = float(np.nanmax(np.abs(y)))
    np.testing.assert_allclose(new, ref, rtol=1e-9, atol=1e-12 * scale)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("bandwidth", [1 / 100, 1 / 40, 1 / 10, 0.5])
def test_local_linear_equals_the_direct_fit_on_a_grid(seed: int, bandwidth: float) -> None:
    n = [40, 97, 400, 1000, 1500, 3000][seed]
    y = noisy_curve(n, seed)
    x = np.arange(n, dtype=np.float64)
    h = cv.kernel_width(n, bandwidth)
    fit, norm = cv.local_linear(x, y, h)
    ref_fit, ref_norm = direct_local_linear(x, y, h)
    scaled_allclose(fit, ref_fit, y)
    np.testing.assert_allclose(norm, ref_norm, rtol=1e-9)


@pytest.mark.parametrize("seed", range(4))
def test_local_linear_with_gaps_spacings_and_off_grid_points(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = 600
    y = noisy_curve(n, seed)
    grids = {
        "validation steps": np.arange(0, 10 * n, 10, dtype=np.float64),
        "steps with holes": np.sort(rng.choice(5 * n, n, replace=False)).astype(np.float64),
        "off a grid": np.sort(rng.uniform(0, n, n)),
    }
    holes = y.copy()
    holes[rng.random(n) < 0.15] = np.nan
    holes[200:230] = np.nan  # a run of NaNs 2h long: its middle is summed directly
    for x in grids.values():
        h = 15.0 * float(np.median(np.diff(x)))
        for values in (y, holes):
            fit, norm = cv.local_linear(x, values, h)
            ref_fit, ref_norm = direct_local_linear(x, values, h)
            scaled_allclose(fit, ref_fit, y)
            np.testing.assert_allclose(norm, ref_norm, rtol=1e-9)


def test_local_linear_leaves_points_out_of_the_kernels_reach_empty() -> None:
    x = np.arange(200, dtype=np.float64)
    y = np.r_[np.full(100, np.nan), noisy_curve(100, 0)]
    fit, norm = cv.local_linear(x, y, 5.0)
    far = 100 - x > cv.KERNEL_REACH * 5.0
    assert far.sum() == 58 and np.isnan(fit[far]).all() and np.isnan(norm[far]).all()
    assert np.isfinite(fit[~far]).all()
    nan = np.full(10, np.nan)
    assert np.isnan(cv.local_linear(np.arange(10.0), nan, 2.0)[0]).all()


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.integers(-3, 3) | st.floats(-5, 5), min_size=1, max_size=60),
    st.integers(0, 12),
    st.integers(0, 1000),
)
def test_running_median_is_numpys_median_of_each_window(
    values: list[float], k: int, seed: int
) -> None:
    y = np.asarray(values, dtype=np.float64)
    if seed % 3 == 0 and len(y) > 2:
        y[seed % len(y)] = np.nan
    got = cv.running_median(y, k)
    assert np.array_equal(got, direct_running_median(y, k), equal_nan=True)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.integers(-3, 3) | st.floats(-1e6, 1e6) | st.just(np.nan), min_size=1, max_size=60),
    st.integers(1, 25),
)
def test_sliding_mad_is_numpys_nanmedian_of_each_window(values: list[float], w: int) -> None:
    r = np.asarray(values, dtype=np.float64)
    m, mad = sliding_nanmedian_mad(r, w)
    ref_m, ref_mad = direct_nanmedian_mad(r, w)
    assert np.array_equal(m, ref_m, equal_nan=True)
    assert np.array_equal(mad, ref_mad, equal_nan=True)


def test_ranks_answer_order_statistics_and_counts() -> None:
    y = np.array([0.5, -1.0, 0.5, 3.0, np.nan, 2.0, -1.0])
    r = Ranks(y)
    lo, hi = np.array([0, 1, 2, 0]), np.array([7, 4, 7, 3])
    assert r.kth(lo, hi, np.array([0, 2, 3, 1])).tolist() == [-1.0, 3.0, 3.0, 0.5]
    assert r.count_below(lo, hi, np.array([0.5, 0.0, 10.0, -2.0])).tolist() == [4, 1, 4, 0]
    assert sliding_median(y, 1).tolist()[:3] == [0.5, 0.5, 0.5]


@settings(max_examples=80, deadline=None)
@given(st.lists(st.integers(0, 6) | st.floats(-3, 3), min_size=1, max_size=80))
def test_valley_span_matches_fastais_double_loop(losses: list[float]) -> None:
    assert _longest_decrease(np.asarray(losses, dtype=np.float64)) == fastai_valley_span(losses)


def reference_slide(y: np.ndarray, lr_diff: int, thresh: float) -> int:
    """fastai's ``slide`` walk, one pair at a time; the index it stops at."""
    g = np.gradient(y)
    right, left = len(y) - 1, len(y) - 1 - lr_diff
    pick = left
    while left >= 0 and abs(g[right] - g[left]) > thresh:
        pick, right, left = left, right - 1, left - 1
    return pick


@settings(max_examples=60, deadline=None)
@given(
    st.integers(30, 200),
    st.integers(0, 10_000),
    st.integers(1, 25),
    st.sampled_from([1e-4, 5e-3, 0.05]),
)
def test_slide_matches_fastais_walk(n: int, seed: int, lr_diff: int, thresh: float) -> None:
    lr = np.geomspace(1e-5, 1, n)
    rng = np.random.default_rng(seed)
    loss = 2.0 - np.tanh((np.log(lr) - np.log(1e-2)) / 0.7) + 3 * (lr / 0.5) ** 3
    smoothed = loss + rng.normal(0, 0.01, n).cumsum() * 0.1
    r = cyclr.RangeTestResult(lr=lr, loss=loss, smoothed_loss=smoothed, mode="exp")
    view = smoothed[n // 10 : n - 5]
    if len(view) <= lr_diff:
        return
    b = r.suggest("slide", lr_diff=lr_diff, thresh=thresh)
    assert b.point("slide").index == n // 10 + reference_slide(view, lr_diff, thresh)  # type: ignore[union-attr]


# -- whole readings: the same bounds as the direct definitions -----------------------------
def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-x))


def synthetic(seed: int) -> cyclr.RangeTestResult:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(60, 1200))
    mode = "exp" if seed % 2 else "linear"
    lr = np.geomspace(1e-5, 10, n) if mode == "exp" else np.linspace(1e-3, 1, n)
    u = np.log10(lr) if mode == "exp" else lr
    c, f, w = (-1.5, 0.3, 0.2) if mode == "exp" else (0.2, 0.6, 0.03)
    up, down = sigmoid((u - c) / w), sigmoid((u - f) / (w / 2))
    noise = float(rng.uniform(0.005, 0.08))
    acc = 0.1 + 0.8 * up * (1 - down) + rng.normal(0, noise, n)
    loss = 2.3 - 1.8 * up + 6 * down + rng.normal(0, 2 * noise, n)
    steps = np.arange(0, n, 10)
    val = {"val_step": steps, "val_metric": acc[steps], "val_loss": loss[steps]} if seed % 3 else {}
    smoothed = np.convolve(loss, np.ones(10) / 10)[:n]
    return cyclr.RangeTestResult(
        lr=lr, loss=loss, smoothed_loss=smoothed, metric=acc, mode=mode, **val
    )  # type: ignore[arg-type]


def recorded() -> list[cyclr.RangeTestResult]:
    """The range tests of the recorded sweeps (real training runs)."""
    out = []
    for name in ("sweep_momentum", "sweep_weight_decay"):
        data = json.loads((RESULTS / f"{name}.json").read_text())
        out += [cyclr.RangeTestResult.from_dict(r) for r in data["results"]]
    return out


def direct_longest_decrease(y: np.ndarray) -> tuple[int, int]:
    return fastai_valley_span(y.tolist())


@pytest.fixture
def direct(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Swap the fast paths for the direct definitions; returns a function that undoes it."""

    def apply() -> None:
        monkeypatch.setattr(cyclr.suggest._rise, "local_linear", direct_local_linear)
        monkeypatch.setattr(cyclr.suggest.curve_stats, "local_linear", direct_local_linear)
        monkeypatch.setattr(cyclr.suggest._curve, "running_median", direct_running_median)
        monkeypatch.setattr(cyclr.suggest.single_lr, "_longest_decrease", direct_longest_decrease)
        monkeypatch.setattr(cyclr.suggest._curve, "sliding_nanmedian_mad", direct_nanmedian_mad)

    return apply


def readings(r: cyclr.RangeTestResult) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for m in METHODS:
        try:
            out[m] = r.suggest(m)
        except sg.SuggestionError as e:
            out[m] = e.kind
    return out


def assert_same_readings(fast: dict[str, Any], ref: dict[str, Any]) -> None:
    for m in METHODS:
        a, b = fast[m], ref[m]
        if isinstance(b, str):
            assert a == b, m
            continue
        assert (a.base_lr, a.max_lr, a.reason) == (b.base_lr, b.max_lr, b.reason), m
        assert [p.index for p in a.points] == [p.index for p in b.points], m
        np.testing.assert_allclose(a.curve_values, b.curve_values, rtol=1e-9, atol=1e-12)
        if b.reading is not None:
            assert a.reading is not None, m
            for key in ("noise", "start_level", "change"):
                assert getattr(a.reading, key) == pytest.approx(
                    getattr(b.reading, key), rel=1e-9, abs=1e-12
                )


def test_rules_read_the_same_bounds_as_the_direct_definitions(direct: Any) -> None:
    curves = [synthetic(seed) for seed in range(12)] + recorded()
    fast = [readings(r) for r in curves]
    fast_blow = [sg.blow_up_lr(r) for r in curves]
    direct()
    for r, f, b in zip(curves, fast, fast_blow):
        assert_same_readings(f, readings(r))
        assert sg.blow_up_lr(r) == b


def test_sweep_reads_the_same_choice_as_the_direct_definitions(direct: Any) -> None:
    sweeps = [
        cyclr.SweepResult.load(RESULTS / f"sweep_{p}.json") for p in ("momentum", "weight_decay")
    ]
    fast = [s.suggest() for s in sweeps]
    direct()
    for s, a in zip(sweeps, fast):
        b = s.suggest()
        assert (a.value, a.leader, a.clear, a.overlaps, a.reason) == (
            b.value,
            b.leader,
            b.clear,
            b.overlaps,
            b.reason,
        )
        for ra, rb in zip(a.readings, b.readings):
            assert (ra.stable_index, ra.floor_lr, ra.stable_lr) == (
                rb.stable_index,
                rb.floor_lr,
                rb.stable_lr,
            )
            np.testing.assert_allclose(ra.fit, rb.fit, rtol=1e-9)
            np.testing.assert_allclose(ra.se, rb.se, rtol=1e-9)


# -- work and memory grow linearly ---------------------------------------------------------
def peak_bytes(fn: Any) -> int:
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


class CountingExp:
    """numpy, with ``exp`` counting the values it is given."""

    def __init__(self) -> None:
        self.values = 0

    def exp(self, a: Any, *args: Any, **kwargs: Any) -> Any:
        a = np.asarray(a)
        self.values += a.size
        return np.exp(a, *args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(np, name)


@pytest.mark.parametrize("n", [400, 4000])
def test_the_smoother_evaluates_its_kernel_a_few_times_per_point(
    n: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Evaluating the kernel once per pair of points would be ``n**2`` evaluations."""
    counting = CountingExp()
    monkeypatch.setattr(cyclr.suggest._curve, "np", counting)
    y = noisy_curve(n, 0)
    fit, _ = cv.local_linear(np.arange(n, dtype=np.float64), y, cv.kernel_width(n, 1 / 40))
    assert np.isfinite(fit).all()
    assert 0 < counting.values <= 4 * n


def test_running_median_memory_grows_linearly() -> None:
    """Four times the points (and a window a fixed share of them) take about four times the
    memory; holding every window at once would take sixteen."""
    rng = np.random.default_rng(0)
    small, large = rng.normal(size=10_000), rng.normal(size=40_000)
    ratio = peak_bytes(lambda: cv.running_median(large, 1000)) / peak_bytes(
        lambda: cv.running_median(small, 250)
    )
    assert ratio < 6, ratio


def test_local_noise_memory_grows_linearly() -> None:
    rng = np.random.default_rng(0)
    small, large = rng.normal(size=2_000), rng.normal(size=8_000)
    norm = np.full(8_000, 0.1)
    ratio = peak_bytes(lambda: residual_noise(large, 0 * large, norm, window=1200)) / peak_bytes(
        lambda: residual_noise(small, 0 * small, norm[:2_000], window=300)
    )
    assert ratio < 6, ratio
