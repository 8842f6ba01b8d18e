"""The single-LR rules of other LR finders, for comparison and migration.

Each finds one LR, sets ``max_lr`` to it and ``base_lr = max_lr / 4`` (Smith 2015, §3.2:
"base_lr = max_lr / 3 or / 4"), raised to the ramp's first LR if lower. Both bounds stay inside
the sweep: a suggestion below its first LR (``minimum``'s tenth of an early minimum) or above
its last (``slide`` with ``adjust_value > 1``) is moved to that end, and the reason says so.

- ``"steepest"``: ``argmin d loss / d log(lr)`` (torch-lr-finder, Lightning);
- ``"minimum"``: ``argmin loss / 10`` (fastai);
- ``"valley"``: about halfway down the longest decreasing stretch of the loss (fastai);
- ``"slide"``: where the loss slope settles, walking back from the end (fastai).

``docs/suggest.md`` says where each comes from.

Example:
    >>> lr = np.geomspace(1e-5, 1, 100)
    >>> loss = 2.0 - np.tanh((np.log(lr) - np.log(1e-2)) / 0.7) + 3 * (lr / 0.5) ** 3
    >>> r = cyclr.RangeTestResult(lr=lr, loss=loss, smoothed_loss=loss, mode="exp")
    >>> b = r.suggest("steepest")
    >>> 0.008 < b.max_lr < 0.012, b.base_lr == b.max_lr / 4
    (True, True)
"""

from __future__ import annotations

import bisect
from typing import Any

import numpy as np
from numpy.typing import NDArray

from cyclr import _validate as v
from cyclr.suggest._curve import leading_run
from cyclr.suggest._usable import check_result, fmt_lr, require_fall
from cyclr.suggest.bounds import SINGLE_LR_DIVISOR, Bounds, Point
from cyclr.suggest.errors import SuggestionError
from cyclr.suggest.range_curve import RangeCurve
from cyclr.suggest.registry import register

__all__ = ["minimum_rule", "slide_rule", "steepest_rule", "valley_rule"]


def _finite_prefix(result: RangeCurve, curve: str) -> tuple[NDArray[Any], NDArray[Any]]:
    """LRs and ``curve`` up to the first non-finite value (the sweep's usable part)."""
    y = np.asarray(getattr(result, curve), dtype=np.float64)
    end = leading_run(np.isfinite(y))
    return np.asarray(result.lr[:end], dtype=np.float64), y[:end]


def _trim(
    lr: NDArray[Any], y: NDArray[Any], skip_start: int, skip_end: int, rule: str
) -> tuple[NDArray[Any], NDArray[Any]]:
    skip_start = v.integer("skip_start", skip_start, minimum=0)
    skip_end = v.integer("skip_end", skip_end, minimum=0)
    stop = len(lr) - skip_end
    if stop - skip_start < 2:
        raise SuggestionError(
            f"the {rule!r} rule skips {skip_start} points at the start and {skip_end} at the "
            f"end, leaving {max(0, stop - skip_start)} of {len(lr)}; at least 2 are needed",
            "too_short",
        )
    return lr[skip_start:stop], y[skip_start:stop]


def _single(
    result: RangeCurve,
    method: str,
    lr_value: float,
    reason: str,
    lr: NDArray[Any],
    y: NDArray[Any],
    points: list[Point],
    details: dict[str, Any],
    curve: str = "smoothed_loss",
) -> Bounds:
    first, last = float(np.min(result.lr)), float(np.max(result.lr))
    max_lr = float(lr_value)
    if max_lr < first:
        max_lr = first
        reason += f"; max_lr is raised to the sweep's first LR {fmt_lr(first)}"
    elif max_lr > last:
        max_lr = last
        reason += f"; max_lr is lowered to the sweep's last LR {fmt_lr(last)}"
    base_lr = max_lr / SINGLE_LR_DIVISOR
    reason = (
        f"{reason}; base_lr = max_lr / {SINGLE_LR_DIVISOR:g} (a single-LR rule: the CLR "
        "paper's base_lr = max_lr / 3 or / 4)"
    )
    if base_lr < first:
        base_lr = first
        reason += f", raised to the sweep's first LR {fmt_lr(first)}"
    points = [
        *points,
        Point("max_lr", max_lr, float(np.interp(max_lr, lr, y)), None),
        Point("base_lr", base_lr, float(np.interp(base_lr, lr, y)), None),
    ]
    return Bounds(
        base_lr,
        max_lr,
        method,
        reason,
        curve,
        tuple(lr.tolist()),
        tuple(y.tolist()),
        tuple(points),
        details,
    )


