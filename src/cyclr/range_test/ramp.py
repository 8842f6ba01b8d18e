"""The LR ramp of one range test (Smith 2015, §3.3), shared by every framework adapter.

The LR of update ``i = 0 … num_iter - 1`` rises from ``start_lr`` to ``end_lr``::

    linear (the paper):  lr_i = start_lr + (end_lr - start_lr) * i / (num_iter - 1)
    exp (modern tools):  lr_i = start_lr * (end_lr / start_lr) ** (i / (num_iter - 1))

Example:
    >>> from cyclr.range_test.ramp import ramp_lr
    >>> ramp_lr(0, 1e-4, 1.0, 5, "exp"), ramp_lr(2, 1e-4, 1.0, 5, "exp")
    (0.0001, 0.01)
    >>> ramp_lr(4, 0.0, 1.0, 5, "linear")
    1.0
"""

from __future__ import annotations

__all__ = ["DEFAULT_RANGE", "MIN_ITER", "MODES", "NUM_ITER", "ramp_lr"]

#: Ramp modes: ``"exp"`` (geometric) and ``"linear"`` (the paper's).
MODES = ("exp", "linear")
#: Fewest updates accepted: below this there is no curve to read.
MIN_ITER = 10
#: Updates of one range test when ``num_iter`` is not given (fastai's and torch-lr-finder's).
NUM_ITER = 100
#: ``(start_lr, end_lr)`` when not given. The exponential ramp covers eight decades, enough for
#: SGD and Adam alike. The linear ramp (the paper's) spends its points evenly, so it needs a
#: narrower band: up to 1, where SGD-trained classifiers usually break down. For Adam, or to
#: zoom in on the accuracy reading, pass ``end_lr`` (e.g. a few times an exp test's best LR).
DEFAULT_RANGE = {"exp": (1e-7, 10.0), "linear": (1e-3, 1.0)}


def ramp_lr(i: int, start_lr: float, end_lr: float, num_iter: int, mode: str) -> float:
    """LR of update ``i`` (0-based): the linear or exponential ramp in the module docstring."""
    t = i / (num_iter - 1)
    if mode == "linear":
        return start_lr + (end_lr - start_lr) * t
    return float(start_lr * (end_lr / start_lr) ** t)
