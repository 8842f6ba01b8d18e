"""Order statistics of every sliding window of a curve at once, in ``O(n log n)``.

A *wavelet matrix* over the ranks of the values answers "the ``t``-th smallest value of
``y[lo:hi]``" and "how many values of ``y[lo:hi]`` are below ``v``" in ``O(log n)`` each
(Claude, Navarro and Ordóñez 2015, "The wavelet matrix"), for all windows together as numpy
arrays, exactly as ``np.median`` reads each window:

- :func:`sliding_median`: ``median(y[i - k : i + k + 1])`` with the ends repeated;
- :func:`sliding_nanmedian_mad`: ``nanmedian`` and the median absolute deviation from it over
  the points within ``w`` of each point.

``docs/suggest.md`` ("Cost") says where the rules use them.

Example:
    >>> y = np.array([5.0, 1.0, 4.0, 2.0, 3.0])
    >>> Ranks(y).kth(np.array([0, 1]), np.array([5, 4]), np.array([2, 0])).tolist()
    [3.0, 1.0]
    >>> sliding_median(y, 1).tolist()
    [5.0, 4.0, 2.0, 3.0, 3.0]
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

__all__ = ["Ranks", "sliding_median", "sliding_nanmedian_mad"]

_Int = NDArray[np.int64]


class Ranks:
    """A wavelet matrix over ``values``: order statistics of any slice, for many slices at once.

    NaN sorts above every number. Building it costs ``O(n log n)``; each query ``O(log n)`` per
    slice.

    Example:
        >>> r = Ranks(np.array([0.3, 0.1, np.nan, 0.2]))
        >>> r.kth(np.array([0, 1]), np.array([4, 4]), np.array([1, 2])).tolist()
        [0.2, nan]
        >>> r.count_below(np.array([0]), np.array([4]), np.array([0.25])).tolist()
        [2]
    """

    def __init__(self, values: NDArray[np.float64]) -> None:
        values = np.asarray(values, dtype=np.float64)
        n = len(values)
        order = np.argsort(values, kind="stable")
        self.sorted = values[order]
        ranks = np.empty(n, dtype=np.int64)
        ranks[order] = np.arange(n, dtype=np.int64)
        # One level per bit of the rank, top bit first: the prefix counts of zero bits and the
        # ranks stably partitioned by that bit, zeros first.
        self.levels: list[tuple[int, _Int, int]] = []
        cur = ranks
        for b in range(max(1, (n - 1).bit_length()) - 1, -1, -1):
            zero = ((cur >> b) & 1) == 0
            pref = np.zeros(n + 1, dtype=np.int64)
            np.cumsum(zero, out=pref[1:])
            self.levels.append((b, pref, int(pref[-1])))
            cur = np.concatenate([cur[zero], cur[~zero]])

    def kth_rank(self, lo: _Int, hi: _Int, t: _Int) -> _Int:
        """The rank (index into :attr:`sorted`) of the ``t``-th smallest of ``values[lo:hi]``.

        ``0 <= t < hi - lo`` elementwise (0-based).
        """
        lo = np.asarray(lo, dtype=np.int64)
        hi = np.asarray(hi, dtype=np.int64)
        t = np.asarray(t, dtype=np.int64)
        res = np.zeros(np.broadcast(lo, hi, t).shape, dtype=np.int64)
        for b, pref, zeros in self.levels:
            zl, zh = pref[lo], pref[hi]
            z = zh - zl
            one = t >= z
            res |= one.astype(np.int64) << b
            lo = np.where(one, zeros + lo - zl, zl)
            hi = np.where(one, zeros + hi - zh, zh)
            t = np.where(one, t - z, t)
        return res

    def kth(self, lo: _Int, hi: _Int, t: _Int) -> NDArray[np.float64]:
        """The ``t``-th smallest (0-based) of ``values[lo:hi]``, elementwise."""
        return np.asarray(self.sorted[self.kth_rank(lo, hi, t)], dtype=np.float64)

    def count_below_rank(self, lo: _Int, hi: _Int, r: _Int) -> _Int:
        """How many of ``values[lo:hi]`` have a rank below ``r``, elementwise."""
        lo0 = lo = np.asarray(lo, dtype=np.int64)
        hi0 = hi = np.asarray(hi, dtype=np.int64)
        r = np.asarray(r, dtype=np.int64)
        count = np.zeros(np.broadcast(lo, hi, r).shape, dtype=np.int64)
        for b, pref, zeros in self.levels:
            zl, zh = pref[lo], pref[hi]
            one = ((r >> b) & 1) == 1
            count += np.where(one, zh - zl, 0)
            lo = np.where(one, zeros + lo - zl, zl)
            hi = np.where(one, zeros + hi - zh, zh)
        return np.where(r >= len(self.sorted), hi0 - lo0, count)

    def count_below(self, lo: _Int, hi: _Int, v: NDArray[np.float64]) -> _Int:
        """How many of ``values[lo:hi]`` are ``<= v`` (NaN counts as above every ``v``)."""
        r = np.searchsorted(self.sorted, np.asarray(v, dtype=np.float64), side="right")
        return self.count_below_rank(lo, hi, r.astype(np.int64))


def sliding_median(y: NDArray[np.float64], k: int) -> NDArray[np.float64]:
    """``np.median(y[i - k : i + k + 1])`` at every ``i``, the ends repeated; NaN if any NaN.

    Example:
        >>> sliding_median(np.array([1.0, 9.0, 2.0, 3.0, 4.0]), 1).tolist()
        [1.0, 2.0, 3.0, 3.0, 4.0]
    """
    y = np.asarray(y, dtype=np.float64)
    n = len(y)
    if n == 0 or k == 0:
        return np.array(y, dtype=np.float64)
    pad = np.pad(y, k, mode="edge")
    i = np.arange(n, dtype=np.int64)
    med = Ranks(pad).kth(i, i + 2 * k + 1, np.full(n, k, dtype=np.int64))
    bad = np.zeros(len(pad) + 1, dtype=np.int64)
    np.cumsum(np.isnan(pad), out=bad[1:])
    med[bad[i + 2 * k + 1] - bad[i] > 0] = np.nan
    return med


def sliding_nanmedian_mad(
    r: NDArray[np.float64], w: int
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """``(m, mad)``: at every ``i``, over the non-NaN ``r[j]`` with ``|j - i| <= w``,
    ``m = nanmedian(r[j])`` and ``mad = nanmedian(|r[j] - m|)``; NaN where all are NaN.

    For finite values, bitwise what ``np.nanmedian`` gives on each window (an even count
    averages the two middle values). The ``t``-th smallest ``|r[j] - m|`` is the ``t``-th
    smallest of two sorted runs, the distances below ``m`` and above it, found by a binary
    search over how many come from the first.

    Example:
        >>> m, mad = sliding_nanmedian_mad(np.array([0.0, 1.0, 5.0, np.nan, 2.0]), 1)
        >>> m.tolist(), mad.tolist()
        ([0.5, 1.0, 3.0, 3.5, 2.0], [0.5, 1.0, 2.0, 1.5, 0.0])
    """
    r = np.asarray(r, dtype=np.float64)
    n = len(r)
    nan = np.full(n, np.nan)
    if n == 0:
        return nan, nan.copy()
    ranks = Ranks(r)
    i = np.arange(n, dtype=np.int64)
    lo = np.maximum(i - w, 0)
    hi = np.minimum(i + w + 1, n)
    finite = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(~np.isnan(r), out=finite[1:])
    c = finite[hi] - finite[lo]  # the window's numbers are its c smallest: NaN sorts last
    ok = c > 0
    lo, hi, c = lo[ok], hi[ok], c[ok]
    a_t, b_t = (c - 1) // 2, c // 2
    m = (ranks.kth(lo, hi, a_t) + ranks.kth(lo, hi, b_t)) / 2
    # Window-sorted s[0..c): p values are <= m. Distances below m, ascending: A[j] = m - s[p-1-j]
    # (j < p); above it: B[j] = s[p+j] - m (j < c - p).
    p = np.minimum(ranks.count_below(lo, hi, m), c)

    def a_at(j: _Int) -> NDArray[np.float64]:
        inside = (j >= 0) & (j < p)
        idx = np.clip(p - 1 - j, 0, np.maximum(c - 1, 0))
        with np.errstate(invalid="ignore"):  # inf - inf, where the median is infinite
            v = np.abs(ranks.kth(lo, hi, idx) - m)
        return np.where(inside, v, np.where(j < 0, -np.inf, np.inf))

    def b_at(j: _Int) -> NDArray[np.float64]:
        inside = (j >= 0) & (j < c - p)
        idx = np.clip(p + j, 0, np.maximum(c - 1, 0))
        with np.errstate(invalid="ignore"):  # inf - inf, where the median is infinite
            v = np.abs(ranks.kth(lo, hi, idx) - m)
        return np.where(inside, v, np.where(j < 0, -np.inf, np.inf))

    def smallest(t: _Int) -> tuple[NDArray[np.float64], _Int]:
        """The t-th smallest distance and how many of the t + 1 smallest come from A."""
        left = np.maximum(0, t + 1 - (c - p))
        right = np.minimum(t + 1, p)
        # Smallest a in [left, right] with B[t - a] <= A[a]: then the t + 1 smallest are
        # A[:a] and B[:t + 1 - a].
        while True:
            open_ = left < right
            if not open_.any():
                break
            mid = (left + right) // 2
            more = open_ & (b_at(t - mid) > a_at(mid))
            left = np.where(more, mid + 1, left)
            right = np.where(open_ & ~more, mid, right)
        return np.maximum(a_at(left - 1), b_at(t - left)), left

    d_a, split = smallest(a_t)
    d_b = np.where(
        a_t == b_t, d_a, np.minimum(a_at(split), b_at(b_t - split))
    )  # the next distance after the a_t-th
    mad = (d_a + d_b) / 2
    m_out, mad_out = nan.copy(), nan.copy()
    m_out[ok], mad_out[ok] = m, mad
    return m_out, mad_out
