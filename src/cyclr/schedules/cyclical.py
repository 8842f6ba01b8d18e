"""Cyclical learning rates (Smith 2015, arXiv 1506.01186, §3.1): triangular, triangular2, exp_range.

With ``it`` the optimizer update (from 0) and ``step_size`` the half-cycle length::

    cycle = floor(1 + it / (2 * step_size))
    x     = | it / step_size - 2 * cycle + 1 |
    lr    = base_lr + (max_lr - base_lr) * max(0, 1 - x) * scale

``scale`` is 1 (triangular), ``1 / 2**(cycle - 1)`` (triangular2) or ``gamma**it`` (exp_range with
``decay="amplitude"``, as in PyTorch and Keras). With ``step_size_down`` different from
``step_size`` the cycle is asymmetric (PyTorch's ``step_size_down`` extension); the symmetric case
evaluates the formula above exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from cyclr import _validate as v
from cyclr.schedules.base import Schedule

__all__ = ["Triangular", "Triangular2", "ExpRange", "CyclicMomentum"]


class _Cyclical(Schedule):
    """Shared validation and the triangle wave of the three cyclical policies."""

    base_lr: float
    max_lr: float
    step_size: int
    step_size_down: int | None

    kind: ClassVar[str] = "cyclical"

    def __post_init__(self) -> None:
        object.__setattr__(self, "base_lr", v.learning_rate("base_lr", self.base_lr))
        object.__setattr__(self, "max_lr", v.learning_rate("max_lr", self.max_lr))
        v.ordered("base_lr", self.base_lr, "max_lr", self.max_lr)
        object.__setattr__(self, "step_size", v.integer("step_size", self.step_size, minimum=1))
        if self.step_size_down is not None:
            down = v.integer("step_size_down", self.step_size_down, minimum=1)
            object.__setattr__(self, "step_size_down", down)

    @property
    def cycle_length(self) -> int:
        """Iterations in one full cycle (up + down)."""
        down = self.step_size if self.step_size_down is None else self.step_size_down
        return self.step_size + down

    def _wave(self, t: Any, xp: Any) -> tuple[Any, Any]:
        """``(max(0, 1 - x), cycle)``: the triangle in [0, 1] and the 1-based cycle number."""
        up = self.step_size
        down = self.step_size_down
        if down is None or down == up:
            cycle = xp.floor(1 + t / (2 * up))
            x = xp.abs(t / up - 2 * cycle + 1)
            return xp.maximum(0.0, 1 - x), cycle
        # Asymmetric cycle, computed as torch.optim.lr_scheduler.CyclicLR does.
        total = float(up + down)
        ratio = up / total
        cycle = xp.floor(1 + t / total)
        x = 1.0 + t / total - cycle
        return xp.where(x <= ratio, x / ratio, (x - 1) / (ratio - 1)), cycle

    def _scale(self, t: Any, cycle: Any, xp: Any) -> Any:
        return 1.0

    def evaluate(self, t: Any, xp: Any) -> Any:
        wave, cycle = self._wave(t, xp)
        return self.base_lr + (self.max_lr - self.base_lr) * wave * self._scale(t, cycle, xp)

    def momentum(self, base_momentum: float = 0.85, max_momentum: float = 0.95) -> CyclicMomentum:
        """Momentum cycling inversely: ``max_m - (max_m - base_m) * max(0, 1 - x) * scale``.

        This is PyTorch ``CyclicLR``'s ``cycle_momentum`` (its defaults are 0.8/0.9; cyclr's are
        the 0.85/0.95 of Smith 2018).
        """
        return CyclicMomentum(self, base_momentum, max_momentum)


@dataclass(frozen=True)
class _Triangle(_Cyclical):
    """The fields of the policies whose LR is the triangle wave alone, times a per-cycle scale:
    :class:`Triangular` and :class:`Triangular2` (:class:`ExpRange` adds ``gamma`` and
    ``decay``)."""

    base_lr: float
    max_lr: float
    step_size: int
    step_size_down: int | None = None


@dataclass(frozen=True)
class Triangular(_Triangle):
    """Triangular CLR: linear from ``base_lr`` up to ``max_lr`` over ``step_size`` steps and back.

    ``lr = base_lr + (max_lr - base_lr) * max(0, 1 - x)`` (Smith 2015, §3.1). The paper
    recommends ``step_size`` = 2–10 × iterations per epoch and at least 3 cycles.

    Example:
        >>> s = cyclr.Triangular(0.001, 0.006, step_size=2000)
        >>> s(0), s(2000), s(4000)
        (0.001, 0.006, 0.001)
    """


@dataclass(frozen=True)
class Triangular2(_Triangle):
    """Triangular CLR whose amplitude halves after every cycle: ``scale = 1 / 2**(cycle - 1)``.

    Example:
        >>> s = cyclr.Triangular2(0.0, 1.0, step_size=10)
        >>> s(10), s(30), s(50)
        (1.0, 0.5, 0.25)
    """

    def _scale(self, t: Any, cycle: Any, xp: Any) -> Any:
        return xp.power(0.5, cycle - 1)  # = 1 / 2**(cycle - 1), without overflow


@dataclass(frozen=True)
class ExpRange(_Cyclical):
    """Triangular CLR with exponential decay ``gamma**it``.

    - ``decay="bounds"`` (default, the paper's wording: "each boundary value declines by an
      exponential factor of gamma^iteration"): both bounds shrink,
      ``lr = base_lr*g**it + (max_lr*g**it - base_lr*g**it) * max(0, 1 - x)``.
    - ``decay="amplitude"`` (PyTorch ``CyclicLR(mode="exp_range")`` and Keras): only the
      amplitude shrinks and the floor stays at ``base_lr``:
      ``lr = base_lr + (max_lr - base_lr) * max(0, 1 - x) * g**it``.

    Example:
        >>> s = cyclr.ExpRange(0.1, 1.0, step_size=5, gamma=0.99)
        >>> round(s(100), 6), round(cyclr.ExpRange(0.1, 1.0, 5, 0.99, decay="amplitude")(100), 6)
        (0.036603, 0.1)
    """

    base_lr: float
    max_lr: float
    step_size: int
    gamma: float
    step_size_down: int | None = None
    decay: str = "bounds"

    def __post_init__(self) -> None:
        super().__post_init__()
        gamma = v.finite("gamma", self.gamma)
        if not 0 < gamma <= 1:
            raise ValueError(f"gamma must be in (0, 1], got {self.gamma!r}")
        object.__setattr__(self, "gamma", gamma)
        object.__setattr__(self, "decay", v.choice("decay", self.decay, ("bounds", "amplitude")))

    def _scale(self, t: Any, cycle: Any, xp: Any) -> Any:
        return xp.power(self.gamma, t) if self.decay == "amplitude" else 1.0

    def evaluate(self, t: Any, xp: Any) -> Any:
        if self.decay == "amplitude":
            return super().evaluate(t, xp)
        wave, _ = self._wave(t, xp)
        g = xp.power(self.gamma, t)
        low = self.base_lr * g
        high = self.max_lr * g
        return low + (high - low) * wave


@dataclass(frozen=True)
class CyclicMomentum(Schedule):
    """Momentum that cycles inversely to a cyclical LR schedule (Smith 2018, §4.3).

    ``momentum = max_momentum - (max_momentum - base_momentum) * max(0, 1 - x) * scale`` with the
    same wave and scale as ``schedule``. For ``ExpRange(decay="bounds")`` the scale is 1: momentum
    keeps cycling over its full range while the LR bounds decay.
    """

    schedule: _Cyclical
    base_momentum: float = 0.85
    max_momentum: float = 0.95

    def __post_init__(self) -> None:
        if not isinstance(self.schedule, _Cyclical):
            raise TypeError(
                f"schedule must be Triangular, Triangular2 or ExpRange, got {self.schedule!r}"
            )
        object.__setattr__(self, "_nesting", 2)
        lo = v.fraction("base_momentum", self.base_momentum, high_open=True)
        hi = v.fraction("max_momentum", self.max_momentum, high_open=True)
        v.ordered("base_momentum", lo, "max_momentum", hi)
        object.__setattr__(self, "base_momentum", lo)
        object.__setattr__(self, "max_momentum", hi)

    def evaluate(self, t: Any, xp: Any) -> Any:
        wave, cycle = self.schedule._wave(t, xp)
        scale = self.schedule._scale(t, cycle, xp)
        return self.max_momentum - (self.max_momentum - self.base_momentum) * wave * scale
