"""Argument checks shared by every range-test loop: the same mistake gets the same message.

The options every adapter takes (Smith 2015, §3.3): the ramp ``start_lr → end_lr`` over
``num_iter`` updates in ``mode`` (see :mod:`cyclr.range_test.ramp`), the EMA factor ``smooth``
and the divergence multiple ``diverge`` (see :mod:`cyclr.range_test.smoothing`), ``val_every``,
``seed`` and the type of ``metric``. Errors are ``TypeError``/``ValueError`` naming the argument
and the value, raised before anything is changed.

Example:
    >>> from cyclr.range_test.checks import check_options
    >>> o = check_options(start_lr=None, end_lr=1.0, num_iter=50, mode="exp", smooth=0.98,
    ...                   diverge=4.0, val_every=10, seed=0, metric="auto")
    >>> o.start_lr, o.end_lr, o.lr(49)
    (1e-07, 1.0, 1.0)
    >>> o.to_dict(validates=False)["val_every"] is None
    True
    >>> check_options(start_lr=0.1, end_lr=0.01, num_iter=50, mode="exp", smooth=0.98,
    ...               diverge=4.0, val_every=10, seed=0, metric="auto")
    Traceback (most recent call last):
    ...
    ValueError: start_lr (0.1) must be < end_lr (0.01)
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from cyclr import _validate as check
from cyclr.range_test.ramp import DEFAULT_RANGE, MIN_ITER, MODES, ramp_lr

__all__ = [
    "SEED_LIMIT",
    "RangeTestOptions",
    "check_diverge",
    "check_loader",
    "check_reiterable",
    "check_metric",
    "check_options",
    "check_seed",
    "group_lr_ratios",
]

#: Seeds must be below this (numpy's legacy seeding takes 32-bit seeds).
SEED_LIMIT = 2**32


@dataclass(frozen=True)
class RangeTestOptions:
    """The checked options every range-test loop shares, defaults resolved."""

    start_lr: float
    end_lr: float
    num_iter: int
    mode: str
    smooth: float
    diverge: float | None
    val_every: int
    seed: int | None

    def lr(self, i: int) -> float:
        """The ramp's LR at update ``i``: :func:`cyclr.range_test.ramp.ramp_lr`."""
        return ramp_lr(i, self.start_lr, self.end_lr, self.num_iter, self.mode)

    def validates_after(self, i: int) -> bool:
        """Whether the held-out data is scored after update ``i``: after updates
        ``0, val_every, 2*val_every, …`` (``i % val_every == 0``), the same in every loop.

        Example:
            >>> o = check_options(start_lr=None, end_lr=None, num_iter=25, mode="exp",
            ...                   smooth=0.98, diverge=4.0, val_every=10, seed=None, metric=None)
            >>> [i for i in range(o.num_iter) if o.validates_after(i)]
            [0, 10, 20]
        """
        return i % self.val_every == 0

    def to_dict(self, *, validates: bool) -> dict[str, Any]:
        """The options as plain JSON data, for a result's ``config``; ``val_every`` is ``None``
        when the test scores no held-out data (``validates=False``)."""
        return {
            "start_lr": self.start_lr,
            "end_lr": self.end_lr,
            "num_iter": self.num_iter,
            "mode": self.mode,
            "smooth": self.smooth,
            "diverge": self.diverge,
            "val_every": self.val_every if validates else None,
            "seed": self.seed,
        }


def check_options(
    *,
    start_lr: Any,
    end_lr: Any,
    num_iter: Any,
    mode: Any,
    smooth: Any,
    diverge: Any,
    val_every: Any,
    seed: Any,
    metric: Any,
) -> RangeTestOptions:
    """Check the shared options of one test; ``start_lr``/``end_lr`` given as ``None`` are
    ``mode``'s :data:`~cyclr.range_test.ramp.DEFAULT_RANGE`.

    ``0 < start_lr < end_lr`` (finite), ``num_iter >= MIN_ITER``, ``mode`` in ``MODES``,
    ``0 <= smooth < 1``, ``diverge > 1`` or ``None``, ``val_every >= 1``, ``seed`` in
    ``[0, 2**32)`` or ``None``, ``metric`` a str, a callable or ``None`` (the adapter checks
    which names it knows).
    """
    mode = check.choice("mode", mode, MODES)
    lo, hi = DEFAULT_RANGE[mode]
    start = lo if start_lr is None else check.positive("start_lr", start_lr)
    end = hi if end_lr is None else check.positive("end_lr", end_lr)
    if start >= end:
        raise ValueError(f"start_lr ({start!r}) must be < end_lr ({end!r})")
    n = check.integer("num_iter", num_iter, minimum=MIN_ITER)
    beta = check.fraction("smooth", smooth, high_open=True)
    every = check.integer("val_every", val_every, minimum=1)
    check_metric(metric)
    return RangeTestOptions(
        start, end, n, mode, beta, check_diverge(diverge), every, check_seed(seed)
    )


