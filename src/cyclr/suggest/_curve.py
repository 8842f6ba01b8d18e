"""Statistics of a sampled curve: the kernel smoother, the noise level, where the curve blows up.

- :func:`local_linear`: a Gaussian-kernel local-linear fit ``h = max(2, n * bandwidth)`` steps
  wide; the standard error of a smoothed value is ``sigma * ||kernel||``.
- :func:`noise_level`: ``sigma = 1.4826 * MAD(dy) / sqrt(2)`` over successive differences.
- :func:`rounding_noise`: ``sqrt(n) * eps * max|y|``, the least noise a reading assumes.
- :func:`blow_up_cut`: where a running median climbs back above the curve's start level after
  its minimum: the end of the usable part of an LR range test (Smith 2015, §3.3).

``docs/suggest.md`` explains how the rules use them.

Example:
    >>> from cyclr.suggest._curve import blow_up_cut, kernel_width
    >>> y = np.r_[np.linspace(2.3, 0.5, 60), np.linspace(0.5, 9.0, 40)]
    >>> kernel_width(len(y), 1 / 40), blow_up_cut(y, start_level=2.3, k=2)
    (2.5, 69)
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray

from cyclr.suggest._order import sliding_median, sliding_nanmedian_mad

__all__ = [
    "BANDWIDTH",
    "MIN_POINTS",
    "blow_up",
    "blow_up_cut",
    "kernel_width",
    "leading_run",
    "local_linear",
    "noise_level",
    "residual_noise",
    "rounding_noise",
    "running_median",
    "smooth",
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


def smooth(y: NDArray[np.float64], bandwidth: float = BANDWIDTH) -> NDArray[np.float64]:
    """A curve of a range test smoothed as the rules smooth it: the local-linear fit over its
    steps, ``h = max(2, n * bandwidth)`` steps wide (NaN where no finite value is near).

    Example:
        >>> y = np.linspace(2.0, 1.0, 50)
        >>> bool(np.allclose(smooth(y), y))
        True
    """
    y = np.asarray(y, dtype=np.float64)
    return local_linear(np.arange(len(y), dtype=np.float64), y, kernel_width(len(y), bandwidth))[0]


def local_linear(
    x: NDArray[np.float64], y: NDArray[np.float64], h: float
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Gaussian-kernel local-linear fit of ``y(x)`` at every ``x``, and its kernel norm.

    Returns ``(fit, norm)``: the standard error of ``fit[i]`` is ``sigma * norm[i]`` for i.i.d.
    noise of standard deviation ``sigma``. NaNs in ``y`` get zero weight. With weights
    ``w_j = exp(-d_j**2 / (2 h**2))``, ``d_j = x_j - x_i`` and the moments ``S_k = sum w d**k``,
    the fit's weights are ``l_j = w_j (S_2 - S_1 d_j) / (S_0 S_2 - S_1**2)``.

    The kernel is cut at :data:`KERNEL_REACH` ``* h`` (a point with no finite ``y`` that near
    gets NaN); on a grid the sums are FFT convolutions (``docs/suggest.md``, "Cost").

    Example:
        >>> x = np.arange(50.0)
        >>> fit, norm = local_linear(x, 2 * x + 1, h=3.0)
        >>> bool(np.allclose(fit, 2 * x + 1)), bool((norm < 1).all())
        (True, True)
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    h = float(h)
    ok = np.isfinite(y)
    if not ok.any():
        nan = np.full(len(x), np.nan)
        return nan, nan.copy()
    # The fit's weights sum to 1, so fitting y - ref and adding ref back is the same fit, with
    # the rounding of the sums relative to the curve's variation instead of its level.
    ref = float(np.median(y[ok]))
    yc = np.where(ok, y - ref, 0.0)
    grid = _grid(x)
    if grid is None:
        sums = _direct_sums(x, x[ok], yc[ok], h)
    else:
        g, step = grid
        sums = _grid_sums(g, step, ok, yc, h)
        sparse = sums[0] < _SPARSE * _kernel_mass(step, h)
        if sparse.any():  # deep in a run of NaNs: too little weight for the FFT's precision
            direct = _direct_sums(x[sparse], x[ok], yc[ok], h)
            for full, part in zip(sums, direct):
                full[sparse] = part
    return _finish(ref, *sums)


#: The kernel's reach in bandwidths: ``exp(-KERNEL_REACH**2 / 2)`` is float64's ``eps``.
KERNEL_REACH = math.sqrt(2 * math.log(1 / float(np.finfo(np.float64).eps)))

# Below this share of a full kernel's weight, a point's sums are added directly, not by FFT.
_SPARSE = 1e-3

_Sums = tuple[
    NDArray[np.float64],
    NDArray[np.float64],
    NDArray[np.float64],
    NDArray[np.float64],
    NDArray[np.float64],
    NDArray[np.float64],
    NDArray[np.float64],
    NDArray[np.float64],
]


def _finish(
    ref: float,
    s0: NDArray[np.float64],
    s1: NDArray[np.float64],
    s2: NDArray[np.float64],
    q0: NDArray[np.float64],
    q1: NDArray[np.float64],
    q2: NDArray[np.float64],
    t0: NDArray[np.float64],
    t1: NDArray[np.float64],
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Fit and kernel norm from the moments ``S_k = sum w d**k``, ``Q_k = sum w**2 d**k`` and
    ``T_k = sum w d**k (y - ref)``: ``fit = ref + (S_2 T_0 - S_1 T_1) / D`` and
    ``norm**2 = (S_2**2 Q_0 - 2 S_2 S_1 Q_1 + S_1**2 Q_2) / D**2``, ``D = S_0 S_2 - S_1**2``;
    where ``D`` vanishes (one point in reach), the local-constant ``T_0 / S_0``."""
    den = s0 * s2 - s1 * s1
    linear = den > 1e-12 * np.maximum(s0 * s2, 1e-300)
    with np.errstate(invalid="ignore", divide="ignore"):
        fit_lin = (s2 * t0 - s1 * t1) / den
        norm_lin = (s2 * s2 * q0 - 2 * s2 * s1 * q1 + s1 * s1 * q2) / (den * den)
        fit = ref + np.where(linear, fit_lin, t0 / s0)
        norm = np.sqrt(np.maximum(np.where(linear, norm_lin, q0 / (s0 * s0)), 0.0))
    empty = ~(s0 > 0)
    fit[empty] = np.nan
    norm[empty] = np.nan
    return fit, norm


