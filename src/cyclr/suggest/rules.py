"""Reading learning rates off an LR range test: both CLR bounds, and the common single-LR rules.

Every rule has one signature, ``rule(result, **options) -> Bounds``, and is registered by name;
:func:`suggest` (and :meth:`cyclr.RangeTestResult.suggest`) dispatches on ``method``:

- ``"accuracy"`` (Smith 2015, §3.3): ``base_lr`` where the accuracy starts to rise, ``max_lr``
  half-way to where it peaks and then falls. Uses the validation metric when one was recorded.
- ``"loss"``: the same reading of the loss: ``base_lr`` where the loss starts to fall clearly,
  ``max_lr`` half-way to where it bottoms out and turns up.
- ``"auto"``: ``"accuracy"`` when a metric was recorded, ``"loss"`` otherwise; the reason says
  whether the two agree.
- Single-LR rules, for comparison and migration: ``"steepest"`` (torch-lr-finder, Lightning),
  ``"minimum"``, ``"valley"``, ``"slide"`` (fastai). They set ``max_lr`` to the suggestion and
  ``base_lr = max_lr / 4`` (the paper's "base_lr = max_lr / 3 or / 4", §3.2), but never below
  the sweep's first LR.

All rules work on linear and exponential sweeps. A curve that cannot support a reading (all NaN,
too short, diverged at once, flat) raises :class:`SuggestionError`; no rule invents an LR.

The two-bound rules read the paper's linear sweep best: it spends its steps where the accuracy
rises, peaks and falls, which a short exponential sweep crosses in a few dozen steps (100 updates
over eight decades is 12 per decade). :func:`cyclr.torch.auto_schedule` runs a short exponential
sweep, then a linear one over the range :func:`linear_sweep_range` reads off it.

How the two-bound rules read a curve (:func:`read_rise`):

1. The curve ends where the sweep diverged: at the first non-finite loss, or where a running
   median of the loss climbs back above its starting level after its minimum.
2. The curve is smoothed by a local-linear fit with a Gaussian kernel of width ``h`` steps
   (``h = max(2, n * smooth)``, ``smooth=1/40`` by default). Unlike the EMA the range test
   records, it does not lag behind the sweep. The noise level ``sigma`` is estimated from the raw
   curve (the median absolute successive difference, scaled to a standard deviation), and every
   smoothed value carries a standard error ``se = sigma * ||kernel||``.
3. ``start`` is the median of the first ``max(5, 2h)`` points; ``peak`` is the best smoothed
   value, ``rise = peak - start``. A rise below ``z`` standard errors (``z=3``) is not
   significant: the curve is flat.
4. ``base_lr`` is where the curve last crosses ``start + max(z * se, base_frac * rise)`` before
   the peak (``base_frac=0.1``): the rise has started, clearly and for good.
5. The best plateau is the stretch around the peak where the smoothed curve stays within ``z``
   standard errors of its best value; past it the accuracy falls (the loss turns up). Its middle
   (in sweep steps) is where the curve peaks, robust to a flat or noisy top.
6. ``max_lr`` is that LR divided by ``margin`` (2 by default). A range test's peak overstates the
   LR that stays stable for a whole training run: the network is barely trained while the sweep
   passes through it. On the paper's linear sweep the rise slows (its knee, also reported) about
   half-way to the peak, which is where the paper reads ``max_lr``; half the peak is a steadier
   reading of that point than the knee itself, and it is calibrated in
   ``benchmarks/suggest_quality.py`` (best 1cycle ``max_lr`` at a fixed budget, three tasks).
   When the rise starts above ``max_lr``, ``base_lr = max_lr / 4`` (the paper's rule).
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from cyclr import _validate as v
from cyclr.suggest.bounds import Bounds, Point

if TYPE_CHECKING:
    from cyclr.range_test.result import RangeTestResult

__all__ = [
    "SuggestionError",
    "Rise",
    "blow_up_lr",
    "check_method",
    "local_linear",
    "methods",
    "noise_level",
    "read_rise",
    "register",
    "suggest",
]

#: Fewest usable points a rule reads a curve from.
MIN_POINTS = 8

#: ``max_lr = (LR where the curve peaks and falls) / DEFAULT_MARGIN`` in the two-bound rules.
DEFAULT_MARGIN = 2.0

#: ``base_lr = max_lr / SINGLE_LR_DIVISOR`` for single-LR rules (Smith 2015, §3.2: 3 or 4).
SINGLE_LR_DIVISOR = 4.0


class SuggestionError(ValueError):
    """The range-test curve cannot support a suggestion; the message says why.

    ``kind`` is one of ``"all_nan"``, ``"too_short"``, ``"diverged_at_once"``, ``"flat"``,
    ``"no_metric"`` or ``"unknown_method"``.
    """

    KINDS = ("all_nan", "too_short", "diverged_at_once", "flat", "no_metric", "unknown_method")

    def __init__(self, message: str, kind: str) -> None:
        if kind not in self.KINDS:
            raise ValueError(f"kind must be one of {self.KINDS}, got {kind!r}")
        super().__init__(message)
        self.kind = kind


Rule = Callable[..., Bounds]
_RULES: dict[str, Rule] = {}


def register(name: str) -> Callable[[Rule], Rule]:
    """Decorator: register ``rule(result, **options) -> Bounds`` under ``name``."""

    def deco(fn: Rule) -> Rule:
        _RULES[name] = fn
        return fn

    return deco


def methods() -> tuple[str, ...]:
    """Names accepted by :func:`suggest`.

    Example:
        >>> import cyclr.suggest
        >>> cyclr.suggest.methods()
        ('accuracy', 'auto', 'loss', 'minimum', 'slide', 'steepest', 'valley')
    """
    return tuple(sorted(_RULES))


def suggest(result: RangeTestResult, method: str = "auto", **options: Any) -> Bounds:
    """Read :class:`~cyclr.Bounds` off ``result`` with the rule ``method``.

    Example:
        >>> import numpy as np, cyclr
        >>> lr = np.geomspace(1e-4, 1.0, 200)
        >>> loss = 2.3 - 1.5 / (1 + np.exp(-(np.log10(lr) + 2) * 4)) + 20 * lr ** 3
        >>> r = cyclr.RangeTestResult(lr=lr, loss=loss, smoothed_loss=loss, mode="exp")
        >>> b = cyclr.suggest.suggest(r, "loss")
        >>> 1e-3 < b.base_lr < b.max_lr < 0.3
        True
    """
    rule = check_method(method, options)
    _check_result(result)
    return rule(result, **options)


def check_method(method: str, options: Mapping[str, Any] | None = None) -> Rule:
    """The rule registered as ``method``, after checking that it takes ``options``.

    Call it before a range test runs, so that a typo costs nothing. Raises
    :class:`SuggestionError` (``kind="unknown_method"``) for an unknown method and
    ``TypeError`` naming an option the rule does not take.

    Example:
        >>> import cyclr.suggest
        >>> cyclr.suggest.check_method("loss", {"margin": 2.5}).__name__
        'loss_rule'
        >>> cyclr.suggest.check_method("loss", {"margn": 2.5})
        Traceback (most recent call last):
        ...
        TypeError: method='loss' takes no option 'margn'; it takes base_frac, margin, smooth, z
    """
    rule = _RULES.get(method) if isinstance(method, str) else None
    if rule is None:
        raise SuggestionError(
            f"method must be one of {', '.join(map(repr, methods()))}; got {method!r}",
            "unknown_method",
        )
    if options:
        if not isinstance(options, Mapping):
            raise TypeError(f"suggest options must be a dict, got {options!r}")
        takes = _option_names(rule)
        for key in options:
            if key not in takes:
                raise TypeError(
                    f"method={method!r} takes no option {key!r}; it takes "
                    f"{', '.join(sorted(takes)) or 'no options'}"
                )
    return rule


def _option_names(rule: Rule) -> set[str]:
    names = set()
    for p in list(inspect.signature(rule).parameters.values())[1:]:
        if p.kind is p.KEYWORD_ONLY:
            names.add(p.name)
    return names


def _check_result(result: Any) -> None:
    from cyclr.range_test.result import RangeTestResult

    if not isinstance(result, RangeTestResult):
        raise TypeError(f"result must be a cyclr.RangeTestResult, got {type(result).__name__}")


# -- smoothing and noise --------------------------------------------------------------------
def local_linear(
    x: NDArray[np.float64], y: NDArray[np.float64], h: float
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Gaussian-kernel local-linear fit of ``y(x)`` at every ``x``, and its kernel norm.

    Returns ``(fit, norm)``: the standard error of ``fit[i]`` is ``sigma * norm[i]`` for i.i.d.
    noise of standard deviation ``sigma``. NaNs in ``y`` get zero weight.

    Example:
        >>> import numpy as np
        >>> x = np.arange(50.0)
        >>> fit, norm = local_linear(x, 2 * x + 1, h=3.0)
        >>> bool(np.allclose(fit, 2 * x + 1)), bool((norm < 1).all())
        (True, True)
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    ok = np.isfinite(y)
    xs, ys = x[ok], y[ok]
    fit = np.empty(len(x))
    norm = np.empty(len(x))
    for start in range(0, len(x), 256):
        xe = x[start : start + 256, None]
        d = xs[None, :] - xe
        w = np.exp(-0.5 * (d / h) ** 2)
        s0, s1, s2 = w.sum(1), (w * d).sum(1), (w * d * d).sum(1)
        den = s0 * s2 - s1 * s1
        linear = den > 1e-12 * np.maximum(s0 * s2, 1e-300)
        with np.errstate(invalid="ignore", divide="ignore"):
            lw = np.where(
                linear[:, None], w * (s2[:, None] - s1[:, None] * d) / den[:, None], w / s0[:, None]
            )
        fit[start : start + 256] = lw @ ys
        norm[start : start + 256] = np.sqrt((lw * lw).sum(1))
    return fit, norm


def noise_level(y: NDArray[np.float64]) -> float:
    """Robust noise standard deviation of a sampled curve.

    ``1.4826 * median(|dy - median(dy)|) / sqrt(2)`` over the successive differences ``dy``: the
    smooth trend cancels in the differences and outliers do not count.

    Example:
        >>> import numpy as np
        >>> y = np.sin(np.linspace(0, 3, 4000)) + np.random.default_rng(0).normal(0, 0.1, 4000)
        >>> round(noise_level(y), 2)
        0.1
    """
    y = np.asarray(y, dtype=np.float64)
    d = np.diff(y[np.isfinite(y)])
    if len(d) == 0:
        return 0.0
    return float(1.4826 * np.median(np.abs(d - np.median(d))) / math.sqrt(2.0))


def running_median(y: NDArray[np.float64], k: int) -> NDArray[np.float64]:
    n = len(y)
    if n == 0:
        return y.copy()
    pad = np.pad(y, k, mode="edge")
    windows = np.lib.stride_tricks.sliding_window_view(pad, 2 * k + 1)
    return np.asarray(np.median(windows, axis=1)[:n], dtype=np.float64)


# -- the usable part of a sweep -------------------------------------------------------------
@dataclass(frozen=True)
class _Sweep:
    lr: NDArray[np.float64]
    loss: NDArray[np.float64]
    end: int  # points [0, end) are usable: finite and before divergence
    n: int  # points recorded
    h: float  # smoothing width in steps
    note: str  # how the sweep ended, for reasons
    exp: bool  # an exponential sweep


def _sweep(result: RangeTestResult, smooth: float) -> _Sweep:
    smooth = v.fraction("smooth", smooth, low_open=True)
    lr = np.asarray(result.lr, dtype=np.float64)
    loss = np.asarray(result.loss, dtype=np.float64)
    n = len(lr)
    if n == 0 or not np.isfinite(loss).any():
        raise SuggestionError(
            "no finite loss was recorded (all NaN): nothing to read; check the model and the "
            "loss function, and start the sweep at a smaller start_lr",
            "all_nan",
        )
    if not (np.isfinite(lr) & (lr > 0)).all():
        raise SuggestionError(
            "the recorded learning rates are not all finite and > 0: cannot read them",
            "all_nan",
        )
    bad = np.flatnonzero(~np.isfinite(loss))
    end = int(bad[0]) if len(bad) else n
    h = max(2.0, n * smooth)
    if end < MIN_POINTS:
        if end < n or result.stop_reason in ("diverged", "non_finite_loss"):
            raise SuggestionError(
                f"the sweep diverged at once (a non-finite or exploding loss after {end} of "
                f"{n} points, at lr={lr[min(end, n - 1)]:.3g}): start_lr is already too large; "
                "rerun with a smaller start_lr",
                "diverged_at_once",
            )
        raise SuggestionError(
            f"the sweep has only {n} points; at least {MIN_POINTS} are needed (run more "
            "iterations: the paper sweeps over a few epochs)",
            "too_short",
        )
    # Cut where the loss climbs back above its starting level after its minimum.
    k = max(2, round(h))
    med = running_median(loss[:end], k)
    start_level = float(np.median(loss[: max(5, int(2 * h))]))
    low = int(np.argmin(med))
    above = np.flatnonzero(med[low:] > start_level)
    note = "the sweep ran to the end"
    if len(above):
        end = low + int(above[0])
        note = f"the loss blew up from lr={lr[end]:.3g}"
    elif end < n:
        note = f"the loss became non-finite at lr={lr[end]:.3g}"
    if end < MIN_POINTS:
        raise SuggestionError(
            f"the loss rose from the first steps (above its start level by lr={lr[end]:.3g}, "
            f"after {end} points): start_lr is already too large; rerun with a smaller start_lr",
            "diverged_at_once",
        )
    return _Sweep(lr, loss, end, n, h, note, result.mode == "exp")


# -- reading a rise ------------------------------------------------------------------------
@dataclass(frozen=True)
class Rise:
    """Where a rising curve starts to rise, slows, peaks and falls (indices into its samples)."""

    fit: NDArray[np.float64]  # smoothed curve
    base: int  # the rise has started
    knee: int  # the rise slows (``peak`` if it never does)
    peak: int  # highest smoothed value
    left: int  # the best plateau: the stretch around ``peak`` within ``z`` standard errors of it
    right: int
    center: float  # the middle of the best plateau, in sweep steps (``x`` units)
    start_level: float
    rise: float
    sigma: float
    slowed: bool  # False: the rise never slowed and ``knee`` is the peak
    started_at_once: bool  # True: already rising at the first point


def read_rise(
    x: NDArray[np.float64],
    y: NDArray[np.float64],
    h: float,
    *,
    z: float = 3.0,
    base_frac: float = 0.1,
    what: str = "curve",
) -> Rise:
    """Smooth ``y(x)`` (``x`` in sweep steps) and read its rise; see the module docstring.

    Raises :class:`SuggestionError` (``kind="flat"``) when the rise is not significant.

    Example:
        >>> import numpy as np
        >>> x = np.arange(200.0)
        >>> y = 1 / (1 + np.exp(-(x - 100) / 10))
        >>> r = read_rise(x, y, h=5.0)
        >>> 60 < r.base < 100 < r.knee < r.peak
        True
    """
    y = np.asarray(y, dtype=np.float64)
    x = np.asarray(x, dtype=np.float64)
    fit, norm = local_linear(x, y, h)
    sigma = noise_level(y)
    k0 = max(5, int(2 * h))
    first = x <= x[0] + max(4.0, 2 * h)
    if first.sum() < 3:
        first = np.arange(len(x)) < min(k0, len(x))
    start_level = float(np.nanmedian(y[first]))
    se0 = sigma / math.sqrt(max(1, int(np.isfinite(y[first]).sum())))
    peak = int(np.nanargmax(fit))
    rise = float(fit[peak] - start_level)
    se_peak = sigma * float(norm[peak])
    if not rise > z * math.hypot(se0, se_peak) or peak == 0:
        raise SuggestionError(
            f"the {what} is flat: its best smoothed value is {rise:+.3g} from its start level "
            f"{start_level:.3g}, within {z:g} standard errors of the noise "
            f"(sigma={sigma:.3g} per point); sweep a wider LR range or for longer",
            "flat",
        )
    threshold = np.maximum(z * np.hypot(se0, sigma * norm[:peak]), base_frac * rise)
    below = np.flatnonzero(fit[:peak] < start_level + threshold)
    started_at_once = len(below) == 0
    base = 0 if started_at_once else int(below[-1]) + 1
    base = min(base, peak)
    knee, slowed = peak, False
    if peak - base >= 2 and fit[peak] > fit[base]:
        t = (x[base : peak + 1] - x[base]) / (x[peak] - x[base])
        s = (fit[base : peak + 1] - fit[base]) / (fit[peak] - fit[base])
        gap = s - t
        j = int(np.argmax(gap))
        if gap[j] > 0 and 0 < j < peak - base:
            knee, slowed = base + j, True
    tie = fit[peak] - z * se_peak
    after = np.flatnonzero(fit[peak:] < tie)
    right = peak + int(after[0]) - 1 if len(after) else len(fit) - 1
    before = np.flatnonzero(fit[:peak] < tie)
    left = int(before[-1]) + 1 if len(before) else 0
    center = float(x[left] + x[right]) / 2
    return Rise(
        fit,
        base,
        knee,
        peak,
        left,
        right,
        center,
        start_level,
        rise,
        sigma,
        slowed,
        started_at_once,
    )


# -- the two-bound rules -------------------------------------------------------------------
def _lr_at(sweep: _Sweep, step: float) -> float:
    """The sweep's LR at a fractional step (linear in LR, or in log-LR for exponential sweeps)."""
    i = min(max(step, 0.0), len(sweep.lr) - 1.0)
    lo = math.floor(i)
    hi = min(lo + 1, len(sweep.lr) - 1)
    t = i - lo
    a, b = float(sweep.lr[lo]), float(sweep.lr[hi])
    if sweep.exp:
        return float(math.exp((1 - t) * math.log(a) + t * math.log(b)))
    return (1 - t) * a + t * b


