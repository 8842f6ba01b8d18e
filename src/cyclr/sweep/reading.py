"""Reading a sweep: which value of a hyper-parameter keeps the loss low to the largest LR.

Per value, on its curve (lower is better; a metric's sign is flipped), Smith 2018, §4.2-§4.4:

- the usable part ends where the curve blows up (as a range test's, ``docs/suggest.md``);
- ``fit`` is the local-linear smooth over ``h = max(2, n * bandwidth)`` steps, with local
  noise ``sigma_i`` from the residuals and standard error ``se_i = sigma_i * ||kernel_i||``;
- the floor is ``min(fit)``, the stable LR the end of the stretch within
  ``z * sqrt(2) * se_floor`` of it.

The choice has the largest stable LR among the values whose floor is within
``max(z * se, depth_tol * drop)`` of the lowest; it is clear when it beats every other value by
more than ``z`` combined standard errors. ``docs/sweep.md`` explains each step.

Example:
    >>> lr = np.geomspace(1e-4, 10, 120)
    >>> def curve(m):  # momentum m: the effective step is lr / (1 - m)
    ...     x = np.log10(lr / (1 - m))
    ...     return 2.3 - 2 / (1 + np.exp(-3 * (x + 1))) + np.exp(2.5 * (x - 1))
    >>> runs = [cyclr.RangeTestResult(lr=lr, loss=curve(m), smoothed_loss=curve(m), mode="exp")
    ...         for m in (0.99, 0.9)]
    >>> s = cyclr.SweepResult("momentum", (0.99, 0.9), runs).suggest()
    >>> s.value, s.clear
    (0.9, True)
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np
from numpy.typing import NDArray

from cyclr import _validate as v
from cyclr.range_test.result import RangeTestResult
from cyclr.suggest import Bounds, SuggestionError
from cyclr.suggest import curve_stats as cs
from cyclr.suggest.bounds import json_number

__all__ = [
    "CURVES",
    "DEPTH_TOL",
    "Z",
    "CurveReading",
    "Sweep",
    "SweepSuggestion",
    "curve_data",
    "suggest_sweep",
]

#: Curves :meth:`SweepResult.suggest` can compare (``"auto"`` picks one).
CURVES = ("auto", "loss", "val_loss", "metric", "val_metric")
#: Default ``z``: standard errors that separate two smoothed values.
Z = 3.0
#: Default ``depth_tol``: floors this fraction of the loss's drop apart count as equally low.
DEPTH_TOL = 0.05


@dataclass(frozen=True)
class CurveReading:
    """How :func:`suggest_sweep` read one value's curve (steps 1-3 of ``docs/sweep.md``).

    ``lr``/``fit``/``se`` cover the usable part; ``fit`` and ``floor`` are in the curve's own
    units (a metric stays higher-is-better); ``noise`` is the local noise level at the floor.
    ``ok`` is False when the curve could not be read; ``note`` says why, or how it ended.
    ``blew_up``: the curve ended by diverging.
    """

    value: Any
    ok: bool
    note: str
    blew_up: bool
    lr: tuple[float, ...] = ()
    fit: tuple[float, ...] = ()
    se: tuple[float, ...] = ()
    noise: float = math.nan
    start: float = math.nan
    floor: float = math.nan
    floor_lr: float = math.nan
    stable_lr: float = math.nan
    stable_index: int = -1

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON data (the curve itself is left out)."""
        numbers = ("noise", "start", "floor", "floor_lr", "stable_lr")
        d = {k: getattr(self, k) for k in ("value", "ok", "note", "blew_up")}
        return d | {k: json_number(getattr(self, k)) for k in numbers}


def curve_data(result: RangeTestResult, curve: str) -> tuple[NDArray[np.float64], NDArray[Any]]:
    """``(lr, values)`` of ``curve`` (``"loss"``, ``"val_loss"``, ``"metric"``, ``"val_metric"``).

    A validation curve is returned at the LRs of its validation steps. Raises ``ValueError``
    when the range test recorded no such curve.

    Example:
        >>> r = cyclr.RangeTestResult(lr=[0.1, 0.2, 0.3], loss=[2.0, 1.5, 1.8],
        ...                           smoothed_loss=[2.0, 1.7, 1.7], mode="linear",
        ...                           val_step=[0, 2], val_loss=[2.1, 1.9])
        >>> [a.tolist() for a in curve_data(r, "val_loss")]
        [[0.1, 0.3], [2.1, 1.9]]
    """
    lr = np.asarray(result.lr, dtype=np.float64)
    if curve == "loss":
        return lr, np.asarray(result.loss, dtype=np.float64)
    if curve == "metric":
        if result.metric is None:
            raise ValueError("curve='metric' but a range test recorded no metric")
        return lr, np.asarray(result.metric, dtype=np.float64)
    arr = result.val_loss if curve == "val_loss" else result.val_metric
    if result.val_step is None or arr is None:
        raise ValueError(f"curve={curve!r} but a range test recorded no {curve.replace('_', ' ')}")
    steps = np.asarray(result.val_step, dtype=np.int64)
    ok = (steps >= 0) & (steps < len(lr))
    return lr[steps[ok]], np.asarray(arr, dtype=np.float64)[ok]