def _grid(x: NDArray[np.float64]) -> tuple[NDArray[np.int64], float] | None:
    """``(g, step)`` with ``x = x.min() + g * step`` (``g`` integers, within ``1e-9`` of a step)
    when ``x`` lies on a grid no sparser than 16 nodes per point; else ``None``."""
    n = len(x)
    if n < 2 or not np.isfinite(x).all():
        return None
    u = np.unique(x)
    if len(u) < 2:
        return None
    step = float(np.min(np.diff(u)))
    pos = (x - u[0]) / step
    g = np.rint(pos)
    if np.max(np.abs(pos - g)) > 1e-9 or np.max(g) > 16 * n + 1024:
        return None
    return g.astype(np.int64), step


def _kernel_mass(step: float, h: float) -> float:
    """The weight of a full kernel on a grid of ``step``: ``sum_e exp(-(e step / h)**2 / 2)``."""
    reach = int(KERNEL_REACH * h / step)
    e = np.arange(-reach, reach + 1) * step
    return float(np.exp(-0.5 * (e / h) ** 2).sum())


def _fast_length(n: int) -> int:
    """The smallest ``2**a 3**b 5**c >= n``: a length the FFT handles fast."""
    best = 1 << max(0, (n - 1).bit_length())
    p5 = 1
    while p5 < best:
        p35 = p5
        while p35 < best:
            m = p35
            while m < n:
                m *= 2
            best = min(best, m)
            p35 *= 3
        p5 *= 5
    return best


def _grid_sums(
    g: NDArray[np.int64], step: float, ok: NDArray[np.bool_], yc: NDArray[np.float64], h: float
) -> _Sums:
    """The moments of :func:`_finish` at every point, as FFT convolutions over the grid.

    When every node of the grid holds one finite value (a sweep without NaNs), the moments
    without ``y`` depend only on the distance to the ends, and are partial sums of the kernel.
    """
    size = int(g.max()) + 1
    reach = min(int(KERNEL_REACH * h / step), size - 1)
    mask = np.bincount(g[ok], minlength=size).astype(np.float64)
    vals = np.bincount(g[ok], weights=yc[ok], minlength=size)
    # out[i] = sum_j a[j] k(d = (j - i) step): the full convolution of a with the kernel taken
    # at d = -(t - reach) step, t = 0 .. 2 reach, read at t = i + reach.
    d = (reach - np.arange(2 * reach + 1)) * step
    w = np.exp(-0.5 * (d / h) ** 2)
    w2 = w * w
    kernels = np.stack([w, w * d, w * d * d, w2, w2 * d, w2 * d * d])
    length = _fast_length(size + 2 * reach)
    full = bool((mask == 1).all())
    if full:  # offsets j - i from max(-i, -reach) to min(size - 1 - i, reach): kernel sums
        part = np.zeros((6, 2 * reach + 2))
        np.cumsum(kernels[:, ::-1], axis=1, out=part[:, 1:])  # by offset, -reach first
        i = np.arange(size)
        hi = np.minimum(size - 1 - i, reach) + reach + 1
        lo = np.maximum(-i, -reach) + reach
        moments = part[:, hi] - part[:, lo]
        fk = np.fft.rfft(kernels[:2], length)
        ty = np.fft.irfft(np.fft.rfft(vals, length) * fk, length)[:, reach : reach + size]
        out = np.concatenate([moments, ty])
    else:
        fk = np.fft.rfft(kernels, length)
        fm, fv = np.fft.rfft(mask, length), np.fft.rfft(vals, length)
        prods = np.concatenate([fm * fk, fv * fk[:2]])
        out = np.fft.irfft(prods, length)[:, reach : reach + size]
    if not (full and len(g) == size and (g == np.arange(size)).all()):
        out = out[:, g]
    s0, s1, s2, q0, q1, q2, t0, t1 = (np.ascontiguousarray(row) for row in out)
    return s0, s1, s2, q0, q1, q2, t0, t1


