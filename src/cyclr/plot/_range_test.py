"""The range-test plot, :func:`cyclr.plot.range_test`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from cyclr.plot._common import (
    LOSS,
    METRIC,
    RANGE,
    VAL_LOSS,
    VAL_METRIC,
    RangeTestPlot,
    axes,
    fmt_lr,
    legend_below,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from cyclr.range_test.result import RangeTestResult
    from cyclr.suggest.bounds import Bounds

__all__ = ["range_test"]


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
        >>> import cyclr.plot
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
    from cyclr.suggest import Bounds

    if bounds is not None and not isinstance(bounds, Bounds):
        raise TypeError(f"bounds must be a cyclr.Bounds or None, got {type(bounds).__name__}")
    ax = axes(ax)
    lr = np.asarray(result.lr, dtype=np.float64)
    handles = _draw_loss(ax, result, lr)
    mx = _draw_metric(ax, result, lr, handles)
    if bounds is not None:
        handles += _draw_bounds(ax, mx, bounds)
    ax.set_title(
        _title(result, bounds) if title is None else title,
        fontsize=11,
        pad=18 if bounds is not None else 6,
    )
    legend_below(ax, handles, -0.13, columns=3)
    return RangeTestPlot(ax, mx, handles)


def _draw_loss(ax: Any, result: RangeTestResult, lr: np.ndarray) -> list[Any]:
    """The loss, raw and smoothed, and the validation loss, on ``ax``; the legend's handles."""
    from cyclr.suggest import smooth

    loss = np.asarray(result.loss, dtype=np.float64)
    (h_raw,) = ax.plot(lr, loss, color=LOSS, alpha=0.25, lw=0.8, label="loss")
    handles = [h_raw]
    if np.isfinite(loss).sum() >= 3:
        fit = smooth(loss)
        (h_s,) = ax.plot(lr, fit, color=LOSS, lw=2.0, label="loss (smoothed)")
        handles.append(h_s)
    else:
        fit = loss
    if result.val_step is not None and result.val_loss is not None:
        x, y = lr[result.val_step], result.val_loss
        handles.append(_held_out(ax, x, y, "s", VAL_LOSS, "validation loss"))
    if result.mode == "exp":
        ax.set_xscale("log")
    limits = _loss_limits(loss, fit)
    if limits is not None:
        ax.set_ylim(*limits)
    ax.set_xlabel("learning rate" + (" (log scale)" if result.mode == "exp" else ""))
    ax.set_ylabel("loss", color=LOSS)
    ax.tick_params(axis="y", colors=LOSS)
    ax.grid(True, which="major", alpha=0.3)
    return handles


def _draw_metric(ax: Any, result: RangeTestResult, lr: np.ndarray, handles: list[Any]) -> Any:
    """The metric and the validation metric on a twin axis (returned; ``None`` without a
    metric), their handles added to ``handles``."""
    from cyclr.suggest import smooth

    name = result.metric_name or "metric"
    has_metric = result.metric is not None and bool(np.isfinite(result.metric).any())
    has_val_metric = result.val_metric is not None and bool(np.isfinite(result.val_metric).any())
    if not (has_metric or has_val_metric):
        return None
    mx = ax.twinx()
    percent = _is_fraction(name, result.metric if has_metric else result.val_metric)
    if has_metric:
        metric = np.asarray(result.metric, dtype=np.float64)
        m_fit = smooth(metric)
        mx.plot(lr, metric, ".", color=METRIC, alpha=0.15, ms=2.5)
        (h,) = mx.plot(lr, m_fit, color=METRIC, lw=1.6, label=f"{name} (smoothed)")
        handles.append(h)
    if has_val_metric and result.val_step is not None and result.val_metric is not None:
        x, y = lr[result.val_step], result.val_metric
        handles.append(_held_out(mx, x, y, "o", VAL_METRIC, f"validation {name}"))
    mx.set_ylabel(f"{name} (%)" if percent else name, color=METRIC)
    mx.tick_params(axis="y", colors=METRIC)
    if percent:
        mx.yaxis.set_major_formatter(lambda y, _: f"{100 * y:.0f}")
    return mx


def _title(result: RangeTestResult, bounds: Bounds | None) -> str:
    """The ramp, and the rule that read the bounds."""
    ramp = f"{'exponential' if result.mode == 'exp' else 'linear'} ramp, {len(result)} updates"
    if result.coarse is not None:  # the second test of the two-stage recipe
        ramp += f", after a {len(result.coarse)}-update exponential one"
    title = f"LR range test ({ramp})"
    if bounds is not None:
        title += f"\nsuggested by '{bounds.method}'"
        read_by = bounds.reading.rule if bounds.reading is not None else None
        if read_by and read_by != bounds.method:
            title += f" (read from the {read_by})"
    return title


def _held_out(ax: Any, lr: Any, values: Any, marker: str, color: str, label: str) -> Any:
    """The held-out scores against the LR: ``marker`` at each, joined by a thin line."""
    (line,) = ax.plot(lr, values, f"{marker}-", color=color, ms=3.5, lw=1.0, label=label)
    return line


def _x_fraction(ax: Any, x: float) -> float:
    """Where ``x`` sits across the axes, from 0 (left) to 1 (right)."""
    lo, hi = ax.get_xlim()
    if ax.get_xscale() == "log" and lo > 0 and x > 0:
        lo, hi, x = np.log(lo), np.log(hi), np.log(x)
    return float((x - lo) / (hi - lo)) if hi != lo else 0.5


def _draw_bounds(ax: Any, mx: Any, bounds: Bounds) -> list[Any]:
    """Shade ``[base_lr, max_lr]``, mark both bounds and the curve the rule read."""
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
        color=RANGE,
        alpha=0.18,
        lw=0,
        label=f"suggested range {fmt_lr(bounds.base_lr)} - {fmt_lr(bounds.max_lr)}",
    )
    handles.append(span)
    _bound_lines(ax, bounds)
    named = _points(target, bounds)
    keys = [("black", "v", "base_lr (▼) and max_lr (▲) on that curve")]
    if named:
        keys.append(("tab:red", "o", "points the rule read"))
    return handles + [Line2D([], [], color=c, marker=m, ls="", label=label) for c, m, label in keys]


def _bound_lines(ax: Any, bounds: Bounds) -> None:
    """A line at each bound, labelled just above the axes, where no curve runs: base_lr left of
    its line, max_lr right of its line (both to the left when max_lr is near the right edge)."""
    import matplotlib.transforms as mtransforms

    blend = mtransforms.blended_transform_factory(ax.transData, ax.transAxes)
    right_edge = _x_fraction(ax, bounds.max_lr) > 0.8
    for label, lr, ha in (
        ("base_lr", bounds.base_lr, "right"),
        ("max_lr", bounds.max_lr, "right" if right_edge else "left"),
    ):
        ax.axvline(lr, color=RANGE, lw=1.5, ls="-")
        text = f"{label} = {fmt_lr(lr)}"
        if right_edge and label == "base_lr":
            text = f"{text},"
        ax.text(lr, 1.01, f" {text} ", transform=blend, ha=ha, va="bottom", fontsize=9)


def _points(target: Any, bounds: Bounds) -> bool:
    """Mark the bounds (▼ ▲) and the points the rule read (named) on the curve's axes; whether
    any point was named."""
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
                f"{p.label}\n{fmt_lr(p.lr)}",
                (p.lr, p.value),
                textcoords="offset points",
                xytext=(6, -18),
                fontsize=8,
                color="tab:red",
                bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.8},
            )
    return named