@register("steepest")
def steepest_rule(
    result: RangeCurve,
    *,
    skip_start: int = 10,
    skip_end: int = 5,
    wrt: str = "log_lr",
    curve: str = "smoothed_loss",
) -> Bounds:
    """The LR where the smoothed loss falls fastest: ``argmin d loss / d log(lr)``.

    torch-lr-finder's ``plot(suggest_lr=True)`` (``wrt="index"`` on any sweep); Lightning's
    ``suggestion()`` is ``skip_start=10, skip_end=1, wrt="lr"``. The derivative is
    ``numpy.gradient`` (central differences).
    """
    check_result(result)
    v.choice("wrt", wrt, ("log_lr", "lr", "index"))
    v.choice("curve", curve, ("smoothed_loss", "loss"))
    require_fall(result)
    lr, y = _finite_prefix(result, curve)
    lr_t, y_t = _trim(lr, y, skip_start, skip_end, "steepest")
    if wrt == "index":
        grad = np.gradient(y_t)
    else:
        coord = np.log(lr_t) if wrt == "log_lr" else lr_t
        grad = np.gradient(y_t, coord)
    i = int(np.argmin(grad))
    where = {"log_lr": "log-LR", "lr": "LR", "index": "sample index"}[wrt]
    reason = (
        f"steepest fall of the {curve.replace('_', ' ')} against {where} at "
        f"lr={fmt_lr(float(lr_t[i]))} (torch-lr-finder/Lightning rule)"
    )
    pts = [Point("steepest", float(lr_t[i]), float(y_t[i]), int(i + skip_start))]
    details = {"wrt": wrt, "skip_start": skip_start, "skip_end": skip_end}
    return _single(result, "steepest", float(lr_t[i]), reason, lr, y, pts, details, curve)


def _fastai_trim(
    result: RangeCurve, skip_start: int | None, skip_end: int, rule: str
) -> tuple[NDArray[Any], NDArray[Any], int]:
    """fastai's ``lr_find`` view: smoothed losses ``[num_it // 10 : -5]``, cut at the first NaN."""
    lr = np.asarray(result.lr, dtype=np.float64)
    y = np.asarray(result.smoothed_loss, dtype=np.float64)
    if skip_start is None:
        num_it = result.config.get("num_iter", len(lr))
        skip_start = int(num_it) // 10 if isinstance(num_it, (int, float)) else len(lr) // 10
    lr_t, y_t = _trim(lr, y, skip_start, skip_end, rule)
    bad = np.flatnonzero(np.isnan(y_t))
    if len(bad):
        lr_t, y_t = lr_t[: bad[0]], y_t[: bad[0]]
    if len(lr_t) < 2:
        raise SuggestionError(
            f"fewer than 2 finite points remain for the {rule!r} rule", "too_short"
        )
    return lr_t, y_t, skip_start


@register("minimum")
def minimum_rule(result: RangeCurve, *, skip_start: int | None = None, skip_end: int = 5) -> Bounds:
    """fastai's ``minimum``: one tenth of the LR at the lowest smoothed loss.

    On fastai's view of the sweep: ``skip_start`` defaults to a tenth of the requested
    iterations and ``skip_end`` to 5; the curve stops at the first NaN.
    """
    check_result(result)
    require_fall(result)
    lr, y, s0 = _fastai_trim(result, skip_start, skip_end, "minimum")
    i = int(np.argmin(y))
    reason = (
        f"lowest smoothed loss {y[i]:.3g} at lr={fmt_lr(float(lr[i]))}; max_lr is a tenth of "
        "that (fastai's 'minimum' rule)"
    )
    pts = [Point("minimum", float(lr[i]), float(y[i]), int(i + s0))]
    details = {"skip_start": s0, "skip_end": skip_end}
    return _single(result, "minimum", float(lr[i]) / 10, reason, lr, y, pts, details)


