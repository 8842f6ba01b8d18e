"""The plot of an online schedule, :func:`cyclr.plot.online`."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np

from cyclr.plot._common import LOSS, RANGE, OnlinePlot, RangeTestPlot, fmt_lr, legend_below
from cyclr.plot._range_test import range_test

if TYPE_CHECKING:
    from collections.abc import Sequence

    from matplotlib.axes import Axes

    from cyclr.online.schedule import OnlineController
    from cyclr.suggest.bounds import Bounds

__all__ = ["online"]

BLOW_UP = "tab:red"
#: A line of the schedule's log about update ``t``: ``"update t: ..."``.
_EVENT = re.compile(r"^update (\d+): (.*)$", re.DOTALL)


def _core(schedule: Any) -> OnlineController:
    """The :class:`cyclr.online.OnlineController` of ``schedule`` (itself, or its ``.online``)."""
    from cyclr.online.schedule import OnlineController

    core = getattr(schedule, "online", schedule)
    if not isinstance(core, OnlineController):
        raise TypeError(
            "schedule must be a cyclr.online.OnlineController or have one as .online (a "
            f"cyclr.torch.OnlineScheduler), got {type(schedule).__name__}"
        )
    return core


def _events(log: Sequence[str]) -> list[tuple[int, str]]:
    """``(update, text)`` of every log line about one update, in order."""
    out = []
    for line in log:
        m = _EVENT.match(line)
        if m:
            out.append((int(m.group(1)), m.group(2)))
    return out


def _realised(core: OnlineController) -> np.ndarray:
    """The LR each update so far ran at (``core.lr(t)``: the ramp's, or the schedule's at the
    scale of its time, :attr:`~cyclr.online.OnlineController.halvings`)."""
    return np.array([core.lr(t) for t in range(core.step)], dtype=np.float64)


def _horizon(core: OnlineController) -> int:
    """How many updates the LR panel shows: the whole run, or (a CLR without ``total_steps``)
    the warm-up and two cycles after the decision."""
    if core.total_steps is not None:
        return max(core.total_steps, core.step)
    d = core.decided_at
    if d is None:
        return max(core.warmup_steps, core.step)
    return max(core.step, d + 4 * (core.step_size or max(d, 1)))


def online(
    schedule: Any,
    ax: Sequence[Axes] | None = None,
    *,
    title: str | None = None,
) -> OnlinePlot:
    """Plot what an online schedule read and the LR it runs: two panels.

    - left, the warm-up read as a range test: its loss against the LR, with the bounds read
      (:func:`cyclr.plot.range_test`: the range shaded, both bounds marked, the points the rule
      read, e.g. the plateau);
    - right, the LR of every update (log scale): realised so far (solid), planned for the rest
      of the run once the bounds are read (dashed; before, the ramp still ahead, dotted); the
      update at which the bounds were read, ``max_lr`` and ``base_lr``, and every blow-up and
      back-off of the schedule's ``log`` marked.

    ``schedule`` is a :class:`cyclr.online.OnlineController` or anything holding one as
    ``.online`` (a :class:`cyclr.torch.OnlineScheduler`, the ``scheduler`` of
    ``cyclr.lightning.OnlineScheduleCallback``). ``ax``: the two axes to draw into (the
    curve's, the LR's), or ``None`` for a new figure.

    Example:
        >>> import cyclr.plot
        >>> from cyclr.online import OnlineController
        >>> s = OnlineController("one_cycle", total_steps=1000)
        >>> ideal = lambda lr: 2.3 - 1.5 / (1 + (0.01 / lr) ** 2) + 20 * lr ** 2
        >>> for _ in range(600):
        ...     s.observe(ideal(s.lr()))
        >>> drawn = cyclr.plot.online(s)
        >>> drawn.decided_at == s.decided_at, drawn.ax.get_yscale()
        (True, 'log')
    """
    core = _core(schedule)
    fig, curve_ax, lr_ax = _two_axes(ax)
    curve = _warmup_curve(core, curve_ax)
    handles, end = _lr_path(core, lr_ax)
    d = core.decided_at
    if title is None:
        title = f"Online {core.policy}: the LR of every update ({core.step} of {end} run)"
        if d is not None and core.bounds is not None:
            title += f"\nmax_lr {fmt_lr(core.bounds.max_lr)} read at update {d}"
        else:
            title += "\nwarming up"
    lr_ax.set_title(title, fontsize=11, pad=18 if core.bounds is not None else 6)
    legend_below(lr_ax, handles, -0.13, columns=2)
    return OnlinePlot(curve, lr_ax, d, handles, fig)


def _two_axes(ax: Sequence[Axes] | None) -> tuple[Any, Any, Any]:
    """The figure, the curve's axes and the LR's: ``ax`` unpacked, or a new figure."""
    if ax is None:
        import matplotlib.pyplot as plt

        fig, (curve_ax, lr_ax) = plt.subplots(1, 2, figsize=(14.0, 5.2), layout="constrained")
        return fig, curve_ax, lr_ax
    try:
        curve_ax, lr_ax = ax
    except (TypeError, ValueError):
        raise TypeError("ax must be two axes (the warm-up's curve, the LR path) or None") from None
    return lr_ax.figure, curve_ax, lr_ax


def _warmup_curve(core: OnlineController, ax: Any) -> RangeTestPlot:
    """The left panel: the warm-up read as a range test, with the bounds and the plateau."""
    result = core.result()
    ramp = f"{len(result)} updates of a {core.warmup_steps}-update ramp"
    read = "bounds not read yet" if core.decided_at is None else f"bounds read by '{core.method}'"
    bounds = None if core.bounds is None else _on_the_curve(core.bounds)
    curve = range_test(result, bounds, ax, title=f"Warm-up read as a range test: {ramp}\n{read}")
    if bounds is not None:
        curve.handles += _plateau(ax, bounds)
        legend_below(ax, curve.handles, -0.13, columns=3)
        _clear_of_bounds(ax, bounds)
    return curve


def _lr_path(core: OnlineController, ax: Any) -> tuple[list[Any], int]:
    """The right panel: the LR of every update, the decision and the blow-ups; its legend's
    handles and the updates it shows."""
    d = core.decided_at
    realised = _realised(core)
    (h,) = ax.plot(np.arange(core.step), realised, color=LOSS, lw=1.8, label="LR so far")
    handles: list[Any] = [h]
    end = _horizon(core)
    if d is None:
        ahead = np.arange(core.step, max(core.step, core.warmup_steps))
        handles += _ahead(ax, core, ahead, ":", "the ramp ahead (until the bounds are read)")
    else:
        handles += _ahead(ax, core, np.arange(core.step, end), "--", "LR planned")
        if core.bounds is not None:
            handles += _decision(ax, core, core.bounds, d)
    blown = [u for u, text in _events(core.log) if text.startswith("the loss blew up")]
    if blown:
        lrs = [realised[u] if u < len(realised) else core.lr(u) for u in blown]
        label = "loss blew up" + (" (rest halved)" if core.halvings else "")
        (h,) = ax.plot(blown, lrs, "x", color=BLOW_UP, ms=8, mew=2, zorder=5, label=label)
        handles.append(h)
    ax.set_yscale("log")
    ax.set_xlim(0, max(end - 1, 1))
    ax.set_xlabel("update")
    ax.set_ylabel("learning rate (log scale)", color=LOSS)
    ax.tick_params(axis="y", colors=LOSS)
    ax.grid(True, which="major", alpha=0.3)
    return handles, end


def _ahead(ax: Any, core: OnlineController, steps: np.ndarray, style: str, label: str) -> list[Any]:
    """The LR still to come at ``steps`` (none if empty), drawn in ``style``."""
    if not len(steps):
        return []
    lrs = [core.lr(int(t)) for t in steps]
    (h,) = ax.plot(steps, lrs, style, color=LOSS, lw=1.4, label=label)
    return [h]


def _decision(ax: Any, core: OnlineController, b: Bounds, d: int) -> list[Any]:
    """The warm-up read, the update of the decision, and the levels of the bounds."""
    handles = [
        ax.axvspan(0, d, color="0.5", alpha=0.1, lw=0, label="warm-up (read)"),
        ax.axvline(d, color=RANGE, lw=1.5, label=f"bounds read at update {d}"),
    ]
    levels = [("max_lr", b.max_lr, "-")]
    if core.policy != "one_cycle":  # 1cycle comes down to max_lr / div_factor instead
        levels.append(("base_lr", b.base_lr, ":"))
    for name, value, ls in levels:
        ax.axhline(value, color=RANGE, lw=1.0, ls=ls, alpha=0.7)
        ax.annotate(
            f"{name} = {fmt_lr(value)}",
            (0.0, value),
            xycoords=("axes fraction", "data"),
            xytext=(4, 3),
            textcoords="offset points",
            fontsize=8,
            color="0.25",
        )
    return handles


def _on_the_curve(bounds: Bounds) -> Bounds:
    """``bounds`` with its ``max_lr`` point on the curve read.

    For 1cycle the online schedule moves ``max_lr`` to the plateau's end but keeps the value of
    the rule's own ``max_lr`` point; the point is drawn at the curve's value there instead.
    """
    lr = np.asarray(bounds.curve_lr, dtype=np.float64)
    values = np.asarray(bounds.curve_values, dtype=np.float64)
    ok = np.isfinite(values) & (lr > 0)
    if ok.sum() < 2:
        return bounds
    x, y = np.log(lr[ok]), values[ok]
    points = tuple(
        replace(p, value=float(np.interp(np.log(p.lr), x, y)))
        if p.label == "max_lr" and p.lr > 0
        else p
        for p in bounds.points
    )
    return replace(bounds, points=points)


def _plateau(ax: Any, bounds: Bounds) -> list[Any]:
    """The lowest plateau the rule found (``bounds.reading.plateau``), as a bar at the foot of
    the axes: for 1cycle its end is ``max_lr``."""
    if bounds.reading is None:
        return []
    lo, hi = bounds.reading.plateau
    import matplotlib.transforms as mtransforms

    # at the foot of the axes, clear of the curve and the labels of the points read
    foot = mtransforms.blended_transform_factory(ax.transData, ax.transAxes)
    (h,) = ax.plot(
        [lo, hi],
        [0.03, 0.03],
        color="black",
        lw=4.0,
        solid_capstyle="butt",
        transform=foot,
        label=f"lowest plateau {fmt_lr(lo)} - {fmt_lr(hi)}",
    )
    return [h]


def _clear_of_bounds(ax: Any, bounds: Bounds) -> None:
    """Move a point's label (drawn below right of it) below left of it when a bound's marker
    sits in it: 1cycle's ``max_lr``, the plateau's end, lies just right of the plateau's
    centre."""
    from matplotlib.text import Annotation

    try:
        ax.figure.draw_without_rendering()  # the layout as it will be drawn
        renderer = ax.figure.canvas.get_renderer()
    except AttributeError:  # a canvas that cannot measure text before it is drawn
        return
    marks = [
        ax.transData.transform((p.lr, p.value))
        for p in bounds.points
        if p.label in ("base_lr", "max_lr") and np.isfinite(p.value) and p.lr > 0
    ]
    for text in ax.texts:
        if not isinstance(text, Annotation):
            continue
        box = text.get_window_extent(renderer).expanded(1.0, 1.0).padded(4)
        if any(box.contains(x, y) for x, y in marks):
            text.set_position((-6, -18))
            text.set_horizontalalignment("right")
