"""The usable part of an LR range test's ramp, and the LR where the loss blew up.

A ramp is usable up to its first non-finite loss or its blow-up
(:func:`~cyclr.suggest._curve.blow_up`): where a running median of the loss over ``2k + 1``
points (``k = max(2, round(h))``, ``h = max(2, n * bandwidth)``) climbs back above its start
level (the median of the first ``max(5, 2h)`` losses) after its minimum. A reading needs
:data:`~cyclr.suggest._curve.MIN_POINTS` usable points (Smith 2015, §3.3); a crossing that would
leave fewer counts only if significant (``docs/suggest.md``, step 1).

Example:
    >>> lr = np.geomspace(1e-6, 10, 100)
    >>> loss = 2.3 - 1.5 / (1 + np.exp(-(np.log10(lr) + 2) * 4)) + 8 * lr
    >>> r = cyclr.RangeTestResult(lr=lr, loss=loss, smoothed_loss=loss, mode="exp")
    >>> ramp = usable_ramp(r)
    >>> ramp.end < ramp.n, ramp.note.startswith("the loss blew up")
    (True, True)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from cyclr import _validate as v
from cyclr.suggest._curve import BANDWIDTH, MIN_POINTS, blow_up, kernel_width, leading_run
from cyclr.suggest._rise import read_rise
from cyclr.suggest.errors import SuggestionError
from cyclr.suggest.range_curve import RangeCurve

__all__ = [
    "Ramp",
    "blow_up_lr",
    "check_result",
    "flat_advice",
    "fmt_lr",
    "lr_at",
    "require_fall",
    "usable_ramp",
]


def check_result(result: Any) -> None:
    """Raise ``TypeError`` unless ``result`` has a range test's fields (a
    :class:`~cyclr.suggest.RangeCurve`, such as a :class:`cyclr.RangeTestResult`), and
    ``ValueError`` unless its ``lr`` increases strictly (a ramp; it may have been changed
    since it was built)."""
    if not isinstance(result, RangeCurve):
        raise TypeError(f"result must be a cyclr.RangeTestResult, got {type(result).__name__}")
    v.increasing("lr", np.asarray(result.lr, dtype=np.float64))


def fmt_lr(lr: float) -> str:
    """An LR as the reasons print it: three significant digits."""
    return f"{lr:.3g}"


@dataclass(frozen=True)
class Ramp:
    """The usable part of a range test: points ``[0, end)`` are finite and before the blow-up."""

    lr: NDArray[np.float64]
    loss: NDArray[np.float64]
    end: int  # points [0, end) are usable
    n: int  # points recorded
    h: float  # kernel width in steps
    note: str  # how the ramp ended, for reasons
    exp: bool  # an exponential ramp


def usable_ramp(result: RangeCurve, bandwidth: float = BANDWIDTH) -> Ramp:
    """The usable part of ``result``'s ramp (module docstring).

    Raises :class:`SuggestionError` (``"all_nan"``, ``"too_short"``, ``"diverged_at_once"``)
    when fewer than ``MIN_POINTS`` points are usable; for a test that recorded no point and
    says why in ``result.message``, the error quotes it.
    """
    bandwidth = v.fraction("bandwidth", bandwidth, low_open=True)
    lr = np.asarray(result.lr, dtype=np.float64)
    loss = np.asarray(result.loss, dtype=np.float64)
    n = len(lr)
    if n == 0 and result.message:  # the test says why it recorded nothing: quote it
        raise SuggestionError(f"nothing to read: {result.message}", "all_nan")
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
    end = leading_run(np.isfinite(loss))
    h = kernel_width(n, bandwidth)
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
    first = max(5, int(2 * h))
    start_level = float(np.median(loss[:first]))
    cut = blow_up(loss[:end], start_level, max(2, round(h)), first)
    note = "the sweep ran to the end"
    if cut is not None:
        end = cut
        note = f"the loss blew up from lr={lr[end]:.3g}"
    elif end < n:
        note = f"the loss became non-finite at lr={lr[end]:.3g}"
    if end < MIN_POINTS:
        raise SuggestionError(
            f"the loss rose from the first steps (above its start level by lr={lr[end]:.3g}, "
            f"after {end} points): start_lr is already too large; rerun with a smaller start_lr",
            "diverged_at_once",
        )
    return Ramp(lr, loss, end, n, h, note, result.mode == "exp")


def flat_advice(ramp: Ramp) -> str:
    """How to rerun a test whose curve reads flat. A ramp that blew up already reached LRs too
    large, so a wider range cannot help: only a longer sweep, or a model that trains, can."""
    if ramp.end >= ramp.n:
        return "sweep a wider LR range or for longer"
    return (
        f"it stayed flat up to lr={fmt_lr(float(ramp.lr[ramp.end]))}, where the loss blew up: "
        "no LR of the sweep trained the model within it, so sweep for longer (more "
        "iterations), or check the model, the data and the loss"
    )


def lr_at(ramp: Ramp, step: float) -> float:
    """The ramp's LR at a fractional step (linear in LR, or in log-LR on an exponential ramp)."""
    i = min(max(step, 0.0), len(ramp.lr) - 1.0)
    lo = math.floor(i)
    hi = min(lo + 1, len(ramp.lr) - 1)
    t = i - lo
    a, b = float(ramp.lr[lo]), float(ramp.lr[hi])
    if ramp.exp:
        return float(math.exp((1 - t) * math.log(a) + t * math.log(b)))
    return (1 - t) * a + t * b


def require_fall(result: RangeCurve) -> Ramp:
    """The usable ramp, after checking that its loss falls significantly somewhere.

    Raises :class:`SuggestionError`: ``"flat"`` when it does not, and the kinds of
    :func:`usable_ramp`.
    """
    ramp = usable_ramp(result, BANDWIDTH)
    x = np.arange(ramp.end, dtype=np.float64)
    read_rise(
        x, -ramp.loss[: ramp.end], ramp.h, what="loss", sign=-1.0, flat_advice=flat_advice(ramp)
    )
    return ramp


def blow_up_lr(result: RangeCurve) -> float:
    """The LR where a range test's loss blew up.

    That is where a running median of the loss climbs back above its starting level after its
    minimum, or turns non-finite; the ramp's last LR if neither happened. Raises
    :class:`SuggestionError` when the loss never falls significantly.

    Example:
        >>> lr = np.geomspace(1e-6, 10, 100)
        >>> loss = 2.3 - 1.5 / (1 + np.exp(-(np.log10(lr) + 2) * 4)) + 8 * lr
        >>> r = cyclr.RangeTestResult(lr=lr, loss=loss, smoothed_loss=loss, mode="exp")
        >>> 0.1 < cyclr.suggest.blow_up_lr(r) < 1
        True
    """
    check_result(result)
    ramp = require_fall(result)
    return float(ramp.lr[min(ramp.end, ramp.n - 1)])
