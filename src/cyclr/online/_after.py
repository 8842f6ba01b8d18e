"""The schedule after an online decision: the rest of a 1cycle, or a triangle wave from its peak.

Counted from the decision at update ``d`` (``t - d``), with ``top`` the read ``max_lr``:

- ``"one_cycle"`` (Smith 2018, §4.1): linear from ``top`` down to ``low = top / div_factor``
  at ``(1 - pct_annihilate) * (total_steps - 1)``, then annihilation down to
  ``low / final_div_factor`` at the last update;
- ``"triangular"`` (Smith 2015, §3.1): the triangle wave between ``base_lr`` and ``top``
  entered at its peak, half cycles of ``step_size``.

Example:
    >>> a = one_cycle_after(0.1, decided_at=100, total_steps=1000, div_factor=10.0,
    ...                     final_div_factor=1e3, pct_annihilate=0.1)
    >>> a.at(0), a.low, a.at(999 - 100)  # the last update: low / final_div_factor
    (0.1, 0.01, 1e-05)
"""

from __future__ import annotations

from dataclasses import dataclass

from cyclr.schedules.cyclical import Triangular
from cyclr.schedules.one_cycle import Piecewise

__all__ = ["After", "half_cycle", "one_cycle_after", "triangular_after"]


@dataclass(frozen=True)
class After:
    """The LR ``at(t - d)`` of the updates after the decision at ``d``, and the lowest LR
    the schedule comes down to (where momentum is back at its maximum)."""

    schedule: Piecewise | Triangular
    offset: int  # the schedule is entered at this step of its own (a triangle: its peak)
    low: float

    def at(self, t: int) -> float:
        """The LR ``t`` updates after the decision."""
        return float(self.schedule.at(t + self.offset))


def one_cycle_after(
    top: float,
    *,
    decided_at: int,
    total_steps: int,
    div_factor: float,
    final_div_factor: float,
    pct_annihilate: float,
) -> After:
    """The rest of a 1cycle from ``top`` at update ``decided_at`` (module docstring)."""
    d = decided_at
    low = top / div_factor
    last = total_steps - 1 - d
    end_cycle = max((1 - pct_annihilate) * (total_steps - 1) - d, 1.0)
    knots: tuple[float, ...] = (0.0, max(float(last), 1.0))
    values: tuple[float, ...] = (top, low)
    if last > end_cycle and pct_annihilate > 0:
        knots, values = (0.0, end_cycle, float(last)), (top, low, low / final_div_factor)
    return After(Piecewise(knots, values), 0, low)


def triangular_after(base_lr: float, top: float, step_size: int) -> After:
    """The triangle wave between ``base_lr`` and ``top`` from its peak (module docstring)."""
    return After(Triangular(base_lr, top, step_size), step_size, base_lr)


def half_cycle(decided_at: int, total_steps: int | None) -> int:
    """The half cycle nearest to the warm-up's length ``decided_at`` that ends training at a
    cycle end (``decided_at`` itself without ``total_steps``).

    Example:
        >>> half_cycle(100, 1000)  # 900 updates left: 9 half cycles of 100
        100
    """
    d = decided_at
    if total_steps is None:
        return max(d, 1)
    rest = total_steps - d
    k = max(0, round((rest / max(d, 1) - 1) / 2))
    return max(1, rest // (1 + 2 * k))
