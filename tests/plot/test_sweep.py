"""cyclr.plot.sweep: one curve per value, the choice (or the leader) marked, and a record of what
was drawn."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import cyclr

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import cyclr.plot  # noqa: E402

LR = np.geomspace(1e-5, 10, 300)
MOMENTA = (0.99, 0.97, 0.95, 0.9)


def run(loss: np.ndarray, **kw: Any) -> cyclr.RangeTestResult:
    return cyclr.RangeTestResult(lr=LR, loss=loss, smoothed_loss=loss, mode="exp", **kw)


def loss(momentum: float, seed: int = 0) -> np.ndarray:
    """A range-test loss that falls from 2.3 and blows up; the effective LR is lr / (1 - m), so
    lower momentum keeps it low to a larger LR."""
    x = np.log10(LR / (1 - momentum)) - 1
    y = 2.3 - 2 / (1 + np.exp(-3 * (x + 2.5))) + np.exp(2.0 * (x - 0.5))
    return y + np.random.default_rng(seed).normal(0, 0.05, LR.size)


def momentum_sweep() -> cyclr.SweepResult:
    return cyclr.SweepResult(
        "momentum", MOMENTA, tuple(run(loss(m, i)) for i, m in enumerate(MOMENTA))
    )


def texts(drawn: cyclr.plot.SweepPlot) -> list[str]:
    return [t.get_text() for t in drawn.ax.get_legend().get_texts()]


def test_plot_marks_the_choice_or_the_leader() -> None:
    drawn = cyclr.plot.sweep(momentum_sweep())
    assert texts(drawn) == [
        "momentum=0.99",
        "momentum=0.97",
        "momentum=0.95",
        "momentum=0.9 (chosen)",
    ]
    assert drawn.ax.get_xscale() == "log" and "chosen: momentum=0.9" in drawn.ax.get_title()

    tie = cyclr.SweepResult("momentum", MOMENTA, tuple(run(loss(0.9, seed=i)) for i in range(4)))
    drawn = cyclr.plot.sweep(tie)
    assert drawn.suggestion is not None and not drawn.suggestion.clear
    assert "no clear winner" in drawn.ax.get_title()
    assert any("(leader)" in t for t in texts(drawn))

    dead = np.full(LR.size, np.nan)
    dead[:2] = [2.3, 9.0]
    s = cyclr.SweepResult(
        "momentum", (0.999, 0.9), (run(dead, stop_reason="non_finite_loss"), run(loss(0.9)))
    )
    assert texts(cyclr.plot.sweep(s))[0].startswith("momentum=0.999: it diverged at once")

    drawn = cyclr.plot.sweep(s, suggestion=False)
    assert drawn.suggestion is None and drawn.ax.get_ylabel() == "training loss (EMA)"
    with pytest.raises(TypeError, match=r"results must be a cyclr\.SweepResult"):
        cyclr.plot.sweep(run(loss(0.9)))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="suggestion must be"):
        cyclr.plot.sweep(s, suggestion="auto")  # type: ignore[arg-type]


def test_the_record_holds_what_was_drawn_and_the_axes_get_no_attribute() -> None:
    result = momentum_sweep()
    choice = result.suggest()
    _fig, ax = plt.subplots()
    before = set(vars(ax))
    drawn = cyclr.plot.sweep(result, ax, suggestion=choice)
    assert isinstance(drawn, cyclr.plot.SweepPlot)
    assert drawn.ax is ax and drawn.suggestion is choice
    assert set(vars(ax)) == before and not hasattr(ax, "cyclr_suggestion")
    assert [h.get_label() for h in drawn.handles] == texts(drawn)
    assert all(h in ax.lines for h in drawn.handles)
    for h, m in zip(drawn.handles, MOMENTA):
        np.testing.assert_array_equal(h.get_xdata(), choice.reading(m).lr)
        np.testing.assert_array_equal(h.get_ydata(), choice.reading(m).fit)

    plain = cyclr.plot.sweep(result, suggestion=False)
    for h, r in zip(plain.handles, result.results):
        np.testing.assert_array_equal(h.get_ydata(), r.smoothed_loss)
