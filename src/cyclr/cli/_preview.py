"""The steps ``cyclr plot`` evaluates: every one up to :data:`SAMPLES`, else an even grid plus
the steps where the schedule turns (the first and last step, phase boundaries, cycle starts and
peaks, a chain's joins), so a preview of 10**12 steps costs a few thousand evaluations and its
extremes are still exact.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

import cyclr

__all__ = ["MAX_STEPS", "SAMPLES", "Preview", "preview_steps"]

#: Steps evaluated one by one; longer previews are sampled.
SAMPLES = 4096
#: The longest preview: steps up to 2**53 are exact as float64 (the schedules' arithmetic).
MAX_STEPS = 2**53


@dataclass(frozen=True)
class Preview:
    """The steps to evaluate (sorted, unique) and, when sampled, the even grid among them."""

    steps: int
    at: NDArray[np.int64]
    grid: NDArray[np.int64] | None

    @property
    def sampled(self) -> bool:
        return self.grid is not None

    def even(self, values: NDArray[np.float64]) -> NDArray[np.float64]:
        """``values`` (at :attr:`at`) at the evenly spaced steps, for the sparkline."""
        if self.grid is None:
            return values
        return values[np.searchsorted(self.at, self.grid)]


def preview_steps(schedule: cyclr.Schedule, steps: int) -> Preview:
    """The steps ``0 … steps - 1`` to evaluate (``steps <= MAX_STEPS``).

    Example:
        >>> p = preview_steps(cyclr.Triangular(0.1, 1.0, step_size=5), 10**12)
        >>> p.sampled, len(p.at) <= 2 * SAMPLES, [int(s) for s in p.at[:4]], int(p.at[-1])
        (True, True, [0, 5, 10, 15], 999999999999)
    """
    if steps <= SAMPLES:
        return Preview(steps, np.arange(steps, dtype=np.int64), None)
    grid = np.unique(np.linspace(0, steps - 1, SAMPLES).round().astype(np.int64))
    turns = itertools.islice(_turns(schedule, 0, steps), SAMPLES // 2)
    keys = np.fromiter(
        (s for k in turns for s in (math.floor(k), math.ceil(k)) if 0 <= s < steps),
        dtype=np.int64,
    )
    return Preview(steps, np.union1d(grid, keys), grid)


def _turns(schedule: Any, offset: int, end: int) -> Iterator[float]:
    """Where ``schedule`` (started at step ``offset``) turns, in order, before step ``end``."""
    from cyclr.schedules.compose import Chain
    from cyclr.schedules.cyclical import CyclicMomentum

    if isinstance(schedule, CyclicMomentum):
        yield from _turns(schedule.schedule, offset, end)
    elif isinstance(schedule, (cyclr.Piecewise, cyclr.OneCycle)):
        yield from (offset + k for k in schedule.knots if offset + k < end)
    elif isinstance(getattr(schedule, "cycle_length", None), int):
        for start in range(offset, end, schedule.cycle_length):
            yield start
            yield start + schedule.step_size
    elif isinstance(schedule, Chain):
        for part, length in itertools.zip_longest(schedule.parts, schedule.lengths):
            if offset >= end:
                return
            stop = end if length is None else min(end, offset + length)
            yield offset
            yield from _turns(part, offset, stop)
            yield stop - 1
            offset = stop
