"""Plots of range tests and schedules (matplotlib, imported only when a function is called).

- :func:`range_test`: loss (raw and smoothed) and accuracy against the LR, validation curves when
  recorded, the suggested range shaded and both bounds marked with their values.
- :func:`schedule`: a schedule's LR (and momentum) against the iteration.
- :func:`sweep`: the range tests of a hyper-parameter sweep overlaid, the chosen value marked.

All draw into ``ax`` (or a new figure), never call ``show()``, and return a small record of
what they drew (:class:`RangeTestPlot`, :class:`SchedulePlot`, :class:`SweepPlot`) whose ``ax``
is the axes drawn into. Accuracy-like metrics are shown in percent.

Example:
    >>> import numpy as np, cyclr, cyclr.plot
    >>> drawn = cyclr.plot.schedule(cyclr.OneCycle(0.2, 1000), 1000, momentum=True)
    >>> drawn.ax.get_xlabel(), drawn.momentum_ax.get_ylabel()
    ('iteration', 'momentum')
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from cyclr import _validate as v

if TYPE_CHECKING:
    from collections.abc import Sequence

    from matplotlib.axes import Axes

    from cyclr.range_test.result import RangeTestResult
    from cyclr.schedules.base import Schedule
    from cyclr.suggest.bounds import Bounds
    from cyclr.sweep import SweepResult, SweepSuggestion

__all__ = ["RangeTestPlot", "SchedulePlot", "SweepPlot", "range_test", "schedule", "sweep"]


@dataclass
class RangeTestPlot:
    """What :func:`range_test` drew: the loss axes, the metric axes (a twin, or ``None``) and
    the legend's handles."""

    ax: Any
    metric_ax: Any = None
    handles: list[Any] = field(default_factory=list)


@dataclass
class SchedulePlot:
    """What :func:`schedule` drew: the LR axes and the momentum axes (a twin, or ``None``)."""

    ax: Any
    momentum_ax: Any = None


@dataclass
class SweepPlot:
    """What :func:`sweep` drew: the axes and the suggestion shown (or ``None``)."""

    ax: Any
    suggestion: Any = None


_LOSS = "tab:blue"
_METRIC = "tab:green"
_VAL_LOSS = "tab:purple"
_VAL_METRIC = "darkgreen"
_RANGE = "tab:orange"


def _axes(ax: Any, figsize: tuple[float, float] = (8.0, 4.8)) -> Any:
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, ax = plt.subplots(figsize=figsize, layout="constrained")
    return ax


def _fmt(lr: float) -> str:
    return f"{lr:.3g}"


