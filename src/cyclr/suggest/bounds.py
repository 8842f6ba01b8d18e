"""``Bounds``: the two CLR learning-rate bounds read from a range test, and where they came from.

A :class:`Bounds` is what :meth:`cyclr.RangeTestResult.suggest` returns. Besides ``base_lr`` and
``max_lr`` it records the rule that produced them, a human-readable reason, the curve the rule
read (for plots) and the labelled points on it. It turns into a schedule in one call:

- :meth:`Bounds.triangular` (Smith 2015, §3.2): ``step_size`` = 2–10 × iterations per epoch,
  4 × by default;
- :meth:`Bounds.one_cycle` (Smith 2018, §4.1): one cycle from ``base_lr`` up to ``max_lr`` and
  back, then annihilation.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from cyclr import _validate as v
from cyclr._json import check_keys
from cyclr.schedules.base import Schedule
from cyclr.schedules.cyclical import ExpRange, Triangular, Triangular2
from cyclr.schedules.one_cycle import OneCycle
from cyclr.schedules.policies import CYCLICAL
from cyclr.schedules.policies import policy as policy_of
from cyclr.suggest.reading import Point, Reading, _list, _number, json_number

__all__ = [
    "MIN_CYCLES",
    "ONE_CYCLE_DIV",
    "SINGLE_LR_DIVISOR",
    "STEP_EPOCHS",
    "STEP_EPOCHS_RANGE",
    "Bounds",
    "Point",
    "Reading",
    "json_number",
]

#: Default half-cycle length in epochs for :meth:`Bounds.triangular` (the paper: 2–10).
STEP_EPOCHS = 4
#: The paper's recommended range for ``step_size / iters_per_epoch`` (Smith 2015, §3.2).
STEP_EPOCHS_RANGE = (2.0, 10.0)

#: Smallest ``max_lr / start`` of :meth:`Bounds.one_cycle` (Smith 2018 runs 0.08 -> 0.8 -> 0.08).
ONE_CYCLE_DIV = 10.0

#: ``base_lr = max_lr / SINGLE_LR_DIVISOR`` when only ``max_lr`` is known (Smith 2015, §3.2).
SINGLE_LR_DIVISOR = 4.0

#: Fewest whole cycles :meth:`Bounds.schedule` fits into a CLR budget (Smith 2015, §3.2: >= 3).
MIN_CYCLES = 3
_FORMAT = "cyclr.Bounds/1"


@dataclass(frozen=True)
class Bounds:
    """Learning-rate bounds for a cyclical schedule, read from an LR range test.

    Attributes:
        base_lr: the lower bound (``<= max_lr``).
        max_lr: the upper bound.
        method: the rule that produced them (``"accuracy"``, ``"loss"``, ``"steepest"``, ...).
        reason: a short human-readable account of how they were read.
        curve: the name of the analysed curve (``"metric"``, ``"val_metric"``, ``"loss"``, ...).
        curve_lr, curve_values: the analysed (smoothed) curve, for plots; may be empty.
        points: labelled points on that curve (``"base_lr"``, ``"max_lr"``, ``"plateau centre"``,
            ...).
        details: the rule's settings and other numbers it computed (other rules' readings, ...),
            for people and JSON; code reads :attr:`reading`.
        reading: how a two-bound rule read its curve (:class:`Reading`); ``None`` for the
            single-LR rules (``base_lr = max_lr / 4``, Smith 2015, §3.2).

    Example:
        >>> b = cyclr.Bounds(base_lr=0.05, max_lr=0.2, method="manual", reason="by hand")
        >>> b.triangular(iters_per_epoch=40)
        Triangular(base_lr=0.05, max_lr=0.2, step_size=160, step_size_down=None)
        >>> b.one_cycle(total_steps=1000).div_factor
        10.0
    """

    base_lr: float
    max_lr: float
    method: str
    reason: str
    curve: str | None = None
    curve_lr: tuple[float, ...] = ()
    curve_values: tuple[float, ...] = ()
    points: tuple[Point, ...] = ()
    details: Mapping[str, Any] = field(default_factory=dict)
    reading: Reading | None = None

    def __post_init__(self) -> None:
        base = v.positive("base_lr", self.base_lr)
        peak = v.positive("max_lr", self.max_lr)
        v.ordered("base_lr", base, "max_lr", peak)
        object.__setattr__(self, "base_lr", base)
        object.__setattr__(self, "max_lr", peak)
        if not isinstance(self.method, str) or not self.method:
            raise TypeError(f"method must be a non-empty string, got {self.method!r}")
        if not isinstance(self.reason, str):
            raise TypeError(f"reason must be a string, got {self.reason!r}")
        lrs = tuple(float(x) for x in self.curve_lr)
        vals = tuple(float(x) for x in self.curve_values)
        if len(lrs) != len(vals):
            raise ValueError(f"curve_lr has {len(lrs)} entries but curve_values has {len(vals)}")
        object.__setattr__(self, "curve_lr", lrs)
        object.__setattr__(self, "curve_values", vals)
        pts = tuple(self.points)
        for p in pts:
            if not isinstance(p, Point):
                raise TypeError(f"points must hold cyclr.suggest.bounds.Point objects, got {p!r}")
        object.__setattr__(self, "points", pts)
        object.__setattr__(self, "details", dict(self.details))
        if self.reading is not None and not isinstance(self.reading, Reading):
            raise TypeError(
                f"reading must be a cyclr.suggest.Reading or None, got {self.reading!r}"
            )

    def __hash__(self) -> int:
        return hash((self.base_lr, self.max_lr, self.method, self.reason, self.curve))

    @property
    def ratio(self) -> float:
        """``max_lr / base_lr``."""
        return self.max_lr / self.base_lr

    def point(self, label: str) -> Point | None:
        """The labelled point ``label``, or ``None``."""
        for p in self.points:
            if p.label == label:
                return p
        return None

    # -- schedules --------------------------------------------------------------------------
    def triangular(
        self,
        step_size: int | None = None,
        iters_per_epoch: int | None = None,
        policy: str = "triangular",
        *,
        gamma: float | None = None,
        decay: str = "bounds",
    ) -> Triangular | Triangular2 | ExpRange:
        """A cyclical schedule between the bounds (Smith 2015, §3.1–3.2).

        ``step_size`` (the half cycle) defaults to ``4 * iters_per_epoch``; the paper recommends
        2–10 × the iterations per epoch, and a ``UserWarning`` says so when both are given and
        the ratio is outside that range. Train for at least 3 cycles (4+ is better) and stop at
        the end of a cycle.

        ``policy`` is ``"triangular"``, ``"triangular2"`` or ``"exp_range"``. For exp_range,
        ``gamma`` defaults to ``exp(-1 / (8 * step_size))``: the bounds shrink by a factor ``e``
        over four cycles, as the paper's CIFAR-10 setting does (gamma 0.99994 with step_size
        2000); ``decay`` is ``"bounds"`` (the paper) or ``"amplitude"`` (PyTorch/Keras).

        Example:
            >>> b = cyclr.Bounds(0.001, 0.006, method="manual", reason="paper, Fig. 3")
            >>> b.triangular(iters_per_epoch=500, policy="triangular2").step_size
            2000
            >>> round(b.triangular(step_size=2000, policy="exp_range").gamma, 5)
            0.99994
        """
        kind = policy_of(policy, CYCLICAL).schedule_type
        if iters_per_epoch is not None:
            iters_per_epoch = v.integer("iters_per_epoch", iters_per_epoch, minimum=1)
        if step_size is None:
            if iters_per_epoch is None:
                raise ValueError(
                    "give step_size or iters_per_epoch (step_size defaults to "
                    f"{STEP_EPOCHS} * iters_per_epoch, the paper recommends 2-10x)"
                )
            step_size = STEP_EPOCHS * iters_per_epoch
        step_size = v.integer("step_size", step_size, minimum=1)
        if iters_per_epoch is not None:
            ratio = step_size / iters_per_epoch
            lo, hi = STEP_EPOCHS_RANGE
            if not lo <= ratio <= hi:
                warnings.warn(
                    f"step_size={step_size} is {ratio:.3g} x iters_per_epoch={iters_per_epoch}; "
                    f"the CLR paper recommends {lo:g}-{hi:g} x (Smith 2015, section 3.2)",
                    UserWarning,
                    stacklevel=2,
                )
        if kind is Triangular2:
            return Triangular2(self.base_lr, self.max_lr, step_size)
        if kind is not ExpRange:
            return Triangular(self.base_lr, self.max_lr, step_size)
        if gamma is None:
            gamma = math.exp(-1.0 / (8 * step_size))
        return ExpRange(self.base_lr, self.max_lr, step_size, gamma, decay=decay)

    def one_cycle(
        self, total_steps: int, *, div_factor: float | None = None, **kwargs: Any
    ) -> OneCycle:
        """A 1cycle schedule (Smith 2018, §4.1) peaking at ``max_lr``.

        The cycle starts and ends at ``base_lr`` or at a tenth of ``max_lr``, whichever is lower:
        ``div_factor`` defaults to ``max(max_lr / base_lr, 10)`` (``docs/suggest.md`` says why).
        Other keyword arguments go to :class:`cyclr.OneCycle` (``final_div_factor``,
        ``pct_annihilate``, ``anneal``, ...); ``.momentum()`` gives its momentum cycle.

        Example:
            >>> s = cyclr.Bounds(0.05, 0.2, method="manual", reason="").one_cycle(1001)
            >>> round(s(0), 6), round(s(450), 6), round(s(900), 6)
            (0.02, 0.2, 0.02)
            >>> cyclr.Bounds(0.001, 0.2, method="manual", reason="").one_cycle(1001).div_factor
            200.0
        """
        if div_factor is None:
            div_factor = max(self.max_lr / self.base_lr, ONE_CYCLE_DIV)
        return OneCycle(self.max_lr, total_steps, div_factor=div_factor, **kwargs)

    def schedule(
        self,
        policy: str = "one_cycle",
        total_steps: int | None = None,
        iters_per_epoch: int | None = None,
        step_size: int | None = None,
    ) -> Schedule:
        """The schedule of ``policy`` between these bounds, sized to a training budget.

        - ``"one_cycle"``: :meth:`one_cycle` over ``total_steps``;
        - a CLR policy (``"triangular"``, ``"triangular2"``, ``"exp_range"``):
          :meth:`triangular`. Without ``step_size``, the half cycle is the whole number of
          cycles (at least 3) whose half cycle is nearest to :data:`STEP_EPOCHS` epochs, so
          training stops at the end of a cycle (Smith 2015, §3.2); without ``total_steps``,
          :data:`STEP_EPOCHS` epochs.

        Example:
            >>> b = cyclr.Bounds(0.05, 0.2, method="manual", reason="")
            >>> b.schedule("triangular", total_steps=2400, iters_per_epoch=40).step_size
            150
            >>> type(b.schedule("one_cycle", total_steps=1000)).__name__
            'OneCycle'
        """
        name = policy_of(policy, ("one_cycle", *CYCLICAL)).name
        if total_steps is not None:
            total_steps = v.integer("total_steps", total_steps, minimum=2)
        if name == "one_cycle":
            if total_steps is None:
                raise ValueError("policy='one_cycle' needs total_steps")
            return self.one_cycle(total_steps)
        if step_size is None:
            if iters_per_epoch is None:
                raise ValueError(f"policy={name!r} needs step_size or iters_per_epoch")
            ipe = v.integer("iters_per_epoch", iters_per_epoch, minimum=1)
            if total_steps is None:
                step_size = STEP_EPOCHS * ipe
            else:
                cycles = max(MIN_CYCLES, round(total_steps / (2 * STEP_EPOCHS * ipe)))
                step_size = max(1, total_steps // (2 * cycles))
        return self.triangular(step_size, iters_per_epoch, name)

    # -- JSON -------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Plain JSON data; :meth:`from_dict` rebuilds an equal ``Bounds``."""
        return {
            "format": _FORMAT,
            "base_lr": self.base_lr,
            "max_lr": self.max_lr,
            "method": self.method,
            "reason": self.reason,
            "curve": self.curve,
            "curve_lr": list(self.curve_lr),
            "curve_values": [json_number(x) for x in self.curve_values],
            "points": [p.to_dict() for p in self.points],
            "details": _plain(self.details),
            "reading": None if self.reading is None else self.reading.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Bounds:
        """Inverse of :meth:`to_dict`.

        ``base_lr``, ``max_lr`` and ``method`` are required; a missing one, or a field of the
        wrong type, raises ``ValueError`` naming it.

        Example:
            >>> b = cyclr.Bounds(0.01, 0.04, method="manual", reason="x")
            >>> cyclr.Bounds.from_dict(b.to_dict()) == b
            True
            >>> cyclr.Bounds.from_dict({"format": "cyclr.Bounds/1", "base_lr": 0.01})
            Traceback (most recent call last):
            ...
            ValueError: Bounds data is missing keys: max_lr, method
        """
        known = [f.name for f in fields(cls)]
        required = ("base_lr", "max_lr", "method")
        check_keys(data, _FORMAT, "Bounds", known, required, name="Bounds data", any_mapping=True)
        name = "Bounds data: "
        for key in ("method", "reason"):
            if not isinstance(data.get(key, ""), str):
                raise ValueError(f"{name}{key} must be a string, got {data[key]!r}")
        curve = data.get("curve")
        if curve is not None and not isinstance(curve, str):
            raise ValueError(f"{name}curve must be a string or null, got {curve!r}")
        details = data.get("details", {})
        if not isinstance(details, Mapping):
            raise ValueError(f"{name}details must be a dict, got {details!r}")
        curve_lr = _list(f"{name}curve_lr", data.get("curve_lr", ()))
        curve_values = _list(f"{name}curve_values", data.get("curve_values", ()))
        points = _list(f"{name}points", data.get("points", ()))
        reading = data.get("reading")
        return cls(
            base_lr=_number(f"{name}base_lr", data["base_lr"]),
            max_lr=_number(f"{name}max_lr", data["max_lr"]),
            method=data["method"],
            reason=data.get("reason", ""),
            curve=curve,
            curve_lr=tuple(_number(f"{name}curve_lr[{i}]", x) for i, x in enumerate(curve_lr)),
            curve_values=tuple(
                _number(f"{name}curve_values[{i}]", x, null=True)
                for i, x in enumerate(curve_values)
            ),
            points=tuple(
                Point.from_dict(p, name=f"{name}points[{i}]") for i, p in enumerate(points)
            ),
            details=dict(details),
            reading=None if reading is None else Reading.from_dict(reading, name=f"{name}reading"),
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Bounds):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    def __repr__(self) -> str:
        return (
            f"Bounds(base_lr={self.base_lr:.4g}, max_lr={self.max_lr:.4g}, "
            f"method={self.method!r}, reason={self.reason!r})"
        )


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _plain(x) for k, x in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(x) for x in value]
    if isinstance(value, bool) or value is None or isinstance(value, (str, int)):
        return value
    try:
        f = float(value)
    except (TypeError, ValueError):
        return str(value)
    return f if math.isfinite(f) else None
