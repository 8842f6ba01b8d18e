"""The curve statistics the rules read with (:mod:`cyclr.suggest._curve`), for the sweep reading
and the online decision to share: the same usable part, fit and noise in every reading.
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
