"""What one seed of the demo ran: the range test and one :class:`PolicyRun` per policy (the
online 1cycle with its :class:`OnlineReading`), in a :class:`SeedRun`."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from cyclr.range_test.result import RangeTestResult
from cyclr.schedules.base import Schedule
from cyclr.schedules.compose import Constant
from cyclr.schedules.one_cycle import OneCycle, Piecewise
from cyclr.suggest.bounds import Bounds

__all__ = [
    "OnlineReading",
    "PolicyRun",
    "SeedRun",
    "one_line",
    "ramp_span",
    "recorded_schedule",
]


@dataclass
class OnlineReading:
    """How a run read its bounds from its own warm-up (:class:`cyclr.torch.OnlineScheduler`).

    Attributes:
        bounds: the bounds read (``None`` if the run ended before a reading).
        decided_at: the update at which they were read.
        warmup: the warm-up's curve, as the range test it stands for.
        log: what the schedule decided, and every blow-up it handled.
    """

    bounds: Bounds | None
    decided_at: int | None
    warmup: RangeTestResult
    log: list[str] = field(default_factory=list)

    @property
    def lr_peak(self) -> float:
        """The highest LR the warm-up reached (before it dropped to ``max_lr``)."""
        return float(np.max(self.warmup.lr)) if len(self.warmup) else math.nan

    @property
    def blow_ups(self) -> list[str]:
        """The blow-ups the schedule handled (from :attr:`log`)."""
        return [x for x in self.log if "blew up" in x]

    def line(self) -> str:
        """One line: the bounds read, when and why, and any blow-up handled."""
        b = self.bounds
        if b is None:
            text = "the run ended before its warm-up was read"
        else:
            text = (
                f"max_lr {b.max_lr:.3g} read online at update {self.decided_at} "
                f"(the warm-up's LR up to {self.lr_peak:.3g}). {one_line(b.reason)}"
            )
        back = [x.split("; the weights go back", 1)[1] for x in self.log if "weights go back" in x]
        if back:
            text += f". The weights go back{back[0]}"
        if self.blow_ups:
            text += f". Blow-ups handled: {'; '.join(self.blow_ups)}"
        return text

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON data."""
        b, w = self.bounds, self.warmup
        return {
            "base_lr": None if b is None else b.base_lr,
            "max_lr": None if b is None else b.max_lr,
            "method": None if b is None else b.method,
            "decided_at": self.decided_at,
            "reason": None if b is None else b.reason,
            "log": list(self.log),
            "warmup": {
                "mode": w.mode,
                "start_lr": w.config.get("start_lr"),
                "end_lr": w.config.get("end_lr"),
                "warmup_steps": w.config.get("num_iter"),
                "iterations": len(w),
                "lr_peak": _round(self.lr_peak),
            },
        }


def recorded_schedule(values: Sequence[float]) -> Piecewise:
    """The values applied at updates ``0, 1, ..., len(values) - 1`` as a schedule that gives
    each of them back at its update (held after the last).

    Knots inside a straight stretch are left out (the descent of a 1cycle is two knots), but
    only when every recorded value is still given back to 1e-12 of the largest one.

    Example:
        >>> s = recorded_schedule([0.1, 0.2, 0.4, 0.3, 0.2, 0.1])
        >>> s.knots, s(4), s(9)
        ((0.0, 1.0, 2.0, 5.0), 0.2, 0.1)
    """
    y = np.asarray(values, dtype=np.float64)
    if y.ndim != 1 or len(y) == 0 or not np.isfinite(y).all():
        raise ValueError("values must be a non-empty sequence of finite numbers")
    if len(y) == 1:
        y = np.concatenate([y, y])
    t = np.arange(len(y), dtype=np.float64)
    tol = 1e-12 * max(float(np.abs(y).max()), 1e-300)
    bend = np.abs(y[2:] - 2 * y[1:-1] + y[:-2]) > tol  # 0 on a straight stretch
    keep = np.concatenate([[True], bend, [True]])
    short = Piecewise(knots=tuple(t[keep]), values=tuple(y[keep]))
    if np.abs(short(t.astype(np.int64)) - y).max() <= tol:
        return short
    return Piecewise(knots=tuple(t), values=tuple(y))  # pragma: no cover - every knot kept


