"""Bad range-test options and the one message each gets, from the core and from every adapter.

``tests/range_test/test_checks.py`` feeds the table to the shared checks and
``tests/range_test/test_adapters_agree.py`` to ``cyclr.torch.range_test`` and
``cyclr.keras.range_test``.
"""

from __future__ import annotations

from typing import Any

#: (bad options, error, the exact message): the table the adapters' errors must match too.
BAD: list[tuple[dict[str, Any], type, str]] = [
    (dict(start_lr=0.1, end_lr=0.1), ValueError, "start_lr (0.1) must be < end_lr (0.1)"),
    (dict(start_lr=1.0, end_lr=0.1), ValueError, "start_lr (1.0) must be < end_lr (0.1)"),
    (dict(end_lr=1e-8), ValueError, "start_lr (1e-07) must be < end_lr (1e-08)"),
    (dict(start_lr=0.0), ValueError, "start_lr must be > 0, got 0.0"),
    (dict(start_lr=-1e-3), ValueError, "start_lr must be > 0, got -0.001"),
    (dict(start_lr=float("nan")), ValueError, "start_lr must be finite, got nan"),
    (dict(start_lr=True), TypeError, "start_lr must be a real number, got True (bool)"),
    (dict(end_lr=float("inf")), ValueError, "end_lr must be finite, got inf"),
    (dict(end_lr="1"), TypeError, "end_lr must be a real number, got '1' (str)"),
    (dict(num_iter=9), ValueError, "num_iter must be >= 10, got 9"),
    (dict(num_iter=20.0), TypeError, "num_iter must be an integer, got 20.0 (float)"),
    (dict(mode="cosine"), ValueError, "mode must be one of 'exp', 'linear'; got 'cosine'"),
    (dict(smooth=1.0), ValueError, "smooth must be in [0, 1), got 1.0"),
    (dict(smooth=-0.1), ValueError, "smooth must be in [0, 1), got -0.1"),
    (dict(diverge=1.0), ValueError, "diverge must be > 1 (a multiple of the best loss), got 1.0"),
    (dict(diverge=float("nan")), ValueError, "diverge must be finite, got nan"),
    (dict(diverge="4"), TypeError, "diverge must be a real number, got '4' (str)"),
    (dict(val_every=0), ValueError, "val_every must be >= 1, got 0"),
    (dict(val_every=2.5), TypeError, "val_every must be an integer, got 2.5 (float)"),
    (dict(seed=-1), ValueError, "seed must be >= 0, got -1"),
    (dict(seed=2**32), ValueError, "seed must be < 2**32, got 4294967296"),
    (dict(seed=1.5), TypeError, "seed must be an integer, got 1.5 (float)"),
    (dict(metric=3), TypeError, "metric must be a str, a callable or None, got 3 (int)"),
]
BAD_IDS = [",".join(f"{k}={v!r}" for k, v in kw.items()) for kw, _, _ in BAD]
