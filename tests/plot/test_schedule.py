"""cyclr.plot.schedule: the LR and momentum of every step, or of given steps."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import cyclr

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import cyclr.plot  # noqa: E402


def test_schedule_plot(tmp_path: Path) -> None:
    s = cyclr.OneCycle(0.2, 1000)
    drawn = cyclr.plot.schedule(s, 1000, momentum=True)
    ax = drawn.ax
    (line,) = ax.lines
    np.testing.assert_allclose(line.get_ydata(), s(np.arange(1000)))
    mom = drawn.momentum_ax
    np.testing.assert_allclose(mom.lines[0].get_ydata(), s.momentum()(np.arange(1000)))
    assert ax.get_xlabel() == "iteration" and "OneCycle" in ax.get_title()
    ax.figure.savefig(tmp_path / "schedule.png")
    _fig, given_ax = plt.subplots()
    t = cyclr.Triangular2(0.05, 0.2, 160)
    drawn = cyclr.plot.schedule(t, 960, ax=given_ax)
    assert drawn.ax is given_ax and drawn.momentum_ax is None
    custom = cyclr.plot.schedule(t, 960, momentum=cyclr.Constant(0.9))
    assert custom.momentum_ax.lines[0].get_ydata()[0] == 0.9


def test_schedule_plot_at_given_steps() -> None:
    t = cyclr.Triangular(0.01, 0.1, step_size=10**9)
    at = np.array([0, 5 * 10**8, 10**9, 3 * 10**9 - 1])
    drawn = cyclr.plot.schedule(t, at, momentum=True)
    (line,) = drawn.ax.lines
    np.testing.assert_array_equal(line.get_xdata(), at)
    np.testing.assert_allclose(line.get_ydata(), t(at))
    np.testing.assert_allclose(drawn.momentum_ax.lines[0].get_ydata(), t.momentum()(at))
    assert drawn.ax.get_xlim() == (0, 3 * 10**9 - 1)
    assert drawn.ax.get_title().endswith("at 4 steps from 0 to 2,999,999,999")
    # every step from 0 is the same plot as the count
    every = cyclr.plot.schedule(t, range(50))
    assert every.ax.get_title() == cyclr.plot.schedule(t, 50).ax.get_title()
    with pytest.raises(ValueError, match="increasing integers >= 0"):
        cyclr.plot.schedule(t, [0, 10, 10])
    with pytest.raises(ValueError, match="increasing integers >= 0"):
        cyclr.plot.schedule(t, [-1, 10])
    with pytest.raises(TypeError, match="1-D sequence of integers"):
        cyclr.plot.schedule(t, [0.0, 0.5])
    with pytest.raises(TypeError, match="1-D sequence of integers"):
        cyclr.plot.schedule(t, [])


def test_schedule_plot_validates() -> None:
    with pytest.raises(TypeError, match=r"cyclr\.Schedule"):
        cyclr.plot.schedule(lambda t: 0.1, 10)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="steps must be >= 1"):
        cyclr.plot.schedule(cyclr.Constant(0.1), 0)
    with pytest.raises(TypeError, match="momentum"):
        cyclr.plot.schedule(cyclr.Constant(0.1), 10, momentum=0.9)  # type: ignore[arg-type]
