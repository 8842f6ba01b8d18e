"""Reading a rising curve: where it starts to rise, slows, peaks and falls (Smith 2015, §3.3).

With ``fit`` the local-linear smooth of ``y`` (standard error ``se = sigma * ||kernel||``),
``start`` the median of the first points and ``rise = max(fit) - start``:

- the rise is significant when ``max(fit) - level > z * se`` (``z = 3``), ``level`` the higher
  of the median and the mean of the first points; otherwise the curve is flat. ``sigma`` is at
  least :func:`~cyclr.suggest._curve.rounding_noise`, so that float64 rounding on a constant
  curve is never significant;
- ``base`` is the last crossing of ``start + max(z * se, base_frac * rise)`` before the peak;
- the best plateau is the stretch around the peak within ``z * se`` of it; ``center`` is its
  middle in steps;
- the knee is where the rise slows: the largest gap above the chord from ``base`` to the peak.

``docs/suggest.md`` explains each step.

Example:
    >>> from cyclr.suggest._rise import read_rise
    >>> x = np.arange(200.0)
    >>> r = read_rise(x, 1 / (1 + np.exp(-(x - 100) / 10)), h=5.0)
    >>> 60 < r.base < 100 < r.knee < r.peak
    True
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import NDArray

from cyclr.suggest._curve import (
    MIN_POINTS,
    leading_run,
    local_linear,
    noise_level,
    rounding_noise,
)
from cyclr.suggest.errors import SuggestionError

__all__ = ["BASE_FRAC", "Z", "Rise", "read_rise"]

#: Standard errors a rise must clear to be read (the significance test's ``z``).
Z = 3.0
#: ``base_lr`` is where the rise passes this fraction of its total rise.
BASE_FRAC = 0.1


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
    se_peak: float  # standard error of ``fit[peak]``
    se_last: float  # standard error of ``fit[-1]``, the last point read
    se: NDArray[np.float64]  # standard error of each smoothed value: ``sigma * ||kernel||``
    tested_change: float  # the change the significance test weighs: from ``level``
    tested_se: float  # its standard error; significant at ``z``: ``tested_change > z * tested_se``


def read_rise(
    x: NDArray[np.float64],
    y: NDArray[np.float64],
    h: float,
    *,
    z: float = Z,
    base_frac: float = BASE_FRAC,
    what: str = "curve",
    sign: float = 1.0,
    flat_advice: str = "sweep a wider LR range or for longer",
) -> Rise:
    """Smooth ``y(x)`` (``x`` in sweep steps, kernel width ``h``) and read its rise.

    ``what`` names the curve and ``sign`` says how ``y`` was made from it (``y = sign * curve``:
    ``-1`` for a loss, read as ``-loss``), so that messages print the curve as recorded.
    ``flat_advice`` ends the message of a flat curve.

    Leading non-finite values are skipped (the reading starts at the first finite point; the
    indices still count from ``x[0]``, and ``fit`` is NaN before it). Raises
    :class:`SuggestionError`: ``kind="flat"`` when the rise is not significant, ``"too_short"``
    with fewer than ``MIN_POINTS`` finite values, ``"all_nan"`` with none.

    Example:
        >>> y = np.r_[np.zeros(50), np.linspace(0, 1, 100), np.linspace(1, 0.2, 50)]
        >>> r = read_rise(np.arange(200.0), y, h=5.0)
        >>> 50 < r.base < 70, 140 < r.peak < 150
        (True, True)
    """
    y = np.asarray(y, dtype=np.float64)
    x = np.asarray(x, dtype=np.float64)
    lead = _leading_nan(y, what)
    if lead:  # undefined at the first points: read from the first finite one
        r = read_rise(
            x[lead:],
            y[lead:],
            h,
            z=z,
            base_frac=base_frac,
            what=what,
            sign=sign,
            flat_advice=flat_advice,
        )
        return _shifted(r, lead)
    fit, norm = local_linear(x, y, h)
    sigma = max(noise_level(y), rounding_noise(y))
    start_level, level, se0 = _start(x, y, h, sigma)
    peak = int(np.nanargmax(fit))
    rise = float(fit[peak] - start_level)
    se_peak = sigma * float(norm[peak])
    change = float(fit[peak]) - level
    se_change = math.hypot(se0, se_peak)
    if not change > z * se_change or peak == 0:
        best = "highest" if sign > 0 else "lowest"
        raise SuggestionError(
            f"the {what} is flat: its {best} smoothed value {sign * fit[peak]:.3g} is "
            f"{sign * change:+.3g} from its start level {sign * level:.3g}, within {z:g} "
            f"standard errors of the noise (sigma={sigma:.3g} per point); {flat_advice}",
            "flat",
        )
    threshold = np.maximum(z * np.hypot(se0, sigma * norm[:peak]), base_frac * rise)
    below = np.flatnonzero(fit[:peak] < start_level + threshold)
    started_at_once = len(below) == 0
    base = min(0 if started_at_once else int(below[-1]) + 1, peak)
    knee, slowed = _knee(x, fit, base, peak)
    left, right = _plateau(fit, peak, fit[peak] - z * se_peak)
    return Rise(
        fit,
        base,
        knee,
        peak,
        left,
        right,
        float(x[left] + x[right]) / 2,
        start_level,
        rise,
        sigma,
        slowed,
        started_at_once,
        se_peak,
        sigma * float(norm[-1]),
        sigma * norm,
        change,
        se_change,
    )


def _leading_nan(y: NDArray[np.float64], what: str) -> int:
    """The non-finite values before the first finite one; raises unless enough are finite."""
    finite = np.isfinite(y)
    count = int(finite.sum())
    if count == 0:
        raise SuggestionError(f"the {what} has no finite value: nothing to read", "all_nan")
    if count < MIN_POINTS:
        raise SuggestionError(
            f"the {what} has too few finite values to read ({count}; at least {MIN_POINTS} "
            "are needed)",
            "too_short",
        )
    return leading_run(~finite)


def _shifted(r: Rise, lead: int) -> Rise:
    """``r``, read from point ``lead`` on, with its indices and arrays counted from point 0."""
    return replace(
        r,
        fit=np.r_[np.full(lead, np.nan), r.fit],
        se=np.r_[np.full(lead, np.nan), r.se],
        base=r.base + lead,
        knee=r.knee + lead,
        peak=r.peak + lead,
        left=r.left + lead,
        right=r.right + lead,
    )


def _start(
    x: NDArray[np.float64], y: NDArray[np.float64], h: float, sigma: float
) -> tuple[float, float, float]:
    """``(start_level, level, se)``: the median of the first points, the higher of it and their
    mean (what the significance test counts from), and the mean's standard error."""
    first = x <= x[0] + max(4.0, 2 * h)
    if first.sum() < 3:
        first = np.arange(len(x)) < min(max(5, int(2 * h)), len(x))
    start_level = float(np.nanmedian(y[first]))
    se0 = sigma / math.sqrt(max(1, int(np.isfinite(y[first]).sum())))
    return start_level, max(start_level, float(np.nanmean(y[first]))), se0


def _knee(
    x: NDArray[np.float64], fit: NDArray[np.float64], base: int, peak: int
) -> tuple[int, bool]:
    """``(knee, slowed)``: the largest gap above the chord from ``base`` to ``peak``, or the peak
    and False when the rise never slows."""
    if peak - base >= 2 and fit[peak] > fit[base]:
        t = (x[base : peak + 1] - x[base]) / (x[peak] - x[base])
        s = (fit[base : peak + 1] - fit[base]) / (fit[peak] - fit[base])
        gap = s - t
        j = int(np.argmax(gap))
        if gap[j] > 0 and 0 < j < peak - base:
            return base + j, True
    return peak, False


def _plateau(fit: NDArray[np.float64], peak: int, tie: float) -> tuple[int, int]:
    """The first and last index of the stretch around ``peak`` where ``fit`` stays at ``tie`` or
    above."""
    after = np.flatnonzero(fit[peak:] < tie)
    right = peak + int(after[0]) - 1 if len(after) else len(fit) - 1
    before = np.flatnonzero(fit[:peak] < tie)
    left = int(before[-1]) + 1 if len(before) else 0
    return left, right
