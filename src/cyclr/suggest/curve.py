"""Statistics of a sampled curve: the kernel smoother, the noise level, where the curve blows up.

- :func:`local_linear`: a Gaussian-kernel local-linear fit of width ``h`` steps, with
  ``h = kernel_width(n, bandwidth) = max(2, n * bandwidth)``; the standard error of a smoothed
  value is ``sigma * ||kernel||``.
- :func:`noise_level`: ``sigma = 1.4826 * MAD(dy) / sqrt(2)`` over successive differences.
- :func:`blow_up_cut`: where a running median climbs back above the curve's start level after
  its minimum: the end of the usable part of an LR range test (Smith 2015, §3.3).

``docs/suggest.md`` explains how the rules use them.

Example:
    >>> import numpy as np
    >>> from cyclr.suggest import blow_up_cut, kernel_width
    >>> y = np.r_[np.linspace(2.3, 0.5, 60), np.linspace(0.5, 9.0, 40)]
    >>> kernel_width(len(y), 1 / 40), blow_up_cut(y, start_level=2.3, k=2)
    (2.5, 69)
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "BANDWIDTH",
    "MIN_POINTS",
    "blow_up_cut",
    "kernel_width",
    "leading_run",
    "local_linear",
    "noise_level",
    "running_median",
]

#: Fewest usable points a curve is read from.
MIN_POINTS = 8

#: Default ``bandwidth``: the kernel width as a fraction of the curve's length.
BANDWIDTH = 1 / 40


def kernel_width(n: int, bandwidth: float) -> float:
    """The smoother's width in steps for a curve of ``n`` points: ``max(2, n * bandwidth)``.

    Example:
        >>> kernel_width(400, 1 / 40), kernel_width(40, 1 / 40)
        (10.0, 2.0)
    """
    return max(2.0, n * bandwidth)


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
    """The median of ``y`` over the ``2k + 1`` points centred on each point (ends repeated).

    Example:
        >>> import numpy as np
        >>> running_median(np.array([1.0, 9.0, 2.0, 3.0, 4.0]), 1).tolist()
        [1.0, 2.0, 3.0, 3.0, 4.0]
    """
    n = len(y)
    if n == 0:
        return y.copy()
    pad = np.pad(y, k, mode="edge")
    windows = np.lib.stride_tricks.sliding_window_view(pad, 2 * k + 1)
    return np.asarray(np.median(windows, axis=1)[:n], dtype=np.float64)


def leading_run(ok: NDArray[np.bool_]) -> int:
    """The number of leading ``True`` in ``ok``: the index of the first ``False``, or its length.

    Example:
        >>> import numpy as np
        >>> leading_run(np.isfinite([1.0, 2.0, np.nan, 3.0]))
        2
    """
    bad = np.flatnonzero(~np.asarray(ok, dtype=bool))
    return int(bad[0]) if len(bad) else len(ok)


def blow_up_cut(y: NDArray[np.float64], start_level: float, k: int) -> int | None:
    """Where ``y`` blows up: the first index, after the minimum of its running median over
    ``2k + 1`` points, where that median climbs above ``start_level``; ``None`` if it never does.

    ``k = 0`` compares the points themselves.

    Example:
        >>> import numpy as np
        >>> y = np.array([2.3, 2.0, 1.0, 0.5, 0.6, 1.5, 2.5, 7.0])
        >>> blow_up_cut(y, start_level=2.3, k=0), blow_up_cut(y[:6], start_level=2.3, k=0)
        (6, None)
    """
    med = running_median(y, k)
    low = int(np.argmin(med))
    above = np.flatnonzero(med[low:] > start_level)
    return low + int(above[0]) if len(above) else None
