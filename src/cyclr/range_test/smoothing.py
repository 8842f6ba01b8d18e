"""The range test's smoothed loss and divergence test (Smith 2015, §3.3; the usual EMA reading).

After the ``n``-th recorded loss the bias-corrected EMA is::

    avg_n = smooth * avg_{n-1} + (1 - smooth) * loss_n        smoothed_n = avg_n / (1 - smooth**n)

and the test has diverged at update ``i`` when ``i >= DIVERGE_WARMUP`` and
``smoothed > diverge * best``, ``best > 0`` being the lowest smoothed loss so far.

Example:
    >>> from cyclr.range_test.smoothing import SmoothedLoss
    >>> s = SmoothedLoss(smooth=0.5, diverge=4.0)
    >>> s.add(2.0), s.add(1.0)
    (2.0, 1.3333333333333333)
"""

from __future__ import annotations

import math

__all__ = ["DIVERGE_WARMUP", "SmoothedLoss"]

#: Divergence is only checked from this update on (the first smoothed losses are noisy).
DIVERGE_WARMUP = 5


class SmoothedLoss:
    """The bias-corrected EMA of the loss and the divergence test of the module docstring.

    ``smooth = 0`` smooths nothing (``smoothed == loss``); ``diverge=None`` never diverges.
    :meth:`state` and :meth:`load_state` save and restore it as plain numbers.

    Example:
        >>> s = SmoothedLoss(smooth=0.0, diverge=2.0)
        >>> [s.add(x) for x in (1.0, 1.0, 1.0, 1.0, 1.0, 3.0)][-1], s.diverged(5)
        (3.0, True)
    """

    def __init__(self, smooth: float, diverge: float | None) -> None:
        self.smooth = smooth
        self.diverge = diverge
        self.n = 0
        self.best = math.inf
        self.last = math.nan
        self._avg = 0.0

    def add(self, loss: float) -> float:
        """Record one loss and return the smoothed value."""
        self.n += 1
        self._avg = self.smooth * self._avg + (1 - self.smooth) * loss
        self.last = self._avg / (1 - self.smooth**self.n)
        self.best = min(self.best, self.last)
        return self.last

    def diverged(self, i: int) -> bool:
        """Whether the smoothed loss at update ``i`` has blown up (see the module docstring)."""
        return (
            self.diverge is not None
            and i >= DIVERGE_WARMUP
            and self.best > 0
            and self.last > self.diverge * self.best
        )

    def state(self) -> list[float]:
        """``[n, best, last, avg]``: the losses recorded, the lowest and the last smoothed
        value, and the EMA before bias correction (plain numbers, for a ``state_dict``).

        Example:
            >>> s = SmoothedLoss(smooth=0.5, diverge=None)
            >>> _ = s.add(2.0)
            >>> t = SmoothedLoss(smooth=0.5, diverge=None)
            >>> t.load_state(s.state())
            >>> t.add(1.0) == s.add(1.0)
            True
        """
        return [self.n, self.best, self.last, self._avg]

    def load_state(self, state: list[float]) -> None:
        """Restore :meth:`state`: the next :meth:`add` continues where it left off."""
        n, best, last, avg = state
        self.n, self.best, self.last, self._avg = int(n), float(best), float(last), float(avg)
