"""The framework-free parts of the LR range test (Smith 2015, §3.3), numpy only.

- :mod:`cyclr.range_test.ramp`: the LR ramp of one test (linear or exponential), its defaults;
- :mod:`cyclr.range_test.checks`: the argument checks every loop shares, one message each;
- :mod:`cyclr.range_test.batch_stream`: endless batches from a short or one-shot source;
- :mod:`cyclr.range_test.smoothing`: the bias-corrected EMA of the loss, the divergence test;
- :mod:`cyclr.range_test.recorder`: what a loop records per update, and the result it builds;
- :mod:`cyclr.range_test.result`: :class:`RangeTestResult`, what a test recorded (JSON, CSV);
- :mod:`cyclr.range_test.recipe`: the two-stage plan (coarse exponential, then linear).

The loops that train live in the adapters (:func:`cyclr.torch.range_test`,
:func:`cyclr.keras.range_test`); each supplies only the update itself.
"""

from __future__ import annotations

from cyclr.range_test.result import STOP_REASONS, RangeTestResult

__all__ = ["STOP_REASONS", "RangeTestResult"]