def _fmt(lr: float) -> str:
    return f"{lr:.3g}"


def _metric_curve(
    result: RangeTestResult, sweep: _Sweep, use_validation: bool | None
) -> tuple[str, NDArray[np.float64], NDArray[np.float64], float]:
    """``(curve name, x steps, values, h)`` of the metric to read."""
    val_x = val_y = None
    if result.val_step is not None and result.val_metric is not None:
        keep = (result.val_step < sweep.end) & np.isfinite(result.val_metric)
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
        return "val_metric", val_x, val_y, max(sweep.h, spacing)
    if result.metric is None or not np.isfinite(result.metric[: sweep.end]).any():
        raise SuggestionError(
            "no metric was recorded: the 'accuracy' rule needs one (use method='loss', or run "
            "the range test with metric='accuracy')",
            "no_metric",
        )
    x = np.arange(sweep.end, dtype=np.float64)
    return "metric", x, np.asarray(result.metric[: sweep.end], dtype=np.float64), sweep.h


def _two_bounds(
    method: str,
    sweep: _Sweep,
    curve: str,
    x: NDArray[np.float64],
    r: Rise,
    sign: float,
    margin: float,
    label: str,
) -> Bounds:
    steps = x.astype(np.int64)
    lr = sweep.lr[steps]
    fit = sign * r.fit
    lo = float(sweep.lr[0])
    top_lr = _lr_at(sweep, r.center)
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
    best = "peak" if sign > 0 else "minimum"
    rising, falls = ("rise", "falls") if sign > 0 else ("fall", "turns up")
    knee_lr = float(lr[r.knee])
    points = [
        Point(
            "base_lr",
            base_lr,
            float(np.interp(base_lr, lr, fit)),
            int(steps[r.base]) if base_lr == float(lr[r.base]) else None,
        ),
        Point("max_lr", max_lr, float(np.interp(max_lr, lr, fit)), None),
        Point(best, top_lr, float(np.interp(top_lr, lr, fit)), None),
    ]
    if r.slowed:
        points.append(Point(f"{rising} slows", knee_lr, float(fit[r.knee]), int(steps[r.knee])))
    start = (
        f"is already {'rising' if sign > 0 else 'falling'} at the start of the sweep "
        f"(lr={_fmt(float(lr[0]))})"
        if r.started_at_once
        else f"starts to {rising} clearly at lr={_fmt(float(lr[r.base]))}"
    )
    slows = f", its {rising} slows at lr={_fmt(knee_lr)}" if r.slowed else ""
    plateau = (
        f"{_fmt(float(lr[r.left]))}-{_fmt(float(lr[r.right]))}, centre {_fmt(top_lr)}"
        if r.right > r.left
        else _fmt(top_lr)
    )
    at = f"{best} {fit[r.peak]:.3g} at lr={plateau} and {falls} after it"
    reason = (
        f"{label} {start}{slows}, reaches its {at}; max_lr = {_fmt(top_lr)} / {margin:g} "
        f"= {_fmt(max_lr)}"
    )
    if notes:
        reason += " (" + "; ".join(notes) + ")"
    reason += f" [{sweep.note}]"
    details = {
        "noise": r.sigma,
        "start_level": sign * r.start_level,
        "change": r.rise,
        "smoothing_steps": sweep.h,
        "points_used": int(sweep.end),
        "points_recorded": int(sweep.n),
        "rise_start_lr": float(lr[r.base]),
        "knee_lr": knee_lr if r.slowed else None,
        "peak_lr": top_lr,
        "best_range": [float(lr[r.left]), float(lr[r.right])],
        "margin": margin,
    }
    return Bounds(
        base_lr,
        max_lr,
        method,
        reason,
        curve,
        tuple(lr.tolist()),
        tuple(fit.tolist()),
        tuple(points),
        details,
    )


