"""The 1cycle policy (Smith & Topin 2017, arXiv 1708.07120; Smith 2018, arXiv 1803.09820, §4.1).

One cycle slightly shorter than training: linear up from ``max_lr / div_factor`` to ``max_lr``,
linear back down, then "annihilation" over the last ``pct_annihilate`` of the steps to far below
the start. Momentum cycles inversely, 0.95 → 0.85 → 0.95, and stays high while annihilating.

Two presets reproduce other libraries exactly, for users migrating:

- ``OneCycle.pytorch(...)``: ``torch.optim.lr_scheduler.OneCycleLR`` (cos by default,
  ``pct_start=0.3``, ``div_factor=25``, final LR = initial / ``final_div_factor=1e4``,
  optional ``three_phase``).
- ``OneCycle.fastai(...)``: fastai's ``fit_one_cycle`` (cos, ``pct_start=0.25``, ``div=25``,
  final LR = max / ``div_final=1e5``, moms 0.95/0.85/0.95). fastai evaluates the schedule at
  ``it / total_steps``, so its last step sits just short of the final value.

Every variant is a :class:`Piecewise` schedule, and each of its phases must span at least one
step. After the last knot the final value is held
(PyTorch's ``OneCycleLR`` raises instead).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from cyclr import _validate as v
from cyclr.schedules.base import Schedule

__all__ = ["Piecewise", "OneCycle"]


def _anneal(name: str, start: Any, end: Any, pct: Any, xp: Any) -> Any:
    if name == "cos":
        return end + (start - end) / 2.0 * (xp.cos(math.pi * pct) + 1)
    return (end - start) * pct + start


@dataclass(frozen=True)
class Piecewise(Schedule):
    """Interpolates ``values[i] → values[i+1]`` between ``knots[i]`` and ``knots[i+1]``.

    ``knots`` start at 0 and increase strictly; they may be fractional steps. At step ``t`` the
    phase is the first ``i`` with ``t <= knots[i+1]``, ``pct = (t - knots[i]) / (knots[i+1] -
    knots[i])`` and the value is the ``anneal`` ("linear" or "cos") interpolation at ``pct``.
    Past the last knot the last value is held.

    Example:
        >>> s = cyclr.Piecewise(knots=(0, 10, 20), values=(0.1, 1.0, 0.1))
        >>> s(5), s(10), s(20), s(99)
        (0.55, 1.0, 0.1, 0.1)
    """

    knots: tuple[float, ...]
    values: tuple[float, ...]
    anneal: str = "linear"

    def __post_init__(self) -> None:
        knots = tuple(v.finite(f"knots[{i}]", k) for i, k in enumerate(self.knots))
        values = tuple(v.finite(f"values[{i}]", x) for i, x in enumerate(self.values))
        if len(knots) < 2:
            raise ValueError(f"knots needs at least 2 entries, got {self.knots!r}")
        if len(values) != len(knots):
            raise ValueError(
                f"values must have one entry per knot ({len(knots)}), got {len(values)}"
            )
        if knots[0] != 0:
            raise ValueError(f"knots[0] must be 0, got {self.knots[0]!r}")
        for i in range(1, len(knots)):
            if knots[i] <= knots[i - 1]:
                raise ValueError(
                    f"knots must increase strictly: knots[{i}]={knots[i]!r} <= "
                    f"knots[{i - 1}]={knots[i - 1]!r}"
                )
        object.__setattr__(self, "anneal", v.choice("anneal", self.anneal, ("linear", "cos")))
        object.__setattr__(self, "knots", knots)
        object.__setattr__(self, "values", values)

    def evaluate(self, t: Any, xp: Any) -> Any:
        knots, values = self.knots, self.values
        k0, k1, v0, v1 = knots[-2], knots[-1], values[-2], values[-1]
        for i in range(len(knots) - 3, -1, -1):  # the first phase with t <= its end knot
            inside = t <= knots[i + 1]
            k0, k1 = xp.where(inside, knots[i], k0), xp.where(inside, knots[i + 1], k1)
            v0, v1 = xp.where(inside, values[i], v0), xp.where(inside, values[i + 1], v1)
        pct = xp.minimum((t - k0) / (k1 - k0), 1.0)
        return xp.where(t >= knots[-1], values[-1], _anneal(self.anneal, v0, v1, pct, xp))


_PRESETS = ("smith", "pytorch", "fastai")


@dataclass(frozen=True)
class OneCycle(Schedule):
    """The 1cycle learning-rate policy.

    Default (``preset="smith"``, Smith 2018 §4.1), with ``last = total_steps - 1``:

    - linear from ``max_lr / div_factor`` up to ``max_lr`` by step ``pct_start * last``
      (default: half the cycle, ``(1 - pct_annihilate) / 2``);
    - linear back down to ``max_lr / div_factor`` by step ``(1 - pct_annihilate) * last``;
    - annihilation: linear down to ``max_lr / div_factor / final_div_factor`` at ``last``.

    Use the :meth:`pytorch` and :meth:`fastai` constructors for those libraries' exact variants,
    and :meth:`momentum` for the inverse momentum companion. The value is held after
    ``total_steps``.

    Example:
        >>> s = cyclr.OneCycle(max_lr=0.2, total_steps=1001)
        >>> [round(s(i), 10) for i in (0, 450, 900, 1000)]
        [0.02, 0.2, 0.02, 2e-05]
    """

    max_lr: float
    total_steps: int
    div_factor: float = 10.0
    final_div_factor: float = 1e3
    pct_start: float | None = None
    pct_annihilate: float = 0.1
    anneal: str = "linear"
    three_phase: bool = False
    preset: str = "smith"

    def __post_init__(self) -> None:
        object.__setattr__(self, "max_lr", v.learning_rate("max_lr", self.max_lr))
        total = v.integer("total_steps", self.total_steps, minimum=2)
        object.__setattr__(self, "total_steps", total)
        object.__setattr__(self, "div_factor", v.positive("div_factor", self.div_factor))
        object.__setattr__(
            self, "final_div_factor", v.positive("final_div_factor", self.final_div_factor)
        )
        for name in ("div_factor", "final_div_factor"):  # below 1 a decay would climb
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)!r}")
        object.__setattr__(self, "preset", v.choice("preset", self.preset, _PRESETS))
        object.__setattr__(self, "anneal", v.choice("anneal", self.anneal, ("linear", "cos")))
        annihilate = v.fraction("pct_annihilate", self.pct_annihilate, high_open=True)
        object.__setattr__(self, "pct_annihilate", annihilate)
        if self.pct_start is not None:
            pct = v.fraction("pct_start", self.pct_start, low_open=True, high_open=True)
            object.__setattr__(self, "pct_start", pct)
        if isinstance(self.three_phase, np.bool_):
            object.__setattr__(self, "three_phase", bool(self.three_phase))
        if not isinstance(self.three_phase, bool):
            raise TypeError(f"three_phase must be a bool, got {self.three_phase!r}")
        if self.three_phase and self.preset != "pytorch":
            raise ValueError("three_phase=True is only defined for preset='pytorch'")
        self._check_pct_start()
        knots, values, _ = self._phases()
        for i in range(1, len(knots)):
            if knots[i] - knots[i - 1] < 1:
                raise ValueError(
                    f"total_steps={self.total_steps} is too small for the phases of this "
                    f"{self.preset} 1cycle: each phase needs at least one step (phase "
                    f"boundaries at steps {[round(k, 3) for k in knots]})"
                )
        object.__setattr__(self, "_lr", Piecewise(knots, values, self.anneal))

    def _check_pct_start(self) -> None:
        """Refuse a ``pct_start`` that leaves a phase empty however many steps there are."""
        pct = self.pct_start
        if pct is None:
            return
        if self.preset == "smith" and self.pct_annihilate > 0 and pct >= 1 - self.pct_annihilate:
            end = 1 - self.pct_annihilate
            raise ValueError(
                f"pct_start={pct!r} puts the LR peak at or past the end of the cycle, which comes "
                f"at 1 - pct_annihilate = {end:g} of the steps: the descent phase between them "
                f"is empty; pct_start must be < 1 - pct_annihilate"
            )
        if self.three_phase and pct > 0.5:
            raise ValueError(
                f"pct_start={pct!r} leaves the last phase of three_phase=True empty: the ascent "
                f"and the descent each take pct_start of the steps, so pct_start must be <= 0.5"
            )

    # Knots, LR values and momentum roles ("hi"/"lo") of each variant.
    def _phases(self) -> tuple[tuple[float, ...], tuple[float, ...], tuple[str, ...]]:
        total, peak = self.total_steps, self.max_lr
        start = peak / self.div_factor
        if self.preset == "pytorch":
            pct = 0.3 if self.pct_start is None else self.pct_start
            final = start / self.final_div_factor
            if self.three_phase:
                three = (0.0, float(pct * total) - 1, float(2 * pct * total) - 2, total - 1.0)
                return three, (start, peak, start, final), ("hi", "lo", "hi", "hi")
            two = (0.0, float(pct * total) - 1, total - 1.0)
            return two, (start, peak, final), ("hi", "lo", "hi")
        if self.preset == "fastai":
            pct = 0.25 if self.pct_start is None else self.pct_start
            final = peak / self.final_div_factor
            return (0.0, pct * total, float(total)), (start, peak, final), ("hi", "lo", "hi")
        last = total - 1.0
        end_cycle = (1 - self.pct_annihilate) * last
        pct = (1 - self.pct_annihilate) / 2 if self.pct_start is None else self.pct_start
        if self.pct_annihilate == 0:
            return (0.0, pct * last, last), (start, peak, start), ("hi", "lo", "hi")
        final = start / self.final_div_factor
        knots = (0.0, pct * last, end_cycle, last)
        return knots, (start, peak, start, final), ("hi", "lo", "hi", "hi")

    @classmethod
    def pytorch(
        cls,
        max_lr: float,
        total_steps: int,
        pct_start: float = 0.3,
        anneal_strategy: str = "cos",
        div_factor: float = 25.0,
        final_div_factor: float = 1e4,
        three_phase: bool = False,
    ) -> OneCycle:
        """``torch.optim.lr_scheduler.OneCycleLR`` with the same arguments and defaults.

        Example:
            >>> s = cyclr.OneCycle.pytorch(max_lr=0.1, total_steps=100)
            >>> [round(s(i), 10) for i in (0, 29, 99)]
            [0.004, 0.1, 4e-07]
        """
        return cls(
            max_lr,
            total_steps,
            div_factor=div_factor,
            final_div_factor=final_div_factor,
            pct_start=pct_start,
            pct_annihilate=0.0,
            anneal=anneal_strategy,
            three_phase=three_phase,
            preset="pytorch",
        )

    @classmethod
    def fastai(
        cls,
        lr_max: float,
        total_steps: int,
        pct_start: float = 0.25,
        div: float = 25.0,
        div_final: float = 1e5,
    ) -> OneCycle:
        """fastai's ``fit_one_cycle`` LR schedule (``combined_cos``) with its defaults.

        Pair it with ``.momentum(0.85, 0.95)`` for fastai's ``moms=(0.95, 0.85, 0.95)``.
        """
        return cls(
            lr_max,
            total_steps,
            div_factor=div,
            final_div_factor=div_final,
            pct_start=pct_start,
            pct_annihilate=0.0,
            anneal="cos",
            preset="fastai",
        )

    @property
    def knots(self) -> tuple[float, ...]:
        """Phase boundaries in steps."""
        return self._lr.knots  # type: ignore[attr-defined,no-any-return]

    def evaluate(self, t: Any, xp: Any) -> Any:
        return self._lr.evaluate(t, xp)  # type: ignore[attr-defined]

    def momentum(self, base_momentum: float = 0.85, max_momentum: float = 0.95) -> Piecewise:
        """Inverse momentum: ``max_momentum`` → ``base_momentum`` at the LR peak → back up,
        then held at ``max_momentum`` while annihilating (PyTorch's and fastai's semantics)."""
        lo = v.fraction("base_momentum", base_momentum, high_open=True)
        hi = v.fraction("max_momentum", max_momentum, high_open=True)
        v.ordered("base_momentum", lo, "max_momentum", hi)
        knots, _, roles = self._phases()
        return Piecewise(knots, tuple(hi if r == "hi" else lo for r in roles), self.anneal)
