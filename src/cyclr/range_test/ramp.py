"""The LR sweep of the range test (Smith 2015, §3.3), shared by every framework adapter.

The LR of update ``i = 0 … num_iter - 1`` rises from ``start_lr`` to ``end_lr``::

    linear (the paper):  lr_i = start_lr + (end_lr - start_lr) * i / (num_iter - 1)
    exp (modern tools):  lr_i = start_lr * (end_lr / start_lr) ** (i / (num_iter - 1))

Example:
    >>> from cyclr.range_test.ramp import sweep_lr
    >>> sweep_lr(0, 1e-4, 1.0, 5, "exp"), sweep_lr(2, 1e-4, 1.0, 5, "exp")
    (0.0001, 0.01)
    >>> sweep_lr(4, 0.0, 1.0, 5, "linear")
    1.0
"""

from __future__ import annotations

import math

__all__ = ["DEFAULT_RANGE", "DIVERGE_WARMUP", "MIN_ITER", "MODES", "SmoothedLoss", "sweep_lr"]

#: Sweep modes: ``"exp"`` (geometric) and ``"linear"`` (the paper's).
MODES = ("exp", "linear")
#: Fewest updates accepted: below this there is no curve to read.
MIN_ITER = 10
#: ``(start_lr, end_lr)`` when not given. The exponential sweep covers eight decades, enough for
#: SGD and Adam alike. The linear sweep (the paper's) spends its points evenly, so it needs a
#: narrower band: up to 1, where SGD-trained classifiers usually break down. For Adam, or to
#: zoom in on the accuracy reading, pass ``end_lr`` (e.g. a few times an exp test's best LR).
DEFAULT_RANGE = {"exp": (1e-7, 10.0), "linear": (1e-3, 1.0)}
#: Divergence is only checked from this update on (the first smoothed losses are noisy).
DIVERGE_WARMUP = 5


def sweep_lr(i: int, start_lr: float, end_lr: float, num_iter: int, mode: str) -> float:
    """LR of update ``i`` (0-based): the linear or exponential sweep in the module docstring."""
    t = i / (num_iter - 1)
    if mode == "linear":
        return start_lr + (end_lr - start_lr) * t
    return start_lr * (end_lr / start_lr) ** t


class SmoothedLoss:
    """The range test's smoothed loss and divergence test.

    After the ``n``-th recorded loss, the bias-corrected EMA is ``avg = beta * avg + (1 - beta) *
    loss`` and ``smoothed = avg / (1 - beta**n)``; the test has diverged at update ``i`` when
    ``i >= DIVERGE_WARMUP`` and ``smoothed > diverge * best`` with ``best > 0`` the lowest
    smoothed loss so far.

    Example:
        >>> s = SmoothedLoss(beta=0.5, diverge=4.0)
        >>> s.add(2.0), s.add(1.0)
        (2.0, 1.3333333333333333)
    """

    def __init__(self, beta: float, diverge: float | None) -> None:
        self.beta = beta
        self.diverge = diverge
        self.n = 0
        self.best = math.inf
        self.last = math.nan
        self._avg = 0.0

    def add(self, loss: float) -> float:
        """Record one loss and return the smoothed value."""
        self.n += 1
        self._avg = self.beta * self._avg + (1 - self.beta) * loss
        self.last = self._avg / (1 - self.beta**self.n)
        self.best = min(self.best, self.last)
        return self.last

    def diverged(self, i: int) -> bool:
        """Whether the smoothed loss at update ``i`` has blown up (see the class docstring)."""
        return (
            self.diverge is not None
            and i >= DIVERGE_WARMUP
            and self.best > 0
            and self.last > self.diverge * self.best
        )