@register("accuracy")
def accuracy_rule(
    result: RangeTestResult,
    *,
    use_validation: bool | None = None,
    maximize: bool = True,
    smooth: float = 1 / 40,
    z: float = 3.0,
    base_frac: float = 0.1,
    margin: float = DEFAULT_MARGIN,
) -> Bounds:
    """Both bounds from the accuracy, as the CLR paper reads them (Smith 2015, §3.3).

    ``base_lr``: where the accuracy starts to rise (significantly, and by ``base_frac`` of its
    total rise). ``max_lr``: the middle of the accuracy's best plateau (past it, the accuracy
    falls) divided by ``margin``; the knee, where the rise slows, is reported alongside. The
    validation metric is read when at least 8 scores were recorded (``use_validation=None``);
    ``maximize=False`` reads a metric where lower is better. See the module docstring.
    """
    _check_result(result)
    margin = _margin(margin)
    sweep = _sweep(result, smooth)
    curve, x, y, h = _metric_curve(result, sweep, use_validation)
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
    )
    return _two_bounds("accuracy", sweep, curve, x, r, sign, margin, f"The {what}")


@register("loss")
def loss_rule(
    result: RangeTestResult,
    *,
    smooth: float = 1 / 40,
    z: float = 3.0,
    base_frac: float = 0.1,
    margin: float = DEFAULT_MARGIN,
) -> Bounds:
    """Both bounds from the training loss against the LR.

    The raw loss is re-smoothed without lag (the recorded EMA trails the sweep by about
    ``1 / (1 - beta)`` steps). ``base_lr``: where the loss starts to fall clearly (significantly,
    and by ``base_frac`` of its total fall). ``max_lr``: the middle of the loss's lowest
    plateau (past it, the loss turns up) divided by ``margin``, so well before it bottoms out.
    """
    _check_result(result)
    margin = _margin(margin)
    sweep = _sweep(result, smooth)
    x = np.arange(sweep.end, dtype=np.float64)
    y = sweep.loss[: sweep.end]
    r = read_rise(
        x,
        -y,
        sweep.h,
        z=v.positive("z", z),
        base_frac=v.fraction("base_frac", base_frac),
        what="loss",
    )
    return _two_bounds("loss", sweep, "loss", x, r, -1.0, margin, "The training loss")