def check_diverge(diverge: Any) -> float | None:
    """``None`` or a finite multiple ``> 1`` of the best smoothed loss."""
    if diverge is None:
        return None
    value = check.finite("diverge", diverge)
    if value <= 1:
        raise ValueError(f"diverge must be > 1 (a multiple of the best loss), got {diverge!r}")
    return value


def check_seed(seed: Any) -> int | None:
    """``None`` or an integer in ``[0, SEED_LIMIT)``."""
    if seed is None:
        return None
    value = check.integer("seed", seed, minimum=0)
    if value >= SEED_LIMIT:
        raise ValueError(f"seed must be < 2**32, got {seed!r}")
    return value


def check_metric(metric: Any) -> None:
    """The metric's type: a name (str), a callable or ``None``."""
    if metric is not None and not isinstance(metric, str) and not callable(metric):
        raise TypeError(
            f"metric must be a str, a callable or None, got {metric!r} ({type(metric).__name__})"
        )


def check_loader(name: str, loader: Any, *, optional: bool) -> None:
    """An iterable of batches (``None`` when ``optional``); one with ``len() == 0`` is empty."""
    if loader is None and optional:
        return
    if not hasattr(loader, "__iter__"):
        raise TypeError(f"{name} must be an iterable of batches, got {loader!r}")
    try:
        n = len(loader)
    except TypeError:
        return
    if n == 0:
        raise ValueError(f"{name} is empty (len({name}) == 0)")


def check_reiterable(name: str, loader: Any) -> None:
    """Refuse a one-shot iterator (an object whose ``iter()`` is itself, e.g. a generator):
    a caller that runs more than one test would see its second test read what the first left.

    Example:
        >>> check_reiterable("train_loader", [1, 2])
        >>> check_reiterable("train_loader", (b for b in [1, 2]))
        Traceback (most recent call last):
        ...
        TypeError: train_loader is a one-shot iterator (generator): it runs dry after one pass, \
and this runs more than one test on it; pass a re-iterable loader (a list of batches or a \
torch DataLoader)
    """
    if loader is None or not hasattr(type(loader), "__next__"):
        return
    try:
        one_shot = iter(loader) is loader
    except TypeError:
        return
    if one_shot:
        raise TypeError(
            f"{name} is a one-shot iterator ({type(loader).__name__}): it runs dry after one "
            "pass, and this runs more than one test on it; pass a re-iterable loader (a list "
            "of batches or a torch DataLoader)"
        )


def group_lr_ratios(lrs: Iterable[Any]) -> list[float]:
    """Each param group's LR over the reference LR: that of the first group whose LR is
    finite and > 0. A group with LR 0 keeps ratio 0 (it stays frozen); one whose LR is not a
    finite number >= 0 gets ratio 1; when no group has a positive LR, every group gets 1
    (each follows the ramp).

    Every range test ramps the reference group's LR and sets the others to ``ratio * lr``;
    the schedulers built from its bounds keep the same ratios.

    Example:
        >>> group_lr_ratios([0.0, 0.2, 0.05])
        [0.0, 1.0, 0.25]
        >>> group_lr_ratios([0.0, 0.0])
        [1.0, 1.0]
    """
    values: Sequence[float] = [_as_float(lr) for lr in lrs]
    base = next((lr for lr in values if math.isfinite(lr) and lr > 0), None)
    if base is None:
        return [1.0] * len(values)
    return [lr / base if math.isfinite(lr) and lr >= 0 else 1.0 for lr in values]


def _as_float(value: Any) -> float:
    """``float(value)`` for a number (or a one-element tensor or array), else NaN."""
    if isinstance(value, (str, bytes)) or not hasattr(value, "__float__"):
        return math.nan
    try:
        return float(value)
    except (TypeError, ValueError, RuntimeError):
        return math.nan