def _read(
    value: Any, result: RangeTestResult, curve: str, bandwidth: float, z: float
) -> CurveReading:
    """Read one value's curve: its usable part, smooth, local noise, floor and stable LR."""
    lr, y = curve_data(result, curve)
    sign = -1.0 if curve in ("metric", "val_metric") else 1.0
    b = sign * y  # lower is better
    n = len(b)
    diverged = result.stop_reason in ("diverged", "non_finite_loss")
    end = cs.leading_run(np.isfinite(b) & np.isfinite(lr) & (lr > 0))
    blew_up = diverged or end < n
    if end < cs.MIN_POINTS:
        why = "it diverged at once" if blew_up else f"it has only {n} points"
        return CurveReading(value, False, f"{why} ({end} usable, {cs.MIN_POINTS} needed)", blew_up)
    h = cs.kernel_width(n, bandwidth)
    k0 = min(max(3, int(2 * h)), max(3, end // 4))
    start = float(np.median(b[:k0]))
    # A validation curve is compared point by point: one point above the start level means the
    # network broke down; the training loss through a running median, against batch noise.
    cut = cs.blow_up(b[:end], start, 0 if curve.startswith("val") else max(1, round(h)), k0)
    note = "ran to the end of the sweep"
    if cut is not None:
        end, blew_up = cut, True
        note = f"blew up from lr={lr[end]:.3g}"
    elif end < n:
        note = f"became non-finite at lr={lr[end]:.3g}"
    elif diverged:
        note = f"diverged at lr={lr[end - 1]:.3g}"
    if end < cs.MIN_POINTS:
        return CurveReading(value, False, f"it blew up at once (lr={lr[end]:.3g})", True)
    x = np.arange(end, dtype=np.float64)
    fit, norm = cs.local_linear(x, b[:end], h)
    sigma = cs.residual_noise(b[:end], fit, norm, window=max(10, round(6 * h)))
    se = sigma * norm
    k = int(np.argmin(fit))
    within = fit <= fit[k] + z * math.sqrt(2) * se[k]
    right = k
    while right + 1 < end and within[right + 1]:
        right += 1
    return CurveReading(
        value,
        True,
        note,
        blew_up,
        tuple(lr[:end].tolist()),
        tuple((sign * fit).tolist()),
        tuple(se.tolist()),
        float(sigma[k]),
        sign * start,
        sign * float(fit[k]),
        float(lr[k]),
        float(lr[right]),
        right,
    )


@runtime_checkable
class Sweep(Protocol):
    """What :func:`suggest_sweep` reads: one range test per value of ``param`` (the fields of
    :class:`cyclr.SweepResult`; ``label`` names the values in messages)."""

    @property
    def param(self) -> str: ...
    @property
    def label(self) -> str: ...
    @property
    def results(self) -> Sequence[RangeTestResult]: ...
    def items(self) -> Iterator[tuple[Any, RangeTestResult]]: ...
    def result_for(self, value: float) -> RangeTestResult: ...


# -- the choice ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SweepSuggestion:
    """Which value of a swept hyper-parameter to use, its LR bounds, and why.

    Attributes:
        param: the swept hyper-parameter.
        value: the chosen value, or ``None`` when there is no clear winner.
        leader: the value the rule ranks first (``== value`` when the choice is clear).
        clear: False when the leader does not clearly beat every other value
            (step 5 of ``docs/sweep.md``).
        bounds: the LR bounds read off the leader's range test (``None`` if they cannot be).
        reason: a short account of the choice.
        curve: the curve compared (``"loss"``, ``"val_loss"``, ``"metric"``, ``"val_metric"``).
        readings: how each value's curve was read, in the sweep's order.
        overlaps: the values the leader does not clearly beat.
        next_values: for weight decay, the next value to try: the exponent of the best two
            bisected (Smith 2018, §4.4); empty otherwise.
        details: the rule's settings (``z``, ``depth_tol``, ``bandwidth``, ``method``).
    """

    param: str
    value: Any
    leader: Any
    clear: bool
    bounds: Bounds | None
    reason: str
    curve: str
    readings: tuple[CurveReading, ...]
    overlaps: tuple[Any, ...] = ()
    next_values: tuple[float, ...] = ()
    details: dict[str, Any] = field(default_factory=dict)

    def reading(self, value: Any) -> CurveReading:
        """The reading of ``value``'s curve."""
        for r in self.readings:
            if r.value == value:
                return r
        raise KeyError(f"{value!r} is not among the swept values")

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON data."""
        return {
            "param": self.param,
            "value": self.value,
            "leader": self.leader,
            "clear": self.clear,
            "bounds": None if self.bounds is None else self.bounds.to_dict(),
            "reason": self.reason,
            "curve": self.curve,
            "readings": [r.to_dict() for r in self.readings],
            "overlaps": list(self.overlaps),
            "next_values": list(self.next_values),
            "details": dict(self.details),
        }


def _x(lr: Any, log: bool) -> NDArray[np.float64]:
    a = np.asarray(lr, dtype=np.float64)
    return np.log(a) if log else a


def _beats(
    w: CurveReading, j: CurveReading, z: float, log: bool, sign: float, low: list[CurveReading]
) -> bool:
    """Step 5: does the choice ``w`` clearly beat ``j``? (``low``: the equally low values.)"""
    if not j.ok:
        return j.blew_up
    if all(r is not j for r in low):
        return True
    m = w.stable_index + 1
    xw = _x(w.lr[:m], log)
    keep = xw > _x(j.stable_lr, log)
    if not keep.any():
        return False
    xw = xw[keep]
    xj = _x(j.lr, log)
    fw, sw = sign * np.asarray(w.fit[:m])[keep], np.asarray(w.se[:m])[keep]
    fj = sign * np.interp(xw, xj, j.fit, left=np.nan, right=np.nan)
    sj = np.interp(xw, xj, j.se, left=np.nan, right=np.nan)
    if j.blew_up and bool((xw > xj[-1]).any()):
        return True
    with np.errstate(invalid="ignore", divide="ignore"):
        gap = fj - fw
        t = np.where(gap > 0, gap / np.hypot(sj, sw), 0.0)
    return bool(np.nanmax(np.where(np.isfinite(t), t, 0.0), initial=0.0) > z)


def _choose(
    readings: list[CurveReading], sign: float, z: float, depth_tol: float
) -> tuple[CurveReading, list[CurveReading]]:
    """Step 4: the equally low floors, then the largest stable LR; the choice and the low."""
    ok = [r for r in readings if r.ok]
    best = min(ok, key=lambda r: sign * r.floor)
    start = float(np.median([sign * r.start for r in ok]))
    drop = max(0.0, start - sign * best.floor)

    def se_floor(r: CurveReading) -> float:
        k = int(np.argmin(sign * np.asarray(r.fit)))
        return float(r.se[k])

    tol_depth = depth_tol * drop
    low = [
        r
        for r in ok
        if sign * (r.floor - best.floor)
        <= max(z * math.hypot(se_floor(r), se_floor(best)), tol_depth)
    ]
    return max(low, key=lambda r: (r.stable_lr, -sign * r.floor)), low


def _fmt(x: Any) -> str:
    return f"{x:g}" if isinstance(x, float) else str(x)


def suggest_sweep(
    sweep: Sweep,
    curve: str = "auto",
    *,
    method: str = "auto",
    z: float = Z,
    depth_tol: float = DEPTH_TOL,
    bandwidth: float = cs.BANDWIDTH,
) -> SweepSuggestion:
    """Choose a value of the swept hyper-parameter (module docstring; ``docs/sweep.md``).

    Args:
        sweep: the sweep.
        curve: ``"auto"`` (the validation loss when every run recorded at least 8
            validation points, otherwise the training loss), ``"loss"``, ``"val_loss"``,
            ``"metric"`` or ``"val_metric"``.
        method: the rule that reads the leader's LR bounds (:meth:`RangeTestResult.suggest`).
        z: standard errors that separate two smoothed values (> 0).
        depth_tol: floors within this fraction of the loss's drop are equally low (in [0, 1]).
        bandwidth: the kernel width as a fraction of each curve's length (in (0, 1]).

    Raises:
        cyclr.SuggestionError: no value's curve can be read (``kind="too_short"`` or
            ``"diverged_at_once"``).
    """
    if not isinstance(sweep, Sweep):
        raise TypeError(f"sweep must be a cyclr.SweepResult, got {type(sweep).__name__}")
    v.choice("curve", curve, CURVES)
    z = v.positive("z", z)
    depth_tol = v.fraction("depth_tol", depth_tol)
    bandwidth = v.fraction("bandwidth", bandwidth, low_open=True)
    if curve == "auto":
        has_val = all(
            r.val_loss is not None and r.val_step is not None and len(r.val_loss) >= cs.MIN_POINTS
            for r in sweep.results
        )
        curve = "val_loss" if has_val else "loss"
    sign = -1.0 if curve in ("metric", "val_metric") else 1.0
    readings = [_read(x, r, curve, bandwidth, z) for x, r in sweep.items()]
    if not any(r.ok for r in readings):
        kind = "diverged_at_once" if all(r.blew_up for r in readings) else "too_short"
        notes = "; ".join(f"{sweep.label}={_fmt(r.value)}: {r.note}" for r in readings)
        raise SuggestionError(
            f"no {curve.replace('_', ' ')} curve of the sweep can be read ({notes})", kind
        )
    log = sweep.results[0].mode == "exp"
    lead, low = _choose(readings, sign, z, depth_tol)
    overlaps = tuple(
        r.value for r in readings if r is not lead and not _beats(lead, r, z, log, sign, low)
    )
    reason = _reason(sweep.label, curve, sign, z, lead, overlaps, readings)
    bounds: Bounds | None = None
    try:
        bounds = sweep.result_for(lead.value).suggest(method)
    except SuggestionError as exc:
        if exc.kind == "unknown_method":
            raise
        reason += f"; no LR bounds from its range test ({exc.kind})"
    return SweepSuggestion(
        param=sweep.param,
        value=lead.value if not overlaps else None,
        leader=lead.value,
        clear=not overlaps,
        bounds=bounds,
        reason=reason,
        curve=curve,
        readings=tuple(readings),
        overlaps=overlaps,
        next_values=_next_values(sweep.param, readings, lead, sign, z, depth_tol),
        details={"z": z, "depth_tol": depth_tol, "bandwidth": bandwidth, "method": method},
    )


def _reason(
    name: str,
    curve: str,
    sign: float,
    z: float,
    lead: CurveReading,
    overlaps: tuple[Any, ...],
    readings: list[CurveReading],
) -> str:
    """The account of the choice: the leader and how the others compare, or the overlap."""
    what = curve.replace("_", " ")
    lead_text = (
        f"{name}={_fmt(lead.value)}: its {what} stays within noise of its floor "
        f"{lead.floor:.4g} up to lr={lead.stable_lr:.3g}"
    )
    if overlaps:
        return (
            f"no clear winner: {name}="
            + ", ".join(_fmt(x) for x in (lead.value, *overlaps))
            + f" overlap within noise (z={z:g}); the leader is {lead_text}; "
            "keep your current value, or sweep for longer"
        )
    others = [r for r in readings if r is not lead]
    stable = [r for r in others if r.ok]
    low_word = "highest" if sign < 0 else "lowest"
    reason = f"{lead_text}, the largest LR among the values with the {low_word} {what}"
    if stable:
        reason += (
            " (others: "
            + "; ".join(
                f"{_fmt(r.value)} up to lr={r.stable_lr:.3g}, floor {r.floor:.4g}" for r in stable
            )
            + ")"
        )
    gone = [r for r in others if not r.ok]
    if gone:
        reason += "; " + "; ".join(f"{_fmt(r.value)}: {r.note}" for r in gone)
    return reason


def _next_values(
    param: str,
    readings: list[CurveReading],
    lead: CurveReading,
    sign: float,
    z: float,
    depth_tol: float,
) -> tuple[float, ...]:
    """For weight decay, the next value to try: the exponents of the best two bisected (Smith
    2018, §4.4), or the leader over ``sqrt(10)`` when the second best is 0; else ``()``."""
    rest = [r for r in readings if r is not lead and r.ok]
    if param != "weight_decay" or not rest or not lead.value > 0:
        return ()
    second, _ = _choose(rest, sign, z, depth_tol)
    if second.value > 0:
        return (float(10 ** ((math.log10(lead.value) + math.log10(second.value)) / 2)),)
    return (float(lead.value / math.sqrt(10)),)