def _margin(margin: float) -> float:
    m = v.finite("margin", margin)
    if m < 1:
        raise ValueError(f"margin must be >= 1 (max_lr = peak LR / margin), got {margin!r}")
    return m


@register("auto")
def auto_rule(
    result: RangeTestResult,
    *,
    use_validation: bool | None = None,
    maximize: bool = True,
    smooth: float = 1 / 40,
    z: float = 3.0,
    base_frac: float = 0.1,
    margin: float = DEFAULT_MARGIN,
) -> Bounds:
    """``"accuracy"`` when a metric was recorded, ``"loss"`` otherwise.

    Both are computed when possible; the reason says whether their ``max_lr`` agree (within a
    factor 1.5) and ``details["other"]`` holds the other reading. When the metric cannot be
    read (flat, not recorded) the loss reading is returned and the reason says why.
    """
    _check_result(result)
    has_metric = (result.metric is not None and np.isfinite(result.metric).any()) or (
        result.val_metric is not None and np.isfinite(result.val_metric).any()
    )
    loss_opts: dict[str, Any] = {"smooth": smooth, "z": z, "base_frac": base_frac, "margin": margin}
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
    agree = 1 / 1.5 <= ratio <= 1.5
    verdict = (
        f"The loss reading agrees (max_lr {_fmt(loss.max_lr)}, x{ratio:.2f})"
        if agree
        else f"The loss reading disagrees: max_lr {_fmt(loss.max_lr)} (the accuracy's is "
        f"x{ratio:.2f} that)"
    )
    return _with(acc, "auto", f"{acc.reason}. {verdict}", loss, agree)


