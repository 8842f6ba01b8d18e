"""Building blocks: a constant schedule and chaining schedules one after another.

``Chain`` runs each part in its own local time, so the CLR paper's staged CIFAR-10 run (§4.1.1,
triangular2 at 0.001–0.005, then 0.0001–0.0005, then 0.00001–0.00005) is::

    Chain(
        parts=(Triangular2(1e-3, 5e-3, 2000), Triangular2(1e-4, 5e-4, 2000),
               Triangular2(1e-5, 5e-5, 2000)),
        lengths=(16000, 16000),
    )
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cyclr import _validate as v
from cyclr.schedules.base import MAX_NESTING, Schedule, nesting

__all__ = ["Constant", "Chain"]


@dataclass(frozen=True)
class Constant(Schedule):
    """A fixed value at every step.

    Example:
        >>> cyclr.Constant(0.05)(123)
        0.05
    """

    value: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "value", v.learning_rate("value", self.value))

    def evaluate(self, t: Any, xp: Any) -> Any:
        return xp.full_like(t, self.value)

    def momentum(self, base_momentum: float = 0.85, max_momentum: float = 0.95) -> Constant:
        """A constant LR has no cycle to mirror: momentum stays at ``max_momentum``."""
        v.ordered("base_momentum", base_momentum, "max_momentum", max_momentum)
        return Constant(v.fraction("max_momentum", max_momentum, high_open=True))


@dataclass(frozen=True)
class Chain(Schedule):
    """Runs ``parts[0]`` for ``lengths[0]`` steps, then ``parts[1]`` from its own step 0, and so
    on; the last part runs for ever. ``len(lengths) == len(parts) - 1``.

    Chains may hold chains, at most :data:`cyclr.schedules.base.MAX_NESTING` schedules deep.

    Example:
        >>> s = cyclr.Chain((cyclr.Constant(0.1), cyclr.Constant(0.01)), lengths=(100,))
        >>> s(99), s(100)
        (0.1, 0.01)
    """

    parts: tuple[Schedule, ...]
    lengths: tuple[int, ...]

    def __post_init__(self) -> None:
        parts = tuple(self.parts)
        lengths = tuple(self.lengths)
        if not parts:
            raise ValueError("parts must hold at least one schedule, got ()")
        for i, p in enumerate(parts):
            if not isinstance(p, Schedule):
                raise TypeError(f"parts[{i}] must be a Schedule, got {p!r}")
        if len(lengths) != len(parts) - 1:
            raise ValueError(
                f"lengths must have len(parts) - 1 = {len(parts) - 1} entries, got {lengths!r}"
            )
        lengths = tuple(v.integer(f"lengths[{i}]", n, minimum=1) for i, n in enumerate(lengths))
        depth = 1 + max(nesting(p) for p in parts)
        if depth > MAX_NESTING:
            raise ValueError(
                f"parts: this Chain would be nested more than {MAX_NESTING} schedules deep "
                f"(cyclr.schedules.base.MAX_NESTING); put the parts of the inner Chains "
                f"into one Chain instead"
            )
        object.__setattr__(self, "_nesting", depth)
        object.__setattr__(self, "parts", parts)
        object.__setattr__(self, "lengths", lengths)

    def evaluate(self, t: Any, xp: Any) -> Any:
        out, start = self.parts[0].evaluate(t, xp), 0
        for n, part in zip(self.lengths, self.parts[1:]):
            start += n
            out = xp.where(t >= start, part.evaluate(xp.maximum(t - start, 0.0), xp), out)
        return out

    def momentum(self, base_momentum: float = 0.85, max_momentum: float = 0.95) -> Chain:
        """Chains the momentum companions of the parts."""
        return Chain(
            tuple(p.momentum(base_momentum, max_momentum) for p in self.parts), self.lengths
        )
