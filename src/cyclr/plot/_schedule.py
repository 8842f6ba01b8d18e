"""The schedule plot, :func:`cyclr.plot.schedule`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from cyclr import _validate as v
from cyclr.plot._common import LOSS, RANGE, SchedulePlot, axes, fmt_lr, legend_below

if TYPE_CHECKING:
    from collections.abc import Sequence

    from matplotlib.axes import Axes

    from cyclr.schedules.base import Schedule

__all__ = ["schedule"]


def schedule(
    schedule: Schedule,
    steps: int | Sequence[int] | NDArray[np.integer[Any]],
    momentum: bool | Schedule | None = None,
    ax: Axes | None = None,
    *,
    title: str | None = None,
) -> SchedulePlot:
    """Plot ``schedule(it)`` for ``it = 0 … steps - 1``; ``momentum`` on a twin axis.

    ``steps`` may instead be the iterations themselves, increasing integers >= 0: e.g. a sample
    of a schedule too long to evaluate at every step (``cyclr plot`` draws such previews).
    ``momentum=True`` plots ``schedule.momentum()``; a :class:`~cyclr.Schedule` plots that one.

    Example:
        >>> import cyclr.plot
        >>> drawn = cyclr.plot.schedule(cyclr.Triangular(0.01, 0.1, 50), 200)
        >>> drawn.ax.get_ylabel(), drawn.momentum_ax is None
        ('learning rate', True)
        >>> at = np.array([0, 10**9, 2 * 10**9, 3 * 10**9])
        >>> sampled = cyclr.plot.schedule(cyclr.Triangular(0.01, 0.1, 10**9), at)
        >>> sampled.ax.lines[0].get_ydata().tolist(), [int(x) for x in sampled.ax.get_xlim()]
        ([0.01, 0.1, 0.01, 0.1], [0, 3000000000])
    """
    from cyclr.schedules.base import Schedule

    if not isinstance(schedule, Schedule):
        raise TypeError(f"schedule must be a cyclr.Schedule, got {type(schedule).__name__}")
    it = _iterations(steps)
    if momentum is True:
        momentum = schedule.momentum()
    elif momentum is False:
        momentum = None
    if momentum is not None and not isinstance(momentum, Schedule):
        raise TypeError(f"momentum must be None, True or a cyclr.Schedule, got {momentum!r}")
    ax = axes(ax, (8.0, 3.6))
    lr = schedule(it)
    (h_lr,) = ax.plot(it, lr, color=LOSS, lw=1.8, label="learning rate")
    ax.set_xlabel("iteration")
    ax.set_ylabel("learning rate", color=LOSS)
    ax.tick_params(axis="y", colors=LOSS)
    ax.set_xlim(it[0], max(it[0] + 1, it[-1]))
    ax.set_ylim(bottom=0)
    ax.grid(True, alpha=0.3)
    handles = [h_lr]
    mx = None
    if momentum is not None:
        mx = ax.twinx()
        (h_m,) = mx.plot(it, momentum(it), color=RANGE, lw=1.4, ls="--", label="momentum")
        mx.set_ylabel("momentum", color=RANGE)
        mx.tick_params(axis="y", colors=RANGE)
        handles.append(h_m)
    if title is None:
        title = (
            f"{type(schedule).__name__}: LR {fmt_lr(float(lr.min()))} - {fmt_lr(float(lr.max()))} "
            + (
                f"over {len(it)} iterations"
                if it[-1] == len(it) - 1  # every step from 0
                else f"at {len(it):,} steps from {it[0]:,} to {it[-1]:,}"
            )
        )
    ax.set_title(title, fontsize=11)
    legend_below(ax, handles, -0.15, columns=2)
    return SchedulePlot(ax, mx)


def _iterations(steps: Any) -> NDArray[np.int64]:
    """The iterations :func:`schedule` plots: ``0 … steps - 1`` for a count, else ``steps``
    (increasing integers >= 0)."""
    if not isinstance(steps, (np.ndarray, list, tuple, range)):
        return np.arange(v.integer("steps", steps, minimum=1), dtype=np.int64)
    it = np.asarray(steps)
    if it.ndim != 1 or len(it) == 0 or it.dtype.kind not in "iu":
        raise TypeError(
            f"steps must be a number of steps or a non-empty 1-D sequence of integers, got "
            f"{type(steps).__name__} of shape {it.shape} and dtype {it.dtype}"
        )
    it = it.astype(np.int64)
    if it[0] < 0 or np.any(np.diff(it) <= 0):
        raise ValueError("steps must be increasing integers >= 0")
    return it
