"""Hyper-parameter sweeps (Smith 2018): one LR range test per value, and which value to pick.

Example:
    >>> import cyclr.sweep
    >>> cyclr.sweep.DEFAULT_VALUES["momentum"]
    (0.99, 0.97, 0.95, 0.9)
"""

from __future__ import annotations

from cyclr.sweep.reading import (
    CURVES,
    CurveReading,
    Sweep,
    SweepSuggestion,
    curve_data,
    suggest_sweep,
)
from cyclr.sweep.result import CHECKED_PARAMS, DEFAULT_VALUES, SweepResult, check_values

__all__ = [
    "CHECKED_PARAMS",
    "CURVES",
    "DEFAULT_VALUES",
    "CurveReading",
    "Sweep",
    "SweepResult",
    "SweepSuggestion",
    "check_values",
    "curve_data",
    "suggest_sweep",
]
