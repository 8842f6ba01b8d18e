"""What the plots of :mod:`cyclr.plot` share: the records they return, the colours, the axes
and the legend."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cyclr.sweep import SweepSuggestion

__all__ = [
    "LOSS",
    "METRIC",
    "OnlinePlot",
    "RANGE",
    "VAL_LOSS",
    "VAL_METRIC",
    "RangeTestPlot",
    "SchedulePlot",
    "SweepPlot",
    "axes",
    "fmt_lr",
    "legend_below",
]


@dataclass
class RangeTestPlot:
    """What :func:`cyclr.plot.range_test` drew: the loss axes, the metric axes (a twin, or
    ``None``) and the legend's handles."""

    ax: Any
    metric_ax: Any = None
    handles: list[Any] = field(default_factory=list)


@dataclass
class OnlinePlot:
    """What :func:`cyclr.plot.online` drew: the warm-up's curve (a :class:`RangeTestPlot`), the
    LR axes, the update at which the bounds were read (``None`` before), the LR panel's legend
    handles and the figure."""

    curve: RangeTestPlot
    ax: Any
    decided_at: int | None = None
    handles: list[Any] = field(default_factory=list)
    figure: Any = None


@dataclass
class SchedulePlot:
    """What :func:`cyclr.plot.schedule` drew: the LR axes and the momentum axes (a twin, or
    ``None``)."""

    ax: Any
    momentum_ax: Any = None


@dataclass
class SweepPlot:
    """What :func:`cyclr.plot.sweep` drew: the axes, the suggestion shown (or ``None``) and the
    legend's handles, one curve per value in the sweep's order."""

    ax: Any
    suggestion: SweepSuggestion | None = None
    handles: list[Any] = field(default_factory=list)


LOSS = "tab:blue"
METRIC = "tab:green"
VAL_LOSS = "tab:purple"
VAL_METRIC = "darkgreen"
RANGE = "tab:orange"


def axes(ax: Any, figsize: tuple[float, float] = (8.0, 4.8)) -> Any:
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, ax = plt.subplots(figsize=figsize, layout="constrained")
    return ax


def fmt_lr(lr: float) -> str:
    return f"{lr:.3g}"


def legend_below(ax: Any, handles: list[Any], top: float, columns: int) -> None:
    """The legend of ``handles`` centred under the axes, its top at ``top`` (axes fraction)."""
    ax.legend(
        handles=handles,
        loc="upper center",
        bbox_to_anchor=(0.5, top),
        ncol=columns,
        fontsize=8,
        frameon=False,
    )
