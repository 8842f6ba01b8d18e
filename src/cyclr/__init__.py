"""cyclr: cyclical learning rates, the LR range test and 1cycle super-convergence.

The core (this package: schedules, range_test, suggest, sweep, online) needs only numpy.
Framework adapters live in ``cyclr.torch``, ``cyclr.keras`` and ``cyclr.optax``; plots in
``cyclr.plot``; the command line in ``cyclr.cli``.
"""

from __future__ import annotations

from cyclr._version import __version__
from cyclr.range_test.result import STOP_REASONS, RangeTestResult
from cyclr.schedules.base import Schedule, schedule_from_dict
from cyclr.schedules.compose import Chain, Constant
from cyclr.schedules.cyclical import CyclicMomentum, ExpRange, Triangular, Triangular2
from cyclr.schedules.one_cycle import OneCycle, Piecewise
from cyclr.suggest import SuggestionError
from cyclr.suggest.bounds import Bounds
from cyclr.sweep import SweepResult, SweepSuggestion

__all__ = [
    "Bounds",
    "Chain",
    "Constant",
    "CyclicMomentum",
    "ExpRange",
    "OneCycle",
    "Piecewise",
    "RangeTestResult",
    "STOP_REASONS",
    "Schedule",
    "SuggestionError",
    "SweepResult",
    "SweepSuggestion",
    "Triangular",
    "Triangular2",
    "schedule_from_dict",
    "__version__",
]