def _direct_sums(
    xq: NDArray[np.float64], xs: NDArray[np.float64], ys: NDArray[np.float64], h: float
) -> _Sums:
    """The moments of :func:`_finish` at ``xq`` over the samples ``(xs, ys)`` within
    ``KERNEL_REACH * h``, in blocks of nearby query points."""
    order = np.argsort(xs, kind="stable")
    xs, ys = xs[order], ys[order]
    qorder = np.argsort(xq, kind="stable")
    out = np.zeros((8, len(xq)))
    radius = KERNEL_REACH * h
    block = 256
    for start in range(0, len(xq), block):
        idx = qorder[start : start + block]
        xe = xq[idx]
        lo = int(np.searchsorted(xs, xe.min() - radius, side="left"))
        hi = int(np.searchsorted(xs, xe.max() + radius, side="right"))
        d = xs[None, lo:hi] - xe[:, None]
        w = np.exp(-0.5 * (d / h) ** 2)
        w[np.abs(d) > radius] = 0.0
        w2 = w * w
        y = ys[None, lo:hi]
        out[:, idx] = [
            w.sum(1),
            (w * d).sum(1),
            (w * d * d).sum(1),
            w2.sum(1),
            (w2 * d).sum(1),
            (w2 * d * d).sum(1),
            (w * y).sum(1),
            (w * d * y).sum(1),
        ]
    s0, s1, s2, q0, q1, q2, t0, t1 = out
    return s0, s1, s2, q0, q1, q2, t0, t1


def noise_level(y: NDArray[np.float64], order: int = 1) -> float:
    """Robust noise standard deviation of a sampled curve.

    ``1.4826 * median(|dy - median(dy)|) / sqrt(2)`` over the successive differences ``dy``: the
    smooth trend cancels in the differences and outliers do not count. ``order=2`` reads the
    second differences instead (``/ sqrt(6)``: ``var(d2y) = 6 sigma**2`` for independent noise),
    in which a trend whose slope changes along the curve (an exponential rise) cancels too.
    When the MAD is 0 but the differences vary (a discrete curve), ``std(dy) / sqrt(2)``.

    Example:
        >>> y = np.sin(np.linspace(0, 3, 4000)) + np.random.default_rng(0).normal(0, 0.1, 4000)
        >>> round(noise_level(y), 2)
        0.1
        >>> round(noise_level(np.resize([0.5, 0.625], 30)), 3)  # two values in turn
        0.088
    """
    if order not in (1, 2):
        raise ValueError(f"order must be 1 or 2, got {order!r}")
    y = np.asarray(y, dtype=np.float64)
    d = np.diff(y[np.isfinite(y)], n=order)
    if len(d) == 0:
        return 0.0
    scale = math.sqrt(2.0 if order == 1 else 6.0)  # var of the differences / sigma**2
    dev = np.abs(d - np.median(d))
    mad = float(np.median(dev))
    if mad > 0 or not dev.any():
        return 1.4826 * mad / scale
    return float(np.std(d) / scale)


def rounding_noise(y: NDArray[np.float64]) -> float:
    """The noise float64 rounding alone puts on a curve: ``sqrt(n) * eps * max|y|``.

    The rules take the noise level as at least this, so that a curve varying only at rounding
    level reads flat (``docs/suggest.md``, step 2).

    Example:
        >>> rounding_noise(np.full(100, 2.0)) == 10 * 2.0 * 2.0**-52
        True
        >>> rounding_noise(np.array([np.nan]))
        0.0
    """
    y = np.asarray(y, dtype=np.float64)
    finite = y[np.isfinite(y)]
    if len(finite) == 0:
        return 0.0
    eps = float(np.finfo(np.float64).eps)
    return float(math.sqrt(len(finite)) * eps * np.max(np.abs(finite)))


