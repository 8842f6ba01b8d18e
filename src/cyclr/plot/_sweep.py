"""The plot of a hyper-parameter sweep, :func:`cyclr.plot.sweep`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from cyclr.plot._common import SweepPlot, axes

if TYPE_CHECKING:
    from collections.abc import Sequence

    from matplotlib.axes import Axes

    from cyclr.sweep import SweepResult, SweepSuggestion

__all__ = ["sweep"]


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


def sweep(
    results: SweepResult,
    ax: Axes | None = None,
    *,
    suggestion: SweepSuggestion | bool | None = None,
    title: str | None = None,
) -> SweepPlot:
    """Overlay the range tests of a hyper-parameter sweep, one colour per value.

    - the curve the suggestion compares (training loss, validation loss or a metric) against the
      LR: raw values faint, the smoothed curve the rule read solid; a log LR axis for exponential
      sweeps; each value's largest stable LR marked with a dot;
    - the chosen value drawn thicker, labelled "(chosen)", its stable LR marked with a star and a
      dotted line; with no clear winner the leader is labelled "(leader)" and the title says so.

    ``suggestion``: ``None`` computes ``results.suggest()``; a :class:`~cyclr.SweepSuggestion`
    is drawn as given; ``False`` draws the recorded training losses only. Returns a
    :class:`~cyclr.plot.SweepPlot`: the axes, the suggestion drawn (or ``None``) and the legend's
    handles, one curve per value.

    Example:
        >>> import cyclr.plot
        >>> lr = np.geomspace(1e-4, 10, 120)
        >>> def loss(m):
        ...     x = np.log10(lr / (1 - m))
        ...     return 2.3 - 2 / (1 + np.exp(-3 * (x + 1))) + np.exp(2.5 * (x - 1))
        >>> runs = [cyclr.RangeTestResult(lr=lr, loss=loss(m), smoothed_loss=loss(m), mode="exp")
        ...         for m in (0.99, 0.9)]
        >>> drawn = cyclr.plot.sweep(cyclr.SweepResult("momentum", (0.99, 0.9), runs))
        >>> drawn.suggestion.value, [h.get_label() for h in drawn.handles]
        (0.9, ['momentum=0.99', 'momentum=0.9 (chosen)'])
    """
    from cyclr.sweep import SweepResult, curve_data

    if not isinstance(results, SweepResult):
        raise TypeError(f"results must be a cyclr.SweepResult, got {type(results).__name__}")
    suggestion, note = _suggestion(results, suggestion)
    ax = axes(ax)
    curve = suggestion.curve if suggestion is not None else "loss"
    colors = _colors(results.values)
    texts = _value_texts(results.values)
    lows: list[float] = []
    highs: list[float] = []
    handles: list[Any] = []
    for i, (value, result) in enumerate(results.items()):
        label = f"{results.label}={texts[i]}"
        lr, y = curve_data(result, curve)
        ax.plot(lr, y, "o" if curve.startswith("val") else ".", color=colors[i], alpha=0.2, ms=2.5)
        if suggestion is None:
            handle, low_high = _smoothed_loss(ax, result, colors[i], label)
        else:
            handle, low_high = _reading(ax, suggestion, value, colors[i], label)
        handles.append(handle)
        if low_high is not None:
            lows.append(low_high[0])
            highs.append(low_high[1])
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
    ax.set_title(_title(results, suggestion, note, texts) if title is None else title, fontsize=11)
    ax.legend(handles=handles, loc="upper left", fontsize=8, frameon=False)
    return SweepPlot(ax, suggestion, handles)


def _suggestion(
    results: SweepResult, suggestion: SweepSuggestion | bool | None
) -> tuple[SweepSuggestion | None, str]:
    """The suggestion to draw (``None``: none), and the title's note when none could be made."""
    from cyclr.sweep import SweepSuggestion

    if suggestion is None or suggestion is True:
        from cyclr.suggest import SuggestionError

        try:
            return results.suggest(), ""
        except SuggestionError as exc:
            return None, f"no suggestion ({exc.kind})"
    if suggestion is False:
        return None, ""
    if not isinstance(suggestion, SweepSuggestion):
        raise TypeError(
            f"suggestion must be a cyclr.SweepSuggestion, None or False, got "
            f"{type(suggestion).__name__}"
        )
    return suggestion, ""


def _colors(values: Sequence[float]) -> dict[int, Any]:
    """One colour per value, ordered by value."""
    import matplotlib as mpl

    order = sorted(range(len(values)), key=lambda i: values[i])
    # Ordered, strong colours (a dark-to-light map makes the lightest curve vanish on white).
    cmap = mpl.colormaps["plasma"]
    return {i: cmap(0.75 * k / max(1, len(order) - 1)) for k, i in enumerate(order)}


def _smoothed_loss(
    ax: Any, result: Any, color: Any, label: str
) -> tuple[Any, tuple[float, float] | None]:
    """The recorded smoothed loss (its line returned); its lowest value and its start, if any
    is finite."""
    sm = np.asarray(result.smoothed_loss)
    (line,) = ax.plot(result.lr, sm, color=color, lw=1.8, label=label)
    finite = sm[np.isfinite(sm)]
    if not len(finite):
        return line, None
    return line, (float(finite.min()), float(np.median(finite[: max(3, len(finite) // 20)])))


def _reading(
    ax: Any, suggestion: SweepSuggestion, value: float, color: Any, label: str
) -> tuple[Any, tuple[float, float] | None]:
    """The curve the suggestion read at ``value`` (its line returned) and its largest stable LR
    (a star and a dotted line for the chosen one); the lower and the higher of its floor and
    start, if it was read."""
    chosen = value == suggestion.leader
    if chosen:
        label += " (chosen)" if suggestion.clear else " (leader)"
    reading = suggestion.reading(value)
    if not reading.ok:
        (line,) = ax.plot([], [], color=color, lw=1.0, ls=":", label=f"{label}: {reading.note}")
        return line, None
    (line,) = ax.plot(
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
    return line, (min(reading.floor, reading.start), max(reading.floor, reading.start))


def _title(
    results: SweepResult, suggestion: SweepSuggestion | None, note: str, texts: list[str]
) -> str:
    """How many values of what, and the choice (or why there is none)."""
    name = results.label
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
    return title
