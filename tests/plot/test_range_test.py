"""cyclr.plot: lazy matplotlib, what the range-test plot shows."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import cyclr

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import cyclr.plot  # noqa: E402


def sweep(mode: str = "linear", n: int = 300, val: bool = True) -> cyclr.RangeTestResult:
    rng = np.random.default_rng(0)
    lr = np.linspace(1e-3, 1.0, n) if mode == "linear" else np.geomspace(1e-6, 10.0, n)
    u = lr / 0.2 if mode == "linear" else (np.log10(lr) + 1.5) * 3
    up = 1 / (1 + np.exp(-(u - 1) * 5)) if mode == "linear" else 1 / (1 + np.exp(-u))
    down = 1 / (1 + np.exp(-(lr - 0.6) * 40))
    acc = 0.1 + 0.8 * up * (1 - down) + rng.normal(0, 0.04, n)
    loss = 2.3 - 1.8 * up + 5 * down + rng.normal(0, 0.08, n)
    kw: dict[str, object] = {}
    if val:
        steps = np.arange(0, n, 10)
        kw = {"val_step": steps, "val_loss": loss[steps] + 0.1, "val_metric": acc[steps] - 0.02}
    return cyclr.RangeTestResult(
        lr=lr, loss=loss, smoothed_loss=loss, metric=acc, mode=mode, metric_name="accuracy", **kw
    )  # type: ignore[arg-type]


def test_import_does_not_import_matplotlib() -> None:
    code = "import sys, cyclr, cyclr.plot; print('matplotlib' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert out.stdout.strip() == "False"


def _texts(ax: object) -> str:
    return " ".join(t.get_text() for t in ax.texts)  # type: ignore[attr-defined]


def _legend(ax: object) -> list[str]:
    return [t.get_text() for t in ax.get_legend().get_texts()]  # type: ignore[attr-defined]


@pytest.mark.parametrize("mode", ["linear", "exp"])
def test_range_test_plot_with_bounds(mode: str, tmp_path: Path) -> None:
    r = sweep(mode)
    b = r.suggest()
    drawn = cyclr.plot.range_test(r, b)
    ax = drawn.ax
    assert ax.get_xscale() == ("log" if mode == "exp" else "linear")
    labels = _legend(ax)
    assert {
        "loss",
        "loss (smoothed)",
        "validation loss",
        "accuracy (smoothed)",
        "validation accuracy",
        "points the rule read",
    } <= set(labels)
    assert any(f"{b.base_lr:.3g}" in s and f"{b.max_lr:.3g}" in s for s in labels)
    assert any("curve read by 'auto'" in s for s in labels)
    assert any(s.startswith("base_lr (▼) and max_lr (▲)") for s in labels)
    text = _texts(ax)
    assert f"base_lr = {b.base_lr:.3g}" in text and f"max_lr = {b.max_lr:.3g}" in text
    assert all(t.get_position()[1] > 1 for t in ax.texts)  # above the curves, not on them
    assert "'auto'" in ax.get_title() and "accuracy" in ax.get_title()
    assert drawn.metric_ax is not None and drawn.metric_ax.get_ylabel() == "accuracy (%)"
    out = tmp_path / f"range_test_{mode}.png"
    ax.figure.savefig(out)
    assert out.stat().st_size > 10_000


def test_the_title_names_the_recipe_s_first_test() -> None:
    import dataclasses

    plain = cyclr.plot.range_test(sweep("linear"))
    assert (
        "(linear ramp, " in plain.ax.get_title() and "exponential one" not in plain.ax.get_title()
    )
    coarse = sweep("exp")
    both = cyclr.plot.range_test(dataclasses.replace(sweep("linear"), coarse=coarse))
    assert f"after a {len(coarse)}-update exponential one)" in both.ax.get_title()


def test_the_smoothed_loss_does_not_lag_the_ramp() -> None:
    """On a loss that falls at a known LR, the drawn smoothed loss falls there too (the EMA the
    test records trails it by about 1 / (1 - beta) updates)."""
    n = 400
    lr = np.linspace(1e-3, 1.0, n)
    loss = np.where(lr < 0.5, 2.3, 0.5) + np.random.default_rng(1).normal(0, 0.02, n)
    ema = np.empty(n)
    avg = 0.0
    for i, x in enumerate(loss):
        avg = 0.98 * avg + 0.02 * x
        ema[i] = avg / (1 - 0.98 ** (i + 1))
    r = cyclr.RangeTestResult(lr=lr, loss=loss, smoothed_loss=ema, mode="linear")
    drawn = cyclr.plot.range_test(r)
    smoothed = next(h for h in drawn.handles if h.get_label() == "loss (smoothed)")
    y = smoothed.get_ydata()
    half = lr[np.argmax(y < 1.4)]  # where the drawn curve is half-way down
    assert abs(half - 0.5) < 0.02
    assert abs(lr[np.argmax(ema < 1.4)] - 0.5) > 0.05  # the EMA is late


def test_range_test_plot_draws_into_the_given_axes() -> None:
    _fig, (a1, a2) = plt.subplots(1, 2)
    r = sweep("exp", val=False)
    got = cyclr.plot.range_test(r, r.suggest("minimum"), ax=a2).ax
    assert got is a2 and len(a1.lines) == 0
    assert "'minimum'" in a2.get_title()
    assert any(t.get_text().startswith("minimum") for t in a2.texts)


def test_range_test_plot_without_metric_or_bounds() -> None:
    r = sweep("exp", val=False)
    bare = cyclr.RangeTestResult(lr=r.lr, loss=r.loss, smoothed_loss=r.smoothed_loss, mode="exp")
    drawn = cyclr.plot.range_test(bare)
    ax = drawn.ax
    assert drawn.metric_ax is None and _texts(ax) == ""
    _lo, hi = ax.get_ylim()
    assert hi < 5  # the blow-up does not squash the curve
    with pytest.raises(TypeError, match="RangeTestResult"):
        cyclr.plot.range_test([1, 2])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="bounds"):
        cyclr.plot.range_test(bare, bounds=(0.1, 0.2))  # type: ignore[arg-type]