def _longest_decrease(y: NDArray[Any]) -> tuple[int, int]:
    """fastai's valley span ``(start, end)``: ``end`` is the first index where the longest
    strictly decreasing subsequence (not necessarily contiguous) ends, ``start = end - length``;
    ``(0, 0)`` when the curve never decreases (fastai's starting values). Patience sorting:
    ``tails[k]`` is the largest last value of a decreasing run of length ``k + 1`` (negated).

    Example:
        >>> _longest_decrease(np.array([3.0, 5.0, 4.0, 4.0, 2.0, 1.0, 6.0]))
        (1, 5)
    """
    tails: list[float] = []
    best, start, end = 1, 0, 0  # as fastai: (0, 0) until a subsequence of 2 is found
    for i, neg in enumerate((-np.asarray(y, dtype=np.float64)).tolist()):
        k = bisect.bisect_left(tails, neg)
        if k == len(tails):
            tails.append(neg)
        else:
            tails[k] = neg
        if k + 1 > best:
            best, start, end = k + 1, i - (k + 1), i
    return start, end


@register("valley")
def valley_rule(result: RangeCurve, *, skip_start: int | None = None, skip_end: int = 5) -> Bounds:
    """fastai's ``valley`` (its default): a point in the longest valley of the smoothed loss.

    The valley spans the longest strictly decreasing subsequence of the loss; with ``length``
    its span in points, the suggestion sits ``int(length / 3) + int(length / 6)`` points after
    its start (about halfway down). Same view of the sweep as :func:`minimum_rule`.
    """
    check_result(result)
    require_fall(result)
    lr, y, s0 = _fastai_trim(result, skip_start, skip_end, "valley")
    start, end = _longest_decrease(y)
    third = (end - start) / 3
    i = start + int(third) + int(third / 2)
    reason = (
        f"longest valley of the smoothed loss from lr={fmt_lr(float(lr[max(start, 0)]))} to "
        f"lr={fmt_lr(float(lr[end]))}; the suggestion sits about halfway down it, at "
        f"lr={fmt_lr(float(lr[i]))} (fastai's 'valley' rule)"
    )
    pts = [
        Point(
            "valley start",
            float(lr[max(start, 0)]),
            float(y[max(start, 0)]),
            int(max(start, 0) + s0),
        ),
        Point("valley end", float(lr[end]), float(y[end]), int(end + s0)),
    ]
    details = {"skip_start": s0, "skip_end": skip_end}
    return _single(result, "valley", float(lr[i]), reason, lr, y, pts, details)


@register("slide")
def slide_rule(
    result: RangeCurve,
    *,
    skip_start: int | None = None,
    skip_end: int = 5,
    lr_diff: int = 15,
    thresh: float = 0.005,
    adjust_value: float = 1.0,
) -> Bounds:
    """fastai's ``slide``: walk back from the end of the sweep to where the loss slope settles.

    With ``g`` the gradient of the smoothed loss over the sample index, a pair of points
    ``lr_diff`` apart slides back from the end while ``|g[right] - g[left]| > thresh``; the
    suggestion is the left point's LR where the slide stops, times ``adjust_value``. ``thresh``
    is in loss units, so unlike the other rules this one depends on the loss scale.
    """
    check_result(result)
    lr_diff = v.integer("lr_diff", lr_diff, minimum=1)
    thresh = v.positive("thresh", thresh)
    adjust_value = v.positive("adjust_value", adjust_value)
    require_fall(result)
    lr, y, s0 = _fastai_trim(result, skip_start, skip_end, "slide")
    n = len(y)
    if n <= lr_diff:
        raise SuggestionError(
            f"the 'slide' rule needs more than lr_diff={lr_diff} points, got {n}", "too_short"
        )
    g = np.gradient(y)
    # fastai slides the pair (right, left) = (n - 1 - t, n - 1 - lr_diff - t) back while
    # |g[right] - g[left]| > thresh; pick is the left point of the last pair that slid.
    left = np.arange(n - 1 - lr_diff, -1, -1)
    slid = np.abs(g[left + lr_diff] - g[left]) > thresh
    stop = int(np.argmin(slid)) if not slid.all() else len(left)
    pick = int(left[max(stop - 1, 0)])
    suggestion = float(lr[pick]) * adjust_value
    reason = (
        f"sliding back from the end, the loss slope settles at lr={fmt_lr(float(lr[pick]))}"
        f"{f' (x{adjust_value:g})' if adjust_value != 1 else ''} "
        "(fastai's 'slide' rule)"
    )
    pts = [Point("slide", float(lr[pick]), float(y[pick]), int(pick + s0))]
    details = {"lr_diff": lr_diff, "thresh": thresh, "adjust_value": adjust_value}
    return _single(result, "slide", suggestion, reason, lr, y, pts, details)