def _with(
    b: Bounds, method: str, reason: str, other: Bounds | None, agree: bool | None = None
) -> Bounds:
    details = dict(b.details)
    details["read_by"] = b.method
    if other is not None:
        details["other"] = {
            "method": other.method,
            "base_lr": other.base_lr,
            "max_lr": other.max_lr,
            "agree": agree,
        }
    return Bounds(
        b.base_lr, b.max_lr, method, reason, b.curve, b.curve_lr, b.curve_values, b.points, details
    )


# -- single-LR rules -----------------------------------------------------------------------
def _finite_prefix(result: RangeTestResult, curve: str) -> tuple[NDArray[Any], NDArray[Any]]:
    """LRs and ``curve`` up to the first non-finite value (the sweep's usable part)."""
    y = np.asarray(getattr(result, curve), dtype=np.float64)
    bad = np.flatnonzero(~np.isfinite(y))
    end = int(bad[0]) if len(bad) else len(y)
    return np.asarray(result.lr[:end], dtype=np.float64), y[:end]


def _require_fall(result: RangeTestResult) -> None:
    """Raise ``flat`` unless the loss falls significantly somewhere in the sweep.

    Through :func:`_sweep` it also raises for all-NaN, too short and diverged-at-once sweeps, so
    the single-LR rules call it before reading their curve."""
    sweep = _sweep(result, 1 / 40)
    x = np.arange(sweep.end, dtype=np.float64)
    read_rise(x, -sweep.loss[: sweep.end], sweep.h, what="loss")


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
    result: RangeTestResult,
    method: str,
    lr_value: float,
    reason: str,
    curve: str,
    lr: NDArray[Any],
    y: NDArray[Any],
    points: list[Point],
    details: dict[str, Any],
) -> Bounds:
    max_lr = float(lr_value)
    base_lr = max_lr / SINGLE_LR_DIVISOR
    reason = (
        f"{reason}; base_lr = max_lr / {SINGLE_LR_DIVISOR:g} (a single-LR rule: the CLR "
        "paper's base_lr = max_lr / 3 or / 4)"
    )
    first = float(result.lr[0])
    if base_lr < first <= max_lr:
        base_lr = first
        reason += f", raised to the sweep's first LR {first:.3g}"
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
    result: RangeTestResult,
    *,
    skip_start: int = 10,
    skip_end: int = 5,
    wrt: str = "log_lr",
    curve: str = "smoothed_loss",
) -> Bounds:
    """The LR where the smoothed loss falls fastest: ``argmin d loss / d log(lr)``.

    This is torch-lr-finder's ``plot(suggest_lr=True)`` (``skip_start=10, skip_end=5``, the
    gradient over the sample index, which on an exponential sweep is the gradient against
    log-LR). ``wrt="index"`` reproduces torch-lr-finder on any sweep; Lightning's
    ``suggestion()`` is ``skip_start=10, skip_end=1, wrt="lr"``. The derivative is
    ``numpy.gradient`` (central differences).
    """
    _check_result(result)
    v.choice("wrt", wrt, ("log_lr", "lr", "index"))
    v.choice("curve", curve, ("smoothed_loss", "loss"))
    _require_fall(result)
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
        f"lr={_fmt(float(lr_t[i]))} (torch-lr-finder/Lightning rule)"
    )
    pts = [Point("steepest", float(lr_t[i]), float(y_t[i]), int(i + skip_start))]
    return _single(
        result,
        "steepest",
        float(lr_t[i]),
        reason,
        curve,
        lr,
        y,
        pts,
        {"wrt": wrt, "skip_start": skip_start, "skip_end": skip_end},
    )