def _loss_limits(loss: np.ndarray, smoothed: np.ndarray) -> tuple[float, float] | None:
    """Y-limits that show the fall of the loss without letting the blow-up squash it."""
    finite = loss[np.isfinite(loss)]
    if len(finite) == 0:
        return None
    k = max(3, len(finite) // 20)
    start = float(np.median(finite[:k]))
    s = smoothed[np.isfinite(smoothed)]
    lowest = float(min(np.min(s) if len(s) else np.inf, np.quantile(finite, 0.02)))
    span = start - lowest
    if span <= 0:
        span = abs(start) * 0.1 or 1.0
    return lowest - 0.15 * span, start + 0.45 * span


def _legend_below(ax: Any, handles: list[Any], top: float, columns: int) -> None:
    """The legend of ``handles`` centred under the axes, its top at ``top`` (axes fraction)."""
    ax.legend(
        handles=handles,
        loc="upper center",
        bbox_to_anchor=(0.5, top),
        ncol=columns,
        fontsize=8,
        frameon=False,
    )


def _is_fraction(name: str | None, values: Any) -> bool:
    """An accuracy-like metric recorded as a fraction (shown in percent)."""
    y = np.asarray(values, dtype=np.float64)
    y = y[np.isfinite(y)]
    return bool(len(y)) and "acc" in (name or "").lower() and float(np.abs(y).max()) <= 1.5


def range_test(
    result: RangeTestResult,
    bounds: Bounds | None = None,
    ax: Axes | None = None,
    *,
    title: str | None = None,
) -> RangeTestPlot:
    """Plot a range test: loss against LR (left axis), metric against LR (right axis).

    - the raw loss faint, and smoothed without lag (the local-linear fit the rules read, not
      the range test's EMA, which trails the ramp); the training metric likewise; validation
      loss and metric as markers when recorded; a log LR axis for exponential ramps;
    - with ``bounds``: the curve the rule read (dashed), the range ``[base_lr, max_lr]`` shaded,
      both bounds marked on that curve and labelled above the axes, the points the rule read
      (e.g. where the rise slows) marked and named, and the method in the title.

    Example:
        >>> import numpy as np, cyclr, cyclr.plot
        >>> lr = np.geomspace(1e-4, 1, 100)
        >>> loss = 2.3 - 1.5 / (1 + np.exp(-(np.log10(lr) + 2) * 4)) + 20 * lr ** 3
        >>> r = cyclr.RangeTestResult(lr=lr, loss=loss, smoothed_loss=loss, mode="exp")
        >>> drawn = cyclr.plot.range_test(r, r.suggest("loss"))
        >>> drawn.ax.get_xscale(), drawn.metric_ax is None
        ('log', True)
    """
    from cyclr.range_test.result import RangeTestResult

    if not isinstance(result, RangeTestResult):
        raise TypeError(f"result must be a cyclr.RangeTestResult, got {type(result).__name__}")
    from cyclr.suggest import BANDWIDTH, local_linear
    from cyclr.suggest.bounds import Bounds

    if bounds is not None and not isinstance(bounds, Bounds):
        raise TypeError(f"bounds must be a cyclr.Bounds or None, got {type(bounds).__name__}")
    ax = _axes(ax)
    lr = np.asarray(result.lr, dtype=np.float64)
    loss = np.asarray(result.loss, dtype=np.float64)
    steps = np.arange(len(loss), dtype=np.float64)
    width = max(2.0, len(loss) * BANDWIDTH)
    handles: list[Any] = []

    (h_raw,) = ax.plot(lr, loss, color=_LOSS, alpha=0.25, lw=0.8, label="loss")
    handles.append(h_raw)
    if np.isfinite(loss).sum() >= 3:
        fit, _ = local_linear(steps, loss, width)
        (h_s,) = ax.plot(lr, fit, color=_LOSS, lw=2.0, label="loss (smoothed)")
        handles.append(h_s)
    else:
        fit = loss
    if result.val_step is not None and result.val_loss is not None:
        x, y = lr[result.val_step], result.val_loss
        handles.append(_held_out(ax, x, y, "s", _VAL_LOSS, "validation loss"))
    if result.mode == "exp":
        ax.set_xscale("log")
    limits = _loss_limits(loss, fit)
    if limits is not None:
        ax.set_ylim(*limits)
    ax.set_xlabel("learning rate" + (" (log scale)" if result.mode == "exp" else ""))
    ax.set_ylabel("loss", color=_LOSS)
    ax.tick_params(axis="y", colors=_LOSS)
    ax.grid(True, which="major", alpha=0.3)

    mx = None
    name = result.metric_name or "metric"
    has_metric = result.metric is not None and bool(np.isfinite(result.metric).any())
    has_val_metric = result.val_metric is not None and bool(np.isfinite(result.val_metric).any())
    percent = False
    if has_metric or has_val_metric:
        mx = ax.twinx()
        percent = _is_fraction(name, result.metric if has_metric else result.val_metric)
        if has_metric:
            metric = np.asarray(result.metric, dtype=np.float64)
            m_fit, _ = local_linear(steps, metric, width)
            mx.plot(lr, metric, ".", color=_METRIC, alpha=0.15, ms=2.5)
            (h,) = mx.plot(lr, m_fit, color=_METRIC, lw=1.6, label=f"{name} (smoothed)")
            handles.append(h)
        if has_val_metric and result.val_step is not None and result.val_metric is not None:
            x, y = lr[result.val_step], result.val_metric
            handles.append(_held_out(mx, x, y, "o", _VAL_METRIC, f"validation {name}"))
        mx.set_ylabel(f"{name} (%)" if percent else name, color=_METRIC)
        mx.tick_params(axis="y", colors=_METRIC)
        if percent:
            mx.yaxis.set_major_formatter(lambda y, _: f"{100 * y:.0f}")

    if bounds is not None:
        handles += _draw_bounds(ax, mx, bounds)
    ramp = f"{'exponential' if result.mode == 'exp' else 'linear'} ramp, {len(result)} updates"
    if title is None:
        title = f"LR range test ({ramp})"
        if bounds is not None:
            title += f"\nsuggested by '{bounds.method}'"
            read_by = bounds.details.get("read_by")
            if read_by and read_by != bounds.method:
                title += f" (read from the {read_by})"
    ax.set_title(title, fontsize=11, pad=18 if bounds is not None else 6)
    _legend_below(ax, handles, -0.13, columns=3)
    return RangeTestPlot(ax, mx, handles)


def _held_out(ax: Any, lr: Any, values: Any, marker: str, color: str, label: str) -> Any:
    """The held-out scores against the LR: ``marker`` at each, joined by a thin line."""
    (line,) = ax.plot(lr, values, f"{marker}-", color=color, ms=3.5, lw=1.0, label=label)
    return line


def _value_texts(values: Any) -> list[str]:
    """The swept values written alike: all in scientific notation when ``:g`` would mix it with
    plain decimals (``0.0001`` beside ``1e-05``), else with ``:g``.

    Example:
        >>> _value_texts([1e-3, 1e-4, 1e-5, 0.0]), _value_texts([0.99, 0.9])
        (['1e-03', '1e-04', '1e-05', '0'], ['0.99', '0.9'])
    """
    plain = [f"{v:g}" for v in values]
    if len({"e" in t for t, v in zip(plain, values) if v != 0}) <= 1:
        return plain
    return ["0" if v == 0 else f"{v:.0e}" for v in values]


def _x_fraction(ax: Any, x: float) -> float:
    """Where ``x`` sits across the axes, from 0 (left) to 1 (right)."""
    lo, hi = ax.get_xlim()
    if ax.get_xscale() == "log" and lo > 0 and x > 0:
        lo, hi, x = np.log(lo), np.log(hi), np.log(x)
    return float((x - lo) / (hi - lo)) if hi != lo else 0.5


def _draw_bounds(ax: Any, mx: Any, bounds: Bounds) -> list[Any]:
    """Shade ``[base_lr, max_lr]``, mark both bounds and the curve the rule read."""
    import matplotlib.transforms as mtransforms
    from matplotlib.lines import Line2D

    handles = []
    on_metric = bounds.curve in ("metric", "val_metric") and mx is not None
    target = mx if on_metric else ax
    if bounds.curve_lr and bounds.curve in ("metric", "val_metric", "loss", "smoothed_loss"):
        (h,) = target.plot(
            bounds.curve_lr,
            bounds.curve_values,
            "--",
            color="black",
            lw=1.2,
            alpha=0.8,
            label=f"curve read by '{bounds.method}'",
        )
        handles.append(h)
    span = ax.axvspan(
        bounds.base_lr,
        bounds.max_lr,
        color=_RANGE,
        alpha=0.18,
        lw=0,
        label=f"suggested range {_fmt(bounds.base_lr)} - {_fmt(bounds.max_lr)}",
    )
    handles.append(span)
    # The bounds are labelled just above the axes, where no curve runs: base_lr left of its
    # line, max_lr right of its line (both to the left when max_lr is near the right edge).
    blend = mtransforms.blended_transform_factory(ax.transData, ax.transAxes)
    right_edge = _x_fraction(ax, bounds.max_lr) > 0.8
    for label, lr, ha in (
        ("base_lr", bounds.base_lr, "right"),
        ("max_lr", bounds.max_lr, "right" if right_edge else "left"),
    ):
        ax.axvline(lr, color=_RANGE, lw=1.5, ls="-")
        text = f"{label} = {_fmt(lr)}"
        if right_edge and label == "base_lr":
            text = f"{text},"
        ax.text(lr, 1.01, f" {text} ", transform=blend, ha=ha, va="bottom", fontsize=9)
    named = False
    for p in bounds.points:
        if not np.isfinite(p.value):
            continue
        bound = p.label in ("base_lr", "max_lr")
        marker = {"base_lr": "v", "max_lr": "^"}.get(p.label, "o")
        target.plot(
            [p.lr], [p.value], marker, color="black" if bound else "tab:red", ms=7, zorder=5
        )
        if not bound:
            named = True
            target.annotate(
                f"{p.label}\n{_fmt(p.lr)}",
                (p.lr, p.value),
                textcoords="offset points",
                xytext=(6, -18),
                fontsize=8,
                color="tab:red",
                bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.8},
            )
    handles.append(
        Line2D(
            [],
            [],
            color="black",
            marker="v",
            ls="",
            label="base_lr (▼) and max_lr (▲) on that curve",
        )
    )
    if named:
        handles.append(
            Line2D([], [], color="tab:red", marker="o", ls="", label="points the rule read")
        )
    return handles


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
        >>> import numpy as np, cyclr, cyclr.plot
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
    ax = _axes(ax, (8.0, 3.6))
    lr = schedule(it)
    (h_lr,) = ax.plot(it, lr, color=_LOSS, lw=1.8, label="learning rate")
    ax.set_xlabel("iteration")
    ax.set_ylabel("learning rate", color=_LOSS)
    ax.tick_params(axis="y", colors=_LOSS)
    ax.set_xlim(it[0], max(it[0] + 1, it[-1]))
    ax.set_ylim(bottom=0)
    ax.grid(True, alpha=0.3)
    handles = [h_lr]
    mx = None
    if momentum is not None:
        mx = ax.twinx()
        (h_m,) = mx.plot(it, momentum(it), color=_RANGE, lw=1.4, ls="--", label="momentum")
        mx.set_ylabel("momentum", color=_RANGE)
        mx.tick_params(axis="y", colors=_RANGE)
        handles.append(h_m)
    if title is None:
        title = (
            f"{type(schedule).__name__}: LR {_fmt(float(lr.min()))} - {_fmt(float(lr.max()))} "
            + (
                f"over {len(it)} iterations"
                if it[-1] == len(it) - 1  # every step from 0
                else f"at {len(it):,} steps from {it[0]:,} to {it[-1]:,}"
            )
        )
    ax.set_title(title, fontsize=11)
    _legend_below(ax, handles, -0.15, columns=2)
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