@dataclass
class PolicyRun:
    """One training run of the demo (one policy, one seed)."""

    key: str
    label: str
    schedule: Schedule
    momentum: Schedule
    iterations: int
    uses_range_test: bool
    iters: list[int] = field(default_factory=list)
    test_acc: list[float] = field(default_factory=list)
    final_acc: float = math.nan
    diverged: bool = False
    wall_s: float = 0.0
    online: OnlineReading | None = None

    @property
    def lr_text(self) -> str:
        """The LR or LR range, e.g. ``"0.05"`` or ``"0.0811–0.191"``; for a run that read its
        bounds online, the ``max_lr`` it read, e.g. ``"max_lr 0.221"``."""
        if self.online is not None:
            b = self.online.bounds
            return "not read" if b is None else f"max_lr {b.max_lr:.3g}"
        return _lr_text(self.schedule)

    def iters_to_reach(self, target: float) -> int | None:
        """First evaluated iteration whose test accuracy is >= ``target`` (None if never)."""
        for it, acc in zip(self.iters, self.test_acc):
            if acc >= target:
                return it
        return None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON data."""
        return {
            "key": self.key,
            "label": self.label,
            "lr": self.lr_text,
            "schedule": self.schedule.to_dict(),
            "momentum": self.momentum.to_dict(),
            "iterations": self.iterations,
            "uses_range_test": self.uses_range_test,
            "online": None if self.online is None else self.online.to_dict(),
            "final_acc": _round(self.final_acc),
            "best_acc": _round(max(self.test_acc)) if self.test_acc else None,
            "diverged": self.diverged,
            "wall_s": round(self.wall_s, 3),
            "curve": {"iters": list(self.iters), "test_acc": [_round(a) for a in self.test_acc]},
        }


def _lr_text(s: Any) -> str:
    if isinstance(s, Constant):
        return f"{s.value:.3g}"
    lo, hi = _lr_range(s)
    return f"{lo:.3g}–{hi:.3g}"


def _lr_range(s: Any) -> tuple[float, float]:
    """The lowest and highest LR of a CLR schedule, or a 1cycle's first LR and ``max_lr``."""
    return (s(0) if isinstance(s, OneCycle) else s.base_lr), s.max_lr


def _round(x: float) -> float | None:
    return round(float(x), 6) if math.isfinite(x) else None


@dataclass
class SeedRun:
    """Everything one seed ran: the range test, its bounds and the four policies."""

    seed: int
    range_tests: list[RangeTestResult]
    bounds: Bounds
    range_test_wall_s: float
    runs: list[PolicyRun]
    n_train: int = 0
    n_test: int = 0

    @property
    def range_test(self) -> RangeTestResult:
        """The (linear) range test the bounds were read from."""
        return self.range_tests[-1]

    @property
    def range_test_iters(self) -> int:
        """Updates of all range-test ramps (a ramp stops early when the loss diverges)."""
        return sum(len(r) for r in self.range_tests)

    @property
    def range_test_users(self) -> list[str]:
        """The policies that use the range test's bounds (and are charged its updates)."""
        return [r.key for r in self.runs if r.uses_range_test]

    def run(self, key: str) -> PolicyRun:
        """The run of policy ``key``."""
        return next(r for r in self.runs if r.key == key)

    def cost_to_reach(self, key: str, target: float) -> int | None:
        """Iterations policy ``key`` needs to reach ``target``, its range test included."""
        r = self.run(key)
        reach = r.iters_to_reach(target)
        if reach is None:
            return None
        return reach + (self.range_test_iters if r.uses_range_test else 0)

    def choice_line(self) -> str:
        """One line: which bounds this seed's range test chose, and why; and a second one for
        a run that read its bounds online."""
        b = self.bounds
        ramps = ", ".join(f"{r.mode} {ramp_span(r)} ({len(r)} it)" for r in self.range_tests)
        line = (
            f"Seed {self.seed}: range test ({ramps}): base_lr {b.base_lr:.3g}, max_lr "
            f"{b.max_lr:.3g} ({b.method} rule). {one_line(b.reason)}"
        )
        for r in self.runs:
            if r.online is not None:
                line += f"\nSeed {self.seed}: {r.label}: {r.online.line()}"
        return line

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON data."""
        return {
            "seed": self.seed,
            "range_test": {
                "iterations": self.range_test_iters,
                "ramps": [
                    {
                        "mode": r.mode,
                        "start_lr": r.config.get("start_lr"),
                        "end_lr": r.config.get("end_lr"),
                        "iterations": len(r),
                        "stop_reason": r.stop_reason,
                    }
                    for r in self.range_tests
                ],
                "wall_s": round(self.range_test_wall_s, 3),
                "used_by": self.range_test_users,
                "bounds": {
                    "base_lr": self.bounds.base_lr,
                    "max_lr": self.bounds.max_lr,
                    "method": self.bounds.method,
                    "reason": self.bounds.reason,
                },
            },
            "runs": [r.to_dict() for r in self.runs],
        }


def ramp_span(r: RangeTestResult) -> str:
    """The planned LR ramp of a range test, ``"start→end"``."""
    start = r.config.get("start_lr", r.lr[0] if len(r) else math.nan)
    end = r.config.get("end_lr", r.lr[-1] if len(r) else math.nan)
    return f"{start:.2g}→{end:.2g}"


def one_line(text: str) -> str:
    """``text`` with its whitespace collapsed to single spaces."""
    return " ".join(text.split())