def _fastai_trim(
    result: RangeTestResult, skip_start: int | None, skip_end: int, rule: str
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
def minimum_rule(
    result: RangeTestResult, *, skip_start: int | None = None, skip_end: int = 5
) -> Bounds:
    """fastai's ``minimum``: one tenth of the LR at the lowest smoothed loss.

    On fastai's view of the sweep: ``skip_start`` defaults to a tenth of the requested
    iterations and ``skip_end`` to 5; the curve stops at the first NaN.
    """
    _check_result(result)
    _require_fall(result)
    lr, y, s0 = _fastai_trim(result, skip_start, skip_end, "minimum")
    i = int(np.argmin(y))
    reason = (
        f"lowest smoothed loss {y[i]:.3g} at lr={_fmt(float(lr[i]))}; max_lr is a tenth of "
        "that (fastai's 'minimum' rule)"
    )
    pts = [Point("minimum", float(lr[i]), float(y[i]), int(i + s0))]
    return _single(
        result,
        "minimum",
        float(lr[i]) / 10,
        reason,
        "smoothed_loss",
        lr,
        y,
        pts,
        {"skip_start": s0, "skip_end": skip_end},
    )


def _longest_decrease(y: NDArray[Any]) -> tuple[int, int]:
    """fastai's valley span ``(start, end)``: ``end`` is the first index where the longest
    strictly decreasing subsequence (not necessarily contiguous) ends, ``start = end - length``."""
    n = len(y)
    length = np.ones(n, dtype=np.int64)
    for i in range(1, n):
        higher = y[:i] > y[i]
        if higher.any():
            length[i] = int(length[:i][higher].max()) + 1
    end = int(np.argmax(length))
    return end - int(length[end]), end


@register("valley")
def valley_rule(
    result: RangeTestResult, *, skip_start: int | None = None, skip_end: int = 5
) -> Bounds:
    """fastai's ``valley`` (its default): a point in the longest valley of the smoothed loss.

    The valley spans the longest strictly decreasing subsequence of the loss; with ``length``
    its span in points, the suggestion sits ``int(length / 3) + int(length / 6)`` points after
    its start (about halfway down). Same view of the sweep as :func:`minimum_rule`.
    """
    _check_result(result)
    _require_fall(result)
    lr, y, s0 = _fastai_trim(result, skip_start, skip_end, "valley")
    start, end = _longest_decrease(y)
    third = (end - start) / 3
    i = start + int(third) + int(third / 2)
    reason = (
        f"longest valley of the smoothed loss from lr={_fmt(float(lr[max(start, 0)]))} to "
        f"lr={_fmt(float(lr[end]))}; the suggestion sits about halfway down it, at "
        f"lr={_fmt(float(lr[i]))} (fastai's 'valley' rule)"
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
    return _single(
        result,
        "valley",
        float(lr[i]),
        reason,
        "smoothed_loss",
        lr,
        y,
        pts,
        {"skip_start": s0, "skip_end": skip_end},
    )


@register("slide")
def slide_rule(
    result: RangeTestResult,
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
    _check_result(result)
    lr_diff = v.integer("lr_diff", lr_diff, minimum=1)
    thresh = v.positive("thresh", thresh)
    adjust_value = v.positive("adjust_value", adjust_value)
    _require_fall(result)
    lr, y, s0 = _fastai_trim(result, skip_start, skip_end, "slide")
    n = len(y)
    if n <= lr_diff:
        raise SuggestionError(
            f"the 'slide' rule needs more than lr_diff={lr_diff} points, got {n}", "too_short"
        )
    g = np.gradient(y)
    right, left = n - 1, n - 1 - lr_diff
    pick = left
    while left >= 0 and abs(g[right] - g[left]) > thresh:
        pick = left
        right -= 1
        left -= 1
    suggestion = float(lr[pick]) * adjust_value
    reason = (
        f"sliding back from the end, the loss slope settles at lr={_fmt(float(lr[pick]))}"
        f"{f' (x{adjust_value:g})' if adjust_value != 1 else ''} "
        "(fastai's 'slide' rule)"
    )
    pts = [Point("slide", float(lr[pick]), float(y[pick]), int(pick + s0))]
    return _single(
        result,
        "slide",
        suggestion,
        reason,
        "smoothed_loss",
        lr,
        y,
        pts,
        {"lr_diff": lr_diff, "thresh": thresh, "adjust_value": adjust_value},
    )


# -- where a test blew up ------------------------------------------------------------------
def blow_up_lr(result: RangeTestResult) -> float:
    """The LR where a range test's loss blew up.

    That is where a running median of the loss climbs back above its starting level after its
    minimum, or turns non-finite; the ramp's last LR if neither happened. Raises
    :class:`SuggestionError` when the loss never falls significantly.

    Example:
        >>> import numpy as np, cyclr
        >>> lr = np.geomspace(1e-6, 10, 100)
        >>> loss = 2.3 - 1.5 / (1 + np.exp(-(np.log10(lr) + 2) * 4)) + 8 * lr
        >>> r = cyclr.RangeTestResult(lr=lr, loss=loss, smoothed_loss=loss, mode="exp")
        >>> 0.1 < cyclr.suggest.blow_up_lr(r) < 1
        True
    """
    _check_result(result)
    _require_fall(result)
    sweep = _sweep(result, 1 / 40)
    return float(sweep.lr[min(sweep.end, sweep.n - 1)])
