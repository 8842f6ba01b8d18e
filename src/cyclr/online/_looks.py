"""The significance of a test repeated at every look at a growing curve (a Bonferroni bound).

A test at ``z`` has ``P(Z > z)`` of a false reading; over ``looks`` looks, the test at
``z_looks`` with ``P(Z > z_looks) = P(Z > z) / looks`` keeps the chance of any false reading at
most that of one look at ``z``.

Example:
    >>> round(z_for_looks(3.0, 1), 6), round(z_for_looks(3.0, 100), 3)
    (3.0, 4.197)
"""

from __future__ import annotations

import math

__all__ = ["normal_isf", "normal_sf", "z_for_looks"]


def z_for_looks(z: float, looks: int) -> float:
    """The ``z_looks`` of the module docstring."""
    return normal_isf(normal_sf(z) / looks)


def normal_sf(z: float) -> float:
    """``P(Z > z)`` for a standard normal ``Z``."""
    return 0.5 * math.erfc(z / math.sqrt(2))


def normal_isf(p: float) -> float:
    """The ``z`` with ``P(Z > z) = p`` (bisection; ``0 < p < 0.5``)."""
    lo, hi = 0.0, 40.0
    for _ in range(200):
        mid = (lo + hi) / 2
        if normal_sf(mid) > p:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2
