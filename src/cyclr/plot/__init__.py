"""Plots of range tests and schedules (matplotlib, imported only when a function is called).

- :func:`range_test`: loss (raw and smoothed) and accuracy against the LR, validation curves when
  recorded, the suggested range shaded and both bounds marked with their values.
- :func:`schedule`: a schedule's LR (and momentum) against the iteration.
- :func:`sweep`: the range tests of a hyper-parameter sweep overlaid, the chosen value marked.
- :func:`online`: what an online schedule (:mod:`cyclr.online`) read: its warm-up's loss against
  the LR with the bounds, and the LR of every update, the decision and any blow-up marked.

All draw into ``ax`` (or a new figure), never call ``show()``, and return a small record of
what they drew (:class:`RangeTestPlot`, :class:`SchedulePlot`, :class:`SweepPlot`,
:class:`OnlinePlot`) whose ``ax`` is the axes drawn into (:func:`online`: the LR's; ``ax`` takes
both of its axes). Accuracy-like metrics are shown in percent.

Example:
    >>> import cyclr.plot
    >>> drawn = cyclr.plot.schedule(cyclr.OneCycle(0.2, 1000), 1000, momentum=True)
    >>> drawn.ax.get_xlabel(), drawn.momentum_ax.get_ylabel()
    ('iteration', 'momentum')
"""

from __future__ import annotations

from cyclr.plot._common import OnlinePlot, RangeTestPlot, SchedulePlot, SweepPlot
from cyclr.plot._online import online
from cyclr.plot._range_test import range_test
from cyclr.plot._schedule import schedule
from cyclr.plot._sweep import sweep

__all__ = [
    "OnlinePlot",
    "RangeTestPlot",
    "SchedulePlot",
    "SweepPlot",
    "online",
    "range_test",
    "schedule",
    "sweep",
]
