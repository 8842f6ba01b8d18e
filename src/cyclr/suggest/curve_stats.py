"""The curve statistics the rules read with, for the other readings of a curve to share.

The sweep reading (:mod:`cyclr.sweep`) and the online decision (:mod:`cyclr.online`) read their
curves with these, so that every reading finds the same usable part, fit and noise:

- :data:`MIN_POINTS`: the fewest usable points a curve is read from;
- :data:`BANDWIDTH` and :func:`kernel_width`: the smoother's width, ``max(2, n * bandwidth)``
  steps;
- :func:`leading_run`: the length of the leading run of usable (finite) points;
- :func:`blow_up`: where the curve blows up (a running median back above its start level);
- :func:`local_linear`: the Gaussian-kernel local-linear fit and the norm of its kernel;
- :func:`residual_noise`: the noise level from the fit's residuals, whole-curve or local.

``docs/suggest.md`` explains each.

Example:
    >>> import numpy as np
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

__all__ = [
    "BANDWIDTH",
    "MIN_POINTS",
    "blow_up",
    "kernel_width",
    "leading_run",
    "local_linear",
    "residual_noise",
]