def running_median(y: NDArray[np.float64], k: int) -> NDArray[np.float64]:
    """The median of ``y`` over the ``2k + 1`` points centred on each point (ends repeated).

    Exactly ``np.median`` of each window (NaN where a window holds one), in ``O(n log n)``
    (:func:`cyclr.suggest._order.sliding_median`).

    Example:
        >>> running_median(np.array([1.0, 9.0, 2.0, 3.0, 4.0]), 1).tolist()
        [1.0, 2.0, 3.0, 3.0, 4.0]
    """
    return sliding_median(np.asarray(y, dtype=np.float64), int(k))


def leading_run(ok: NDArray[np.bool_]) -> int:
    """The number of leading ``True`` in ``ok``: the index of the first ``False``, or its length.

    Example:
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
        >>> y = np.array([2.3, 2.0, 1.0, 0.5, 0.6, 1.5, 2.5, 7.0])
        >>> blow_up_cut(y, start_level=2.3, k=0), blow_up_cut(y[:6], start_level=2.3, k=0)
        (6, None)
    """
    med = running_median(y, k)
    low = int(np.argmin(med))
    above = np.flatnonzero(med[low:] > start_level)
    return low + int(above[0]) if len(above) else None


#: The standard error of a median of ``m`` points with Gaussian noise ``sigma`` is
#: ``MEDIAN_SE * sigma / sqrt(m)``.
MEDIAN_SE = math.sqrt(math.pi / 2)
#: Standard errors above the start level an early blow-up must reach.
BLOW_UP_Z = 3.0


def blow_up(y: NDArray[np.float64], start_level: float, k: int, first: int) -> int | None:
    """Where the finite curve ``y`` blows up (:func:`blow_up_cut` over ``2k + 1`` points), or
    ``None``; ``start_level`` is the median of its first ``first`` points.

    A curve that varies by no more than :func:`rounding_noise` does not blow up. A cut before
    :data:`MIN_POINTS` must be significant: the median must climb ``BLOW_UP_Z`` standard errors
    ``se = MEDIAN_SE * sigma * sqrt(1 / (2k + 1) + 1 / first)`` above the start level there,
    ``sigma`` from the second differences (:func:`noise_level` with ``order=2``); otherwise the
    first significant cut counts.

    Example:
        >>> y = np.r_[np.linspace(2.3, 0.5, 60), np.linspace(0.5, 9.0, 40)]
        >>> blow_up(y, 2.3, 2, 5)
        69
    """
    floor = rounding_noise(y)
    if not np.ptp(y) > floor:  # flat: nothing blows up
        return None
    cut = blow_up_cut(y, start_level, k)
    if cut is not None and cut < MIN_POINTS:  # too early to read: it must be significant
        sigma = max(noise_level(y, order=2), floor)
        se = MEDIAN_SE * sigma * math.sqrt(1 / (2 * k + 1) + 1 / min(first, len(y)))
        sig = blow_up_cut(y, start_level + BLOW_UP_Z * se, k)
        if sig is None or sig >= MIN_POINTS:  # the first points were flat within noise
            cut = sig
    return cut


# Residual variance left by a Gaussian smoother: 1 - (2*sqrt(2) - 1) * ||kernel||**2.
_ABSORBED = 2 * math.sqrt(2) - 1


def residual_noise(
    y: NDArray[np.float64],
    fit: NDArray[np.float64],
    norm: NDArray[np.float64],
    window: int | None = None,
) -> Any:
    """Noise standard deviation from the residuals of a kernel fit (step 2 of ``docs/sweep.md``).

    With ``window=None`` one number for the whole curve; with ``window=w`` an array: the
    estimate from the residuals within ``w`` points of each point, all windows at once in
    ``O(n log n)`` (:func:`cyclr.suggest._order.sliding_nanmedian_mad`).

    Example:
        >>> x = np.arange(2000.0)
        >>> scale = np.where(x < 1000, 0.01, 0.1)  # quiet first half, noisy second half
        >>> y = np.sin(x / 300) + np.random.default_rng(0).normal(0, 1, x.size) * scale
        >>> fit, norm = local_linear(x, y, 3.0)
        >>> local = residual_noise(y, fit, norm, window=30)
        >>> round(float(np.median(local[100:900])), 3), round(float(np.median(local[1100:])), 2)
        (0.01, 0.1)
    """
    r = np.asarray(y, dtype=np.float64) - np.asarray(fit, dtype=np.float64)
    kept = np.clip(1 - _ABSORBED * np.asarray(norm, dtype=np.float64) ** 2, 0.1, 1.0)
    if window is None:
        mad = float(np.median(np.abs(r - np.median(r))))
        return 1.4826 * mad / math.sqrt(float(np.mean(kept)))
    _, local = sliding_nanmedian_mad(r, max(1, int(window)))
    return 1.4826 * local / np.sqrt(kept)
