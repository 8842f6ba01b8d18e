"""``SweepResult``: one LR range test per value of another hyper-parameter, and which value to pick.

Smith 2018 ("A disciplined approach to neural network hyper-parameters", arXiv 1803.09820) runs
the LR range test at a few values of each other hyper-parameter and compares the curves:

- **momentum** (§4.3, §5): short runs at 0.99, 0.97, 0.95 and 0.9; the value of momentum decides
  how large the LR can get (in Fig. 7a, 0.99 turns up and diverges early, 0.9 does not);
- **weight decay** (§4.4, §5): 1e-3, 1e-4, 1e-5 and 0, judged by the validation loss early in
  training, then a run that bisects the exponent of the best two (``10**-3.5`` between 1e-3 and
  1e-4); in Fig. 10a the better value is the one that stays stable to larger LRs with a slightly
  lower validation loss;
- **batch size** (§4.2, Remark 4): compared at (nearly) equal execution time, since equal epochs
  penalise large batches and equal iterations favour them.

How :meth:`SweepResult.suggest` reads the curves (one per value: the validation loss when every
run recorded one, as the paper reads all three from the validation loss (§3), else the training
loss; a metric is read with its sign flipped, so that lower is better throughout):

1. **Usable part**: the finite points up to where the curve blows up: where, after its minimum,
   it climbs back above its start level (a training curve's running median over ``2h + 1``
   points, against batch noise; a validation curve point by point, as it is scored on a fixed
   subset and a single point above the start level already means the network broke down).
2. **Smoothing and noise**: a Gaussian local-linear fit over ``h = max(2, n * smooth)`` steps
   (:func:`cyclr.suggest.local_linear`). The noise is estimated from the residuals ``y - fit``,
   locally, since a range test's loss scatters far more where the network trains than on its
   flat start: ``sigma_i = 1.4826 * MAD`` of the residuals within ``w = max(10, 6h)`` steps of
   point ``i``, scaled up for the share of the noise the fit absorbs
   (``1 / sqrt(1 - (2*sqrt(2) - 1) * ||kernel||**2)``, exact for white noise under a Gaussian
   kernel). A smoothed value has standard error ``se_i = sigma_i * ||kernel_i||``.
3. **Floor and largest stable LR**: the floor is the lowest smoothed value; the *stable LR* is the
   right end of the stretch around it where the curve stays within ``z * sqrt(2) * se_floor`` of
   the floor (``z = 3``; the standard error of a difference of two smoothed values at the
   floor's noise level): past it the loss rises out of the noise. The floor's noise is used
   because where the curve turns up, the fit lags the rise and its residuals overstate the noise.
4. **Choice**: values whose floor is within ``max(z * se, depth_tol * drop)`` of the lowest floor
   count as equally low (``drop`` = start level - lowest floor, ``depth_tol = 0.05``); of those,
   the one with the largest stable LR wins (ties: the lower floor). So a clearly lower loss wins,
   and among equally low ones, the value that keeps it to the largest LR.
5. **No clear winner**: the choice *clearly beats* a value whose floor is not as low (step 4),
   a value that diverged before its curve could be read, and an equally low value whose curve,
   at some LR above that value's stable LR and up to the choice's, lies above the choice's by
   more than ``z`` combined standard errors ``sqrt(se_a**2 + se_b**2)`` (or has already blown
   up), comparing the curves at equal LR. If it does not clearly beat every other value, the
   curves overlap within noise: ``value`` is ``None``, ``clear`` is ``False`` and the reason
   names the overlapping values. The runs of a sweep share their data order and initial
   weights, so treating the two curves' noise as independent makes this test conservative. On
   two identical curves with independent noise (300 points each) it calls a clear winner in
   1-2 sweeps in 100 (``tests/test_sweep_result.py`` checks at most 2 in 40).

Example:
    >>> import numpy as np, cyclr
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
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from cyclr import _validate as v
from cyclr._json import read_json, write_json
from cyclr.range_test.result import RangeTestResult
from cyclr.suggest.bounds import Bounds, _num
from cyclr.suggest.rules import SuggestionError, local_linear, running_median

__all__ = [
    "CURVES",
    "DEFAULT_VALUES",
    "PARAMS",
    "CurveReading",
    "SweepResult",
    "SweepSuggestion",
    "check_values",
    "residual_noise",
    "suggest_sweep",
]

#: Hyper-parameters a sweep knows how to validate (others are accepted as finite numbers).
PARAMS = ("momentum", "weight_decay", "batch_size")
#: The values Smith 2018 (§5) suggests trying first.
DEFAULT_VALUES: dict[str, tuple[float, ...]] = {
    "momentum": (0.99, 0.97, 0.95, 0.9),
    "weight_decay": (1e-3, 1e-4, 1e-5, 0.0),
}
#: Curves :meth:`SweepResult.suggest` can compare (``"auto"`` picks one).
CURVES = ("auto", "loss", "val_loss", "metric", "val_metric")
#: Default ``z``: standard errors that separate two smoothed values.
Z = 3.0
#: Default ``depth_tol``: floors this fraction of the loss's drop apart count as equally low.
DEPTH_TOL = 0.05
#: Default ``smooth``: the smoothing width as a fraction of the curve's length.
SMOOTH = 1 / 40
#: Fewest usable points a curve is read from.
MIN_POINTS = 8

_FORMAT = "cyclr.SweepResult/1"
# Residual variance left by a Gaussian smoother: 1 - (2*sqrt(2) - 1) * ||kernel||**2.
_ABSORBED = 2 * math.sqrt(2) - 1


def check_values(param: str, values: Any) -> tuple[float, ...]:
    """Validate a sweep's ``values`` for ``param``: at least one, no duplicates, in range.

    momentum in ``[0, 1)``, weight decay ``>= 0``, batch size an integer ``>= 1``; any other
    ``param`` takes finite numbers. Returns them as a tuple of Python numbers.

    Example:
        >>> check_values("momentum", [0.95, 0.9])
        (0.95, 0.9)
        >>> check_values("momentum", [0.9, 1.0])
        Traceback (most recent call last):
        ...
        ValueError: values[1] must be in [0, 1) for param='momentum', got 1.0
    """
    if isinstance(values, (str, bytes, Mapping)) or not isinstance(values, Iterable):
        raise TypeError(f"values must be a sequence of numbers, got {values!r}")
    items = list(values)
    if not items:
        raise ValueError(f"values is empty: give at least one value of {param!r} to sweep")
    out: list[Any] = []
    for i, x in enumerate(items):
        name = f"values[{i}]"
        if param == "batch_size":
            out.append(v.integer(name, x, minimum=1))
            continue
        f = v.finite(name, x)
        if param == "momentum" and not 0 <= f < 1:
            raise ValueError(f"{name} must be in [0, 1) for param='momentum', got {x!r}")
        if param == "weight_decay" and f < 0:
            raise ValueError(f"{name} must be >= 0 for param='weight_decay', got {x!r}")
        out.append(f)
    seen: set[float] = set()
    dups = [x for x in out if x in seen or seen.add(x)]  # type: ignore[func-returns-value]
    if dups:
        raise ValueError(f"values has duplicates: {', '.join(map(repr, dict.fromkeys(dups)))}")
    return tuple(out)


# -- the result --------------------------------------------------------------------------------
@dataclass
class SweepResult:
    """LR range tests at several values of one hyper-parameter (Smith 2018, §4.2-§4.4).

    Attributes:
        param: the swept hyper-parameter (``"momentum"``, ``"weight_decay"``, ``"batch_size"``
            or another name).
        values: its values, in the order they ran.
        results: one :class:`cyclr.RangeTestResult` per value.
        config: how the sweep ran (the optimizer field set, the budget, ...).

    Example:
        >>> import numpy as np, cyclr
        >>> lr = np.geomspace(1e-3, 1, 20)
        >>> runs = [cyclr.RangeTestResult(lr=lr, loss=2 - lr, smoothed_loss=2 - lr, mode="exp")
        ...         for _ in range(2)]
        >>> s = cyclr.SweepResult("weight_decay", [1e-4, 0], runs)
        >>> len(s), s.values, s.result_for(0.0) is runs[1]
        (2, (0.0001, 0.0), True)
    """

    param: str
    values: tuple[Any, ...]
    results: tuple[RangeTestResult, ...]
    config: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.param, str) or not self.param:
            raise TypeError(f"param must be a non-empty string, got {self.param!r}")
        self.values = check_values(self.param, self.values)
        if isinstance(self.results, RangeTestResult) or not isinstance(self.results, Iterable):
            raise TypeError(f"results must be a sequence of RangeTestResult, got {self.results!r}")
        self.results = tuple(self.results)
        for i, r in enumerate(self.results):
            if not isinstance(r, RangeTestResult):
                raise TypeError(
                    f"results[{i}] must be a cyclr.RangeTestResult, got {type(r).__name__}"
                )
        if len(self.results) != len(self.values):
            raise ValueError(
                f"results has {len(self.results)} entries but values has {len(self.values)}"
            )
        if not isinstance(self.config, dict):
            raise TypeError(f"config must be a dict, got {type(self.config).__name__}")

    def __len__(self) -> int:
        return len(self.values)

    def items(self) -> Iterator[tuple[Any, RangeTestResult]]:
        """``(value, result)`` pairs, in the order they ran."""
        return iter(zip(self.values, self.results))

    def result_for(self, value: float) -> RangeTestResult:
        """The range test run at ``value``."""
        for x, r in zip(self.values, self.results):
            if x == value:
                return r
        raise KeyError(f"{self.param}={value!r} is not among the values {list(self.values)}")

    @property
    def label(self) -> str:
        """The name to show for the values (``"beta1"`` when Adam's ``betas[0]`` was swept)."""
        return "beta1" if self.config.get("field") == "betas[0]" else self.param

    def suggest(self, curve: str = "auto", **options: Any) -> SweepSuggestion:
        """The value to use and its LR bounds: :func:`suggest_sweep` (rule in the module doc)."""
        return suggest_sweep(self, curve, **options)

    # -- JSON ------------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data: the sweep, and every range test's ``to_dict()``."""
        from cyclr.range_test.result import _plain

        return {
            "format": _FORMAT,
            "param": self.param,
            "values": list(self.values),
            "config": _plain(self.config),
            "results": [r.to_dict() for r in self.results],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SweepResult:
        """Inverse of :meth:`to_dict`."""
        if not isinstance(data, dict) or data.get("format") != _FORMAT:
            raise ValueError(f"not a cyclr sweep result (expected format {_FORMAT!r})")
        unknown = sorted(set(data) - {"format", "param", "values", "config", "results"})
        if unknown:
            raise ValueError(f"unknown key(s) in sweep result: {', '.join(unknown)}")
        results = [RangeTestResult.from_dict(r) for r in data.get("results", [])]
        return cls(data["param"], data["values"], tuple(results), dict(data.get("config", {})))

    def save(self, path: str | Path) -> Path:
        """Write JSON to ``path`` and return it."""
        return write_json(path, self.to_dict())

    @classmethod
    def load(cls, path: str | Path) -> SweepResult:
        """Read a sweep written by :meth:`save`."""
        return cls.from_dict(read_json(path))


# -- reading one curve ---------------------------------------------------------------------------
@dataclass(frozen=True)
class CurveReading:
    """How :func:`suggest_sweep` read one value's curve (steps 1-3 of the module docstring).

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
        return {
            "value": self.value,
            "ok": self.ok,
            "note": self.note,
            "blew_up": self.blew_up,
            "noise": _num(self.noise),
            "start": _num(self.start),
            "floor": _num(self.floor),
            "floor_lr": _num(self.floor_lr),
            "stable_lr": _num(self.stable_lr),
        }


def _curve_data(result: RangeTestResult, curve: str) -> tuple[NDArray[np.float64], NDArray[Any]]:
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


def residual_noise(
    y: NDArray[np.float64],
    fit: NDArray[np.float64],
    norm: NDArray[np.float64],
    window: int | None = None,
) -> Any:
    """Noise standard deviation from the residuals of a kernel fit (step 2 of the rule).

    With ``window=None`` one number for the whole curve; with ``window=w`` an array: the
    estimate from the residuals within ``w`` points of each point.

    Example:
        >>> import numpy as np
        >>> from cyclr.suggest import local_linear
        >>> x = np.arange(2000.0)
        >>> scale = np.where(x < 1000, 0.01, 0.1)  # quiet first half, noisy second half
        >>> y = np.sin(x / 300) + np.random.default_rng(0).normal(0, 1, x.size) * scale
        >>> fit, norm = local_linear(x, y, 3.0)
        >>> local = residual_noise(y, fit, norm, window=30)
        >>> round(float(np.median(local[100:900])), 3), round(float(np.median(local[1100:])), 2)
        (0.01, 0.1)
    """
    r = np.asarray(y, dtype=np.float64) - np.asarray(fit, dtype=np.float64)
    kept = np.clip(1 - _ABSORBED * np.asarray(norm, dtype=np.float64) ** 2, 0.1, 1.0)
    if window is None:
        mad = float(np.median(np.abs(r - np.median(r))))
        return 1.4826 * mad / math.sqrt(float(np.mean(kept)))
    w = max(1, int(window))
    windows = np.lib.stride_tricks.sliding_window_view(
        np.pad(r, w, constant_values=np.nan), 2 * w + 1
    )
    mad = np.nanmedian(np.abs(windows - np.nanmedian(windows, axis=1)[:, None]), axis=1)
    return 1.4826 * mad / np.sqrt(kept)


def _read(value: Any, result: RangeTestResult, curve: str, smooth: float, z: float) -> CurveReading:
    lr, y = _curve_data(result, curve)
    sign = -1.0 if curve in ("metric", "val_metric") else 1.0
    b = sign * y  # lower is better
    n = len(b)
    diverged = result.stop_reason in ("diverged", "non_finite_loss")
    finite = np.isfinite(b) & np.isfinite(lr) & (lr > 0)
    bad = np.flatnonzero(~finite)
    end = int(bad[0]) if len(bad) else n
    blew_up = diverged or end < n
    if end < MIN_POINTS:
        why = "it diverged at once" if blew_up else f"it has only {n} points"
        return CurveReading(value, False, f"{why} ({end} usable, {MIN_POINTS} needed)", blew_up)
    h = max(2.0, n * smooth)
    k0 = min(max(3, int(2 * h)), max(3, end // 4))
    start = float(np.median(b[:k0]))
    med = running_median(b[:end], 0 if curve.startswith("val") else max(1, round(h)))
    low = int(np.argmin(med))
    above = np.flatnonzero(med[low:] > start)
    note = "ran to the end of the sweep"
    if len(above):
        end, blew_up = low + int(above[0]), True
        note = f"blew up from lr={lr[end]:.3g}"
    elif end < n:
        note = f"became non-finite at lr={lr[end]:.3g}"
    elif diverged:
        note = f"diverged at lr={lr[end - 1]:.3g}"
    if end < MIN_POINTS:
        return CurveReading(value, False, f"it blew up at once (lr={lr[end]:.3g})", True)
    x = np.arange(end, dtype=np.float64)
    fit, norm = local_linear(x, b[:end], h)
    sigma = residual_noise(b[:end], fit, norm, window=max(10, round(6 * h)))
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


# -- the suggestion ------------------------------------------------------------------------------
@dataclass(frozen=True)
class SweepSuggestion:
    """Which value of a swept hyper-parameter to use, its LR bounds, and why.

    Attributes:
        param: the swept hyper-parameter.
        value: the chosen value, or ``None`` when there is no clear winner.
        leader: the value the rule ranks first (``== value`` when the choice is clear).
        clear: False when the leader does not clearly beat every other value (step 5).
        bounds: the LR bounds read off the leader's range test (``None`` if they cannot be).
        reason: a short account of the choice.
        curve: the curve compared (``"loss"``, ``"val_loss"``, ``"metric"``, ``"val_metric"``).
        readings: how each value's curve was read, in the sweep's order.
        overlaps: the values the leader does not clearly beat.
        next_values: for weight decay, the next value to try: the exponent of the best two
            bisected (Smith 2018, §4.4); empty otherwise.
        details: the rule's settings (``z``, ``depth_tol``, ``smooth``).
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
    sweep: SweepResult,
    curve: str = "auto",
    *,
    method: str = "auto",
    z: float = Z,
    depth_tol: float = DEPTH_TOL,
    smooth: float = SMOOTH,
) -> SweepSuggestion:
    """Choose a value of the swept hyper-parameter: the rule in the module docstring.

    Args:
        sweep: the sweep.
        curve: ``"auto"`` (the validation loss when every run recorded at least 8
            validation points, otherwise the training loss), ``"loss"``, ``"val_loss"``,
            ``"metric"`` or ``"val_metric"``.
        method: the rule that reads the leader's LR bounds (:meth:`RangeTestResult.suggest`).
        z: standard errors that separate two smoothed values (> 0).
        depth_tol: floors within this fraction of the loss's drop are equally low (in [0, 1]).
        smooth: the smoothing width as a fraction of each curve's length (in (0, 1]).

    Raises:
        cyclr.SuggestionError: no value's curve can be read (``kind="too_short"`` or
            ``"diverged_at_once"``).
    """
    if not isinstance(sweep, SweepResult):
        raise TypeError(f"sweep must be a cyclr.SweepResult, got {type(sweep).__name__}")
    v.choice("curve", curve, CURVES)
    z = v.positive("z", z)
    depth_tol = v.fraction("depth_tol", depth_tol)
    smooth = v.fraction("smooth", smooth, low_open=True)
    if curve == "auto":
        has_val = all(
            r.val_loss is not None and r.val_step is not None and len(r.val_loss) >= MIN_POINTS
            for r in sweep.results
        )
        curve = "val_loss" if has_val else "loss"
    sign = -1.0 if curve in ("metric", "val_metric") else 1.0
    readings = [_read(x, r, curve, smooth, z) for x, r in sweep.items()]
    ok = [r for r in readings if r.ok]
    name = sweep.label
    if not ok:
        kind = "diverged_at_once" if all(r.blew_up for r in readings) else "too_short"
        notes = "; ".join(f"{name}={_fmt(r.value)}: {r.note}" for r in readings)
        raise SuggestionError(
            f"no {curve.replace('_', ' ')} curve of the sweep can be read ({notes})", kind
        )
    log = sweep.results[0].mode == "exp"
    lead, low = _choose(readings, sign, z, depth_tol)
    overlaps = tuple(
        r.value for r in readings if r is not lead and not _beats(lead, r, z, log, sign, low)
    )
    clear = not overlaps
    what = curve.replace("_", " ")
    low_word = "highest" if sign < 0 else "lowest"
    lead_text = (
        f"{name}={_fmt(lead.value)}: its {what} stays within noise of its floor "
        f"{lead.floor:.4g} up to lr={lead.stable_lr:.3g}"
    )
    if clear:
        others = [r for r in readings if r is not lead]
        stable = [r for r in others if r.ok]
        reason = f"{lead_text}, the largest LR among the values with the {low_word} {what}"
        if stable:
            reason += (
                " (others: "
                + "; ".join(
                    f"{_fmt(r.value)} up to lr={r.stable_lr:.3g}, floor {r.floor:.4g}"
                    for r in stable
                )
                + ")"
            )
        gone = [r for r in others if not r.ok]
        if gone:
            reason += "; " + "; ".join(f"{_fmt(r.value)}: {r.note}" for r in gone)
    else:
        reason = (
            f"no clear winner: {name}="
            + ", ".join(_fmt(x) for x in (lead.value, *overlaps))
            + f" overlap within noise (z={z:g}); the leader is {lead_text}; "
            "keep your current value, or sweep for longer"
        )
    bounds: Bounds | None = None
    try:
        bounds = sweep.result_for(lead.value).suggest(method)
    except SuggestionError as exc:
        if exc.kind == "unknown_method":
            raise
        reason += f"; no LR bounds from its range test ({exc.kind})"
    next_values: tuple[float, ...] = ()
    if sweep.param == "weight_decay":
        rest = [r for r in readings if r is not lead and r.ok]
        if rest and lead.value > 0:
            second, _ = _choose(rest, sign, z, depth_tol)
            if second.value > 0:
                next_values = (
                    float(10 ** ((math.log10(lead.value) + math.log10(second.value)) / 2)),
                )
            else:
                next_values = (float(lead.value / math.sqrt(10)),)
    return SweepSuggestion(
        param=sweep.param,
        value=lead.value if clear else None,
        leader=lead.value,
        clear=clear,
        bounds=bounds,
        reason=reason,
        curve=curve,
        readings=tuple(readings),
        overlaps=overlaps,
        next_values=next_values,
        details={"z": z, "depth_tol": depth_tol, "smooth": smooth, "method": method},
    )