def sweep(
    results: SweepResult,
    ax: Axes | None = None,
    *,
    suggestion: SweepSuggestion | bool | None = None,
    title: str | None = None,
) -> Axes:
    """Overlay the range tests of a hyper-parameter sweep, one colour per value.

    - the curve the suggestion compares (training loss, validation loss or a metric) against the
      LR: raw values faint, the smoothed curve the rule read solid; a log LR axis for exponential
      sweeps; each value's largest stable LR marked with a dot;
    - the chosen value drawn thicker, labelled "(chosen)", its stable LR marked with a star and a
      dotted line; with no clear winner the leader is labelled "(leader)" and the title says so.

    ``suggestion``: ``None`` computes ``results.suggest()``; a :class:`~cyclr.SweepSuggestion`
    is drawn as given; ``False`` draws the recorded training losses only. Returns the axes; the
    suggestion drawn (or ``None``) is ``ax.cyclr_suggestion``.

    Example:
        >>> import numpy as np, cyclr, cyclr.plot
        >>> lr = np.geomspace(1e-4, 10, 120)
        >>> def loss(m):
        ...     x = np.log10(lr / (1 - m))
        ...     return 2.3 - 2 / (1 + np.exp(-3 * (x + 1))) + np.exp(2.5 * (x - 1))
        >>> runs = [cyclr.RangeTestResult(lr=lr, loss=loss(m), smoothed_loss=loss(m), mode="exp")
        ...         for m in (0.99, 0.9)]
        >>> ax = cyclr.plot.sweep(cyclr.SweepResult("momentum", (0.99, 0.9), runs))
        >>> ax.cyclr_suggestion.value, [t.get_text() for t in ax.get_legend().get_texts()]
        (0.9, ['momentum=0.99', 'momentum=0.9 (chosen)'])
    """
    from cyclr.sweep import SweepResult, SweepSuggestion, curve_data

    if not isinstance(results, SweepResult):
        raise TypeError(f"results must be a cyclr.SweepResult, got {type(results).__name__}")
    note = ""
    if suggestion is None or suggestion is True:
        from cyclr.suggest import SuggestionError

        try:
            suggestion = results.suggest()
        except SuggestionError as exc:
            suggestion, note = None, f"no suggestion ({exc.kind})"
    elif suggestion is False:
        suggestion = None
    elif not isinstance(suggestion, SweepSuggestion):
        raise TypeError(
            f"suggestion must be a cyclr.SweepSuggestion, None or False, got "
            f"{type(suggestion).__name__}"
        )
    import matplotlib as mpl

    ax = _axes(ax)
    name = results.label
    curve = suggestion.curve if suggestion is not None else "loss"
    order = sorted(range(len(results)), key=lambda i: results.values[i])
    # Ordered, strong colours (a dark-to-light map makes the lightest curve vanish on white).
    cmap = mpl.colormaps["plasma"]
    colors = {i: cmap(0.75 * k / max(1, len(order) - 1)) for k, i in enumerate(order)}
    texts = _value_texts(results.values)
    lows: list[float] = []
    highs: list[float] = []
    for i, (value, result) in enumerate(results.items()):
        color = colors[i]
        label = f"{name}={texts[i]}"
        chosen = suggestion is not None and value == suggestion.leader
        if chosen:
            label += " (chosen)" if suggestion.clear else " (leader)"  # type: ignore[union-attr]
        lr, y = curve_data(result, curve)
        marker = "o" if curve.startswith("val") else "."
        ax.plot(lr, y, marker, color=color, alpha=0.2, ms=2.5)
        if suggestion is None:
            sm = np.asarray(result.smoothed_loss)
            ax.plot(result.lr, sm, color=color, lw=1.8, label=label)
            finite = sm[np.isfinite(sm)]
            if len(finite):
                lows.append(float(finite.min()))
                highs.append(float(np.median(finite[: max(3, len(finite) // 20)])))
            continue
        reading = suggestion.reading(value)
        if not reading.ok:
            ax.plot([], [], color=color, lw=1.0, ls=":", label=f"{label}: {reading.note}")
            continue
        ax.plot(
            reading.lr,
            reading.fit,
            color=color,
            lw=4.5 if chosen else 1.6,
            alpha=0.5 if chosen else 1.0,
            label=label,
            zorder=2 if chosen else 3,  # a wide band under the others, hiding none
        )
        k = reading.stable_index
        ax.plot(
            [reading.stable_lr],
            [reading.fit[k]],
            "*" if chosen else "o",
            color=color,
            mec="black",
            ms=14 if chosen else 6,
            zorder=5,
        )
        if chosen:
            ax.axvline(reading.stable_lr, color=color, ls=":", lw=1.4)
        lows.append(min(reading.floor, reading.start))
        highs.append(max(reading.floor, reading.start))
    exp = bool(results.results) and results.results[0].mode == "exp"
    if exp:
        ax.set_xscale("log")
    if lows and highs:
        lo, hi = min(lows), max(highs)
        span = (hi - lo) or abs(hi) * 0.1 or 1.0
        ax.set_ylim(lo - 0.15 * span, hi + 0.45 * span)
    ylabel = {"loss": "training loss", "val_loss": "validation loss"}.get(curve)
    if ylabel is None:
        metric = results.results[0].metric_name if results.results else None
        ylabel = ("validation " if curve == "val_metric" else "") + (metric or "metric")
    ax.set_xlabel("learning rate" + (" (log scale)" if exp else ""))
    ax.set_ylabel(ylabel + (" (smoothed)" if suggestion is not None else " (EMA)"))
    ax.grid(True, which="major", alpha=0.3)
    if title is None:
        title = f"LR range tests at {len(results)} values of {name}"
        if suggestion is not None:
            title += (
                f"\nchosen: {name}={texts[results.values.index(suggestion.value)]} "
                "(largest stable LR marked)"
                if suggestion.clear
                else f"\nno clear winner (leader {name}="
                f"{texts[results.values.index(suggestion.leader)]}): "
                "the curves overlap within noise"
            )
        elif note:
            title += f"\n{note}"
    ax.set_title(title, fontsize=11)
    ax.legend(loc="upper left", fontsize=8, frameon=False)
    ax.cyclr_suggestion = suggestion  # type: ignore[union-attr]
    return ax


def __dir__() -> list[str]:
    return sorted(__all__)
