"""The framework-free parts of the LR range test (Smith 2015, §3.3).

- :mod:`cyclr.range_test.result`: :class:`RangeTestResult`, what a test recorded (JSON, CSV);
- :mod:`cyclr.range_test.ramp`: the LR ramp of one test (linear or exponential) and its defaults.

The loops that train live in the adapters (:func:`cyclr.torch.range_test`,
:func:`cyclr.keras.range_test`).
"""

from __future__ import annotations

from cyclr.range_test.result import STOP_REASONS, RangeTestResult

__all__ = ["STOP_REASONS", "RangeTestResult"]
