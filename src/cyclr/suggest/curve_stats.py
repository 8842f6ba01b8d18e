"""The curve statistics the rules read with (:mod:`cyclr.suggest._curve`), for the sweep reading
and the online decision to share: the same usable part, fit and noise in every reading.

Example:
    >>> from cyclr.suggest.curve_stats import blow_up, kernel_width
    >>> y = np.r_[np.linspace(2.3, 0.5, 60), np.linspace(0.5, 9.0, 40)]
    >>> kernel_width(len(y), 1 / 40), blow_up(y, 2.3, 2, 5)
    (2.5, 69)
"""

from __future__ import annotations

from cyclr.suggest._curve import (
    BANDWIDTH,
    MIN_POINTS,
    blow_up,
    kernel_width,
    leading_run,
    local_linear,
    residual_noise,
)
from cyclr.suggest._rise import BASE_FRAC, Z

__all__ = [
    "BANDWIDTH",
    "BASE_FRAC",
    "MIN_POINTS",
    "Z",
    "blow_up",
    "kernel_width",
    "leading_run",
    "local_linear",
    "residual_noise",
]
