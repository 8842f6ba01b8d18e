"""The two-stage range test: the plan every caller shares (Smith 2015, §3.3).

1. A coarse exponential ramp of :data:`COARSE_ITER` updates over the default range finds where
   the loss blows up (:func:`cyclr.suggest.blow_up_lr`).
2. The paper's linear ramp of :data:`LINEAR_ITER` updates rises from ``LOW_RATIO`` times that
   LR up to it (:func:`linear_range`); the bounds are read off it.

The linear ramp spends its updates where the accuracy rises, peaks and falls, which a short
exponential ramp crosses in a few dozen updates. ``cyclr.torch.find_bounds`` runs the plan;
``auto_schedule``, ``cyclr find``, the demo and the benchmarks call it.

Example:
    >>> import numpy as np, cyclr
    >>> from cyclr.range_test.recipe import linear_range
    >>> lr = np.geomspace(1e-6, 10, 100)
    >>> loss = 2.3 - 1.5 / (1 + np.exp(-(np.log10(lr) + 2) * 4)) + 8 * lr
    >>> lo, hi = linear_range(cyclr.RangeTestResult(lr=lr, loss=loss, smoothed_loss=loss,
    ...                                             mode="exp"))
    >>> 0.1 < hi < 1, round(lo / hi, 6)
    (True, 0.001)
"""

from __future__ import annotations

from cyclr import _validate as v
from cyclr.range_test.result import RangeTestResult
from cyclr.suggest import blow_up_lr

__all__ = ["COARSE_ITER", "LINEAR_ITER", "LOW_RATIO", "linear_range"]

#: Updates of the first, exponential ramp.
COARSE_ITER = 200
#: Updates of the second, linear ramp (the paper's).
LINEAR_ITER = 400
#: The linear ramp starts at this fraction of the coarse ramp's blow-up LR.
LOW_RATIO = 1e-3


def linear_range(coarse: RangeTestResult, *, low_ratio: float = LOW_RATIO) -> tuple[float, float]:
    """``(start_lr, end_lr)`` of the linear ramp: ``end_lr`` is where ``coarse`` blew up,
    ``start_lr = end_lr * low_ratio``. Raises :class:`cyclr.SuggestionError` when the coarse
    test's loss never falls significantly."""
    low_ratio = v.fraction("low_ratio", low_ratio, low_open=True, high_open=True)
    end_lr = blow_up_lr(coarse)
    return end_lr * low_ratio, end_lr
