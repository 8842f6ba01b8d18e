"""The bounds an online decision fixes: the rule's, read at an update, or cautious ones.

- :func:`decided_bounds`: the rule's bounds, their reason saying when and why they were read;
  for a 1cycle ``max_lr`` is the end of the loss's lowest plateau, the largest LR at which the
  loss still sat on its floor (Smith 2018, §4.1);
- :func:`cautious_bounds`: bounds from no curve, ``max_lr`` a tenth of the LR that blew up and
  ``base_lr = max_lr / SINGLE_LR_DIVISOR`` (Smith 2015, §3.2).

Example:
    >>> b = cautious_bounds(1e-6, blown_at=0.5)
    >>> b.max_lr, b.base_lr
    (0.05, 0.0125)
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from cyclr.suggest import Bounds
from cyclr.suggest.bounds import SINGLE_LR_DIVISOR

__all__ = ["cautious_bounds", "decided_bounds"]


def decided_bounds(b: Bounds, decided_at: int, why: str, plateau_end: bool) -> Bounds:
    """``b`` as fixed at update ``decided_at`` for the reason ``why``; with ``plateau_end``
    (and a reading of the curve) ``max_lr`` is the end of the lowest plateau, not the rule's."""
    d = decided_at
    base, top, points = b.base_lr, b.max_lr, b.points
    details = dict(b.details, online_decided_at=d, max_lr_from="rule")
    reason = f"{b.reason}. Read online at update {d}: {why}"
    if plateau_end and b.reading is not None:
        top = b.reading.plateau[1]
        base = min(base, top)
        details.update(max_lr_from="plateau_end", rule_max_lr=b.max_lr)
        value = _value_at(b, top)
        points = tuple(
            replace(p, lr=top, value=value, index=None) if p.label == "max_lr" else p
            for p in points
        )
        reason += (
            f". For 1cycle max_lr is the plateau's end, {top:.3g}, not the rule's "
            f"{b.max_lr:.3g}: the largest LR at which the loss still sat on its floor "
            "(Smith 2018, §4.1)"
        )
    return replace(b, base_lr=base, max_lr=top, reason=reason, points=points, details=details)


def cautious_bounds(start_lr: float, blown_at: float) -> Bounds:
    """Bounds from no curve: a tenth of the LR that blew up, ``base = max_lr / 4``, neither
    below ``start_lr``."""
    top = max(start_lr, blown_at / 10)
    base = max(start_lr, top / SINGLE_LR_DIVISOR)
    return Bounds(
        base,
        top,
        "cautious",
        f"the loss blew up at lr={blown_at:.3g} before the curve could be read: max_lr is "
        f"a tenth of that LR and base_lr = max_lr / {SINGLE_LR_DIVISOR:g} (Smith 2015, §3.2)",
        details={"blown_at": blown_at},
    )


def _value_at(b: Bounds, lr: float) -> float:
    """The analysed curve's value at ``lr`` (interpolated in log LR), NaN without a curve."""
    x = np.log(np.asarray(b.curve_lr, dtype=np.float64))
    y = np.asarray(b.curve_values, dtype=np.float64)
    if x.size == 0:
        return float("nan")
    return float(np.interp(math.log(lr), x, y))
