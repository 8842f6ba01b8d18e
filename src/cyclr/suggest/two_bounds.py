"""The two-bound rules: ``base_lr`` and ``max_lr`` read off one curve (Smith 2015, §3.3).

- ``"accuracy"``: ``base_lr`` where the accuracy starts to rise, ``max_lr = center / margin``
  with ``center`` the LR in the middle of the accuracy's best plateau (``margin = 2``);
- ``"loss"``: the same reading of the loss, sign flipped;
- ``"auto"``: ``"accuracy"`` when a metric was recorded, ``"loss"`` otherwise.

If the rise starts above ``max_lr``, ``base_lr = max_lr / 4`` (§3.2). ``docs/suggest.md``
explains the reading and the margin.

Example:
    >>> lr = np.linspace(1e-3, 1.0, 400)
    >>> acc = 0.1 + 0.8 / (1 + np.exp(-(lr - 0.2) / 0.03)) / (1 + np.exp((lr - 0.6) / 0.015))
    >>> r = cyclr.RangeTestResult(lr=lr, loss=2.3 - acc, smoothed_loss=2.3 - acc, metric=acc,
    ...                           mode="linear")
    >>> b = r.suggest("accuracy")
    >>> 0.1 < b.base_lr < 0.2 < b.max_lr < 0.3
    True
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from cyclr import _validate as v
from cyclr.suggest._curve import BANDWIDTH, MIN_POINTS, leading_run
from cyclr.suggest._rise import BASE_FRAC, Rise, Z, read_rise
from cyclr.suggest._usable import Ramp, check_result, flat_advice, fmt_lr, lr_at, usable_ramp
from cyclr.suggest.bounds import SINGLE_LR_DIVISOR, Bounds, Point, Reading
from cyclr.suggest.errors import SuggestionError
from cyclr.suggest.range_curve import RangeCurve
from cyclr.suggest.registry import register

__all__ = ["DEFAULT_MARGIN", "accuracy_rule", "auto_rule", "loss_rule"]

#: Two readings of ``max_lr`` agree when they are within this factor of each other.
AGREE_WITHIN = 1.5

#: ``max_lr = (LR at the centre of the curve's best plateau) / DEFAULT_MARGIN`` in the two-bound
#: rules.
DEFAULT_MARGIN = 2.0


def _metric_curve(
    result: RangeCurve, ramp: Ramp, use_validation: bool | None
) -> tuple[str, NDArray[np.float64], NDArray[np.float64], float]:
    """``(curve name, x steps, values, h)`` of the metric to read."""
    val_x = val_y = None
    if result.val_step is not None and result.val_metric is not None:
        keep = (result.val_step < ramp.end) & np.isfinite(result.val_metric)
        if keep.sum() >= MIN_POINTS:
            val_x = result.val_step[keep].astype(np.float64)
            val_y = np.asarray(result.val_metric, dtype=np.float64)[keep]
    if use_validation is True and val_x is None:
        raise SuggestionError(
            f"use_validation=True, but fewer than {MIN_POINTS} validation scores were recorded "
            "before the sweep diverged (pass val_loader and a smaller val_every)",
            "no_metric",
        )
    if val_x is not None and val_y is not None and use_validation is not False:
        spacing = float(np.median(np.diff(val_x))) if len(val_x) > 1 else 1.0
        return "val_metric", val_x, val_y, max(ramp.h, spacing)
    if result.metric is None or not np.isfinite(result.metric[: ramp.end]).any():
        raise SuggestionError(
            "no metric was recorded: the 'accuracy' rule needs one (use method='loss', or run "
            "the range test with metric='accuracy')",
            "no_metric",
        )
    y = np.asarray(result.metric[: ramp.end], dtype=np.float64)
    finite = np.isfinite(y)
    if finite.sum() < MIN_POINTS:
        raise SuggestionError(
            f"the metric has only {int(finite.sum())} finite values in the usable part of the "
            f"sweep; at least {MIN_POINTS} are needed (use method='loss')",
            "too_short",
        )
    first = leading_run(~finite)  # a metric undefined at the first updates: read from its first
    x = np.arange(first, ramp.end, dtype=np.float64)
    return "metric", x, y[first:], ramp.h


def _two_bounds(
    method: str,
    ramp: Ramp,
    curve: str,
    x: NDArray[np.float64],
    r: Rise,
    sign: float,
    margin: float,
    label: str,
) -> Bounds:
    steps = x.astype(np.int64)
    lr = ramp.lr[steps]
    fit = sign * r.fit
    lo = float(ramp.lr[0])
    top_lr = lr_at(ramp, r.center)
    max_lr = max(top_lr / margin, lo)
    base_lr = float(lr[r.base])
    notes = []
    if base_lr >= max_lr:
        base_lr = max(max_lr / SINGLE_LR_DIVISOR, lo)
        notes.append(
            f"the rise starts above max_lr, so base_lr = max_lr / {SINGLE_LR_DIVISOR:g} "
            "(the paper's rule)"
        )
    if top_lr / margin < lo:
        notes.append("max_lr is clamped to the start of the sweep")
    rising = "rise" if sign > 0 else "fall"
    points = [
        Point(
            "base_lr",
            base_lr,
            float(np.interp(base_lr, lr, fit)),
            int(steps[r.base]) if base_lr == float(lr[r.base]) else None,
        ),
        Point("max_lr", max_lr, float(np.interp(max_lr, lr, fit)), None),
        Point("plateau centre", top_lr, float(np.interp(top_lr, lr, fit)), None),
    ]
    if r.slowed:
        points.append(
            Point(f"{rising} slows", float(lr[r.knee]), float(fit[r.knee]), int(steps[r.knee]))
        )
    reason = f"{label} {_story(r, lr, fit, sign, top_lr)}; max_lr = {fmt_lr(top_lr)} / "
    reason += f"{margin:g} = {fmt_lr(max_lr)}"
    if notes:
        reason += " (" + "; ".join(notes) + ")"
    reason += f" [{ramp.note}]"
    reading = _reading(method, ramp, r, lr, sign, top_lr)
    return Bounds(
        base_lr,
        max_lr,
        method,
        reason,
        curve,
        tuple(lr.tolist()),
        tuple(fit.tolist()),
        tuple(points),
        {"margin": margin},
        reading,
    )


def _story(
    r: Rise, lr: NDArray[np.float64], fit: NDArray[np.float64], sign: float, top_lr: float
) -> str:
    """How the curve rose (a loss: fell), slowed, peaked and fell after, in words."""
    best = "peak" if sign > 0 else "minimum"
    rising, falls = ("rise", "falls") if sign > 0 else ("fall", "turns up")
    start = (
        f"is already {'rising' if sign > 0 else 'falling'} at the start of the sweep "
        f"(lr={fmt_lr(float(lr[0]))})"
        if r.started_at_once
        else f"starts to {rising} clearly at lr={fmt_lr(float(lr[r.base]))}"
    )
    slows = f", its {rising} slows at lr={fmt_lr(float(lr[r.knee]))}" if r.slowed else ""
    plateau = (
        f" on a plateau from lr={fmt_lr(float(lr[r.left]))} to {fmt_lr(float(lr[r.right]))} "
        f"(plateau centre {fmt_lr(top_lr)})"
        if r.right > r.left
        else ""  # a plateau of one point: its centre is the peak
    )
    at = f"{best} {fit[r.peak]:.3g} at lr={fmt_lr(float(lr[r.peak]))}{plateau} and {falls} after it"
    return f"{start}{slows}, reaches its {at}"


def _reading(
    method: str, ramp: Ramp, r: Rise, lr: NDArray[np.float64], sign: float, top_lr: float
) -> Reading:
    """The typed :class:`Reading` of the rise ``r`` on the usable ``ramp``."""
    return Reading(
        rule=method,
        start_level=sign * r.start_level,
        noise=r.sigma,
        change=r.rise,
        se=tuple(r.se.tolist()),
        se_best=r.se_peak,
        se_last=r.se_last,
        smoothing_steps=ramp.h,
        points_used=int(ramp.end),
        points_recorded=int(ramp.n),
        ending=ramp.note,
        rise_start_lr=float(lr[r.base]),
        knee_lr=float(lr[r.knee]) if r.slowed else None,
        plateau=(float(lr[r.left]), float(lr[r.right])),
        plateau_centre=top_lr,
        tested_change=r.tested_change,
        tested_se=r.tested_se,
    )


def _margin(margin: float) -> float:
    m = v.finite("margin", margin)
    if m < 1:
        raise ValueError(
            f"margin must be >= 1 (max_lr = plateau-centre LR / margin), got {margin!r}"
        )
    return m


@register("accuracy")
def accuracy_rule(
    result: RangeCurve,
    *,
    use_validation: bool | None = None,
    maximize: bool = True,
    bandwidth: float = BANDWIDTH,
    z: float = Z,
    base_frac: float = BASE_FRAC,
    margin: float = DEFAULT_MARGIN,
) -> Bounds:
    """Both bounds from the accuracy, as the CLR paper reads them (Smith 2015, §3.3).

    ``base_lr``: where the accuracy starts to rise (significantly, and by ``base_frac`` of its
    total rise). ``max_lr``: the middle of the accuracy's best plateau (past it, the accuracy
    falls) divided by ``margin``; the knee, where the rise slows, is reported alongside. The
    validation metric is read when at least 8 scores were recorded (``use_validation=None``);
    ``maximize=False`` reads a metric where lower is better. ``bandwidth``: the smoother's
    width as a fraction of the ramp's length.
    """
    check_result(result)
    margin = _margin(margin)
    ramp = usable_ramp(result, bandwidth)
    curve, x, y, h = _metric_curve(result, ramp, use_validation)
    name = result.metric_name or "metric"
    what = f"validation {name}" if curve == "val_metric" else f"training {name}"
    sign = 1.0 if maximize else -1.0
    r = read_rise(
        x,
        sign * y,
        h,
        z=v.positive("z", z),
        base_frac=v.fraction("base_frac", base_frac),
        what=what,
        sign=sign,
        flat_advice=flat_advice(ramp),
    )
    return _two_bounds("accuracy", ramp, curve, x, r, sign, margin, f"The {what}")


@register("loss")
def loss_rule(
    result: RangeCurve,
    *,
    bandwidth: float = BANDWIDTH,
    z: float = Z,
    base_frac: float = BASE_FRAC,
    margin: float = DEFAULT_MARGIN,
) -> Bounds:
    """Both bounds from the training loss against the LR.

    The raw loss is re-smoothed without lag (the recorded EMA trails the sweep by about
    ``1 / (1 - smooth)`` steps). ``base_lr``: where the loss starts to fall clearly (significantly,
    and by ``base_frac`` of its total fall). ``max_lr``: the middle of the loss's lowest
    plateau (past it, the loss turns up) divided by ``margin``, so well before it bottoms out.
    """
    check_result(result)
    margin = _margin(margin)
    ramp = usable_ramp(result, bandwidth)
    x = np.arange(ramp.end, dtype=np.float64)
    y = ramp.loss[: ramp.end]
    r = read_rise(
        x,
        -y,
        ramp.h,
        z=v.positive("z", z),
        base_frac=v.fraction("base_frac", base_frac),
        what="loss",
        sign=-1.0,
        flat_advice=flat_advice(ramp),
    )
    return _two_bounds("loss", ramp, "loss", x, r, -1.0, margin, "The training loss")


@register("auto")
def auto_rule(
    result: RangeCurve,
    *,
    use_validation: bool | None = None,
    maximize: bool = True,
    bandwidth: float = BANDWIDTH,
    z: float = Z,
    base_frac: float = BASE_FRAC,
    margin: float = DEFAULT_MARGIN,
) -> Bounds:
    """``"accuracy"`` when a metric was recorded, ``"loss"`` otherwise.

    Both are computed when possible; the reason says whether their ``max_lr`` agree (within a
    factor 1.5) and ``details["other"]`` holds the other reading; ``reading.rule`` says which
    rule read the bounds. When the metric cannot be
    read (flat, not recorded) the loss reading is returned and the reason says why.
    """
    check_result(result)
    has_metric = (result.metric is not None and np.isfinite(result.metric).any()) or (
        result.val_metric is not None and np.isfinite(result.val_metric).any()
    )
    loss_opts: dict[str, Any] = {
        "bandwidth": bandwidth,
        "z": z,
        "base_frac": base_frac,
        "margin": margin,
    }
    options = dict(loss_opts, use_validation=use_validation, maximize=maximize)
    acc: Bounds | None = None
    acc_err: SuggestionError | None = None
    if has_metric:
        try:
            acc = accuracy_rule(result, **options)
        except SuggestionError as exc:
            acc_err = exc
    try:
        loss = loss_rule(result, **loss_opts)
    except SuggestionError as exc:
        if acc is None:
            if acc_err is not None and acc_err.kind not in ("flat", "no_metric"):
                raise acc_err from None
            raise
        return _with(acc, "auto", f"{acc.reason}. The loss gives no reading: {exc}", None)
    if acc is None:
        why = f" (the metric gives no reading: {acc_err})" if acc_err else " (no metric recorded)"
        return _with(loss, "auto", loss.reason + why, None)
    ratio = acc.max_lr / loss.max_lr
    agree = 1 / AGREE_WITHIN <= ratio <= AGREE_WITHIN
    verdict = (
        f"The loss reading agrees within x{AGREE_WITHIN:g} (max_lr {fmt_lr(loss.max_lr)}, "
        f"x{ratio:.2f})"
        if agree
        else f"The loss reading disagrees, beyond x{AGREE_WITHIN:g}: max_lr "
        f"{fmt_lr(loss.max_lr)} (the accuracy's is x{ratio:.2f} that)"
    )
    return _with(acc, "auto", f"{acc.reason}. {verdict}", loss, agree)


def _with(
    b: Bounds, method: str, reason: str, other: Bounds | None, agree: bool | None = None
) -> Bounds:
    details = dict(b.details)
    if other is not None:
        details["other"] = {
            "method": other.method,
            "base_lr": other.base_lr,
            "max_lr": other.max_lr,
            "agree": agree,
        }
    return replace(b, method=method, reason=reason, details=details)
