"""``RangeTestResult``: what an LR range test recorded, as plain arrays, with JSON/CSV I/O.

It lives in the core: loading and analysing a saved result needs numpy only, no framework.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from cyclr import _validate as v
from cyclr._json import check_keys, plain, read_json, write_json

if TYPE_CHECKING:
    from collections.abc import Callable

    from cyclr.suggest.bounds import Bounds

__all__ = ["RangeTestResult", "STOP_REASONS"]

#: Why a range test ended.
STOP_REASONS = ("end", "diverged", "non_finite_loss", "data_exhausted", "interrupted", "error")

_FORMAT = "cyclr.RangeTestResult/1"
_ARRAYS = (
    "lr",
    "loss",
    "smoothed_loss",
    "metric",
    "group_lrs",
    "val_step",
    "val_loss",
    "val_metric",
)


def _array(name: str, value: Any, dtype: Any = np.float64, ndim: int = 1) -> NDArray[Any] | None:
    """``value`` as a ``ndim``-D array of ``dtype`` (``None`` in a list becomes NaN)."""
    if value is None:
        return None
    if isinstance(value, (str, bytes, dict)):
        raise ValueError(f"{name} must be a {ndim}-D array of numbers, got {type(value).__name__}")
    if isinstance(value, list):
        value = [np.nan if x is None else x for x in value]
    try:
        arr = np.asarray(value, dtype=np.float64)
    except OverflowError:
        raise ValueError(f"{name} holds an integer too large for a float") from None
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a {ndim}-D array of numbers") from None
    if arr.ndim != ndim and not (ndim == 2 and arr.size == 0):
        raise ValueError(f"{name} must be a {ndim}-D array, got {arr.ndim} dimension(s)")
    if np.dtype(dtype).kind == "i":
        if not (np.isfinite(arr).all() and (arr == np.round(arr)).all()):
            raise ValueError(f"{name} must hold integers")
        big = np.flatnonzero(np.abs(arr) >= 2.0**63)
        if big.size:
            i = int(big[0])
            x = value[i] if isinstance(value, (list, tuple)) else arr[i]
            raise ValueError(f"{name}[{i}] = {v.shown(x)} is not an update index: too large")
        return arr.astype(dtype)
    if arr.ndim != ndim:  # an empty 2-D array read back from JSON as []
        return arr.reshape(0, 0)
    return arr


@dataclass
class RangeTestResult:
    """One LR range test (Smith 2015, §3.3): one entry per optimizer update.

    Attributes:
        lr: LR of the first param group at each update, shape ``(n,)``: the ramp, strictly
            increasing.
        loss: raw training loss at each update (mean over accumulated micro-batches).
        smoothed_loss: bias-corrected EMA of ``loss``.
        metric: training metric per update (e.g. batch accuracy), or ``None``.
        group_lrs: LR of every param group, shape ``(n, groups)``, or ``None``.
        val_step: update indices at which the held-out subset was scored, or ``None``.
        val_loss, val_metric: validation loss/metric at ``val_step``, or ``None``.
        mode: ``"linear"`` (the paper) or ``"exp"`` sweep.
        metric_name: name of ``metric`` (e.g. ``"accuracy"``), or ``None``.
        stop_reason: one of :data:`STOP_REASONS`.
        message: a human-readable note on how the test ended.
        config: the options the test ran with.
        versions: library versions (cyclr, torch, python, ...).
        coarse: for the linear test of the two-stage recipe
            (:mod:`cyclr.range_test.recipe`), the coarse exponential test that set its range;
            ``None`` otherwise.

    Example:
        >>> r = cyclr.RangeTestResult(lr=np.geomspace(1e-4, 1, 5), loss=[2.3, 2.2, 1.5, 0.9, 4.0],
        ...                           smoothed_loss=[2.3, 2.25, 1.9, 1.5, 2.5], mode="exp")
        >>> len(r), r.stop_reason
        (5, 'end')
    """

    lr: NDArray[np.float64]
    loss: NDArray[np.float64]
    smoothed_loss: NDArray[np.float64]
    metric: NDArray[np.float64] | None = None
    group_lrs: NDArray[np.float64] | None = None
    val_step: NDArray[np.int64] | None = None
    val_loss: NDArray[np.float64] | None = None
    val_metric: NDArray[np.float64] | None = None
    mode: str = "linear"
    metric_name: str | None = None
    stop_reason: str = "end"
    message: str = ""
    config: dict[str, Any] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)
    coarse: RangeTestResult | None = None

    def __post_init__(self) -> None:
        if isinstance(self.coarse, dict):  # read back from JSON
            self.coarse = RangeTestResult.from_dict(self.coarse)
        if self.coarse is not None and not isinstance(self.coarse, RangeTestResult):
            raise ValueError(
                f"coarse must be a RangeTestResult or None, got {type(self.coarse).__name__}"
            )
        for name in _ARRAYS:
            dtype = np.int64 if name == "val_step" else np.float64
            ndim = 2 if name == "group_lrs" else 1
            setattr(self, name, _array(name, getattr(self, name), dtype, ndim))
        if self.lr is None or self.loss is None or self.smoothed_loss is None:
            raise ValueError("lr, loss and smoothed_loss are required")
        v.increasing("lr", self.lr)
        n = len(self.lr)
        for name in ("loss", "smoothed_loss", "metric", "group_lrs"):
            arr = getattr(self, name)
            if arr is not None and len(arr) != n:
                raise ValueError(f"{name} has {len(arr)} entries but lr has {n}")
        if self.val_step is not None:
            m = len(self.val_step)
            steps = self.val_step
            if m and (steps.min() < 0 or steps.max() >= n or (np.diff(steps) <= 0).any()):
                raise ValueError(
                    f"val_step must hold increasing update indices in [0, {n}), got "
                    f"{steps.tolist()[:10]}"
                )
            for name in ("val_loss", "val_metric"):
                arr = getattr(self, name)
                if arr is not None and len(arr) != m:
                    raise ValueError(f"{name} has {len(arr)} entries but val_step has {m}")
        if self.mode not in ("linear", "exp"):
            raise ValueError(f"mode must be 'linear' or 'exp', got {self.mode!r}")
        for name in ("config", "versions"):
            if not isinstance(getattr(self, name), dict):
                got = type(getattr(self, name)).__name__
                raise ValueError(f"{name} must be a dict, got {got}")
        if self.metric_name is not None and not isinstance(self.metric_name, str):
            raise ValueError(f"metric_name must be a string or None, got {self.metric_name!r}")
        if not isinstance(self.message, str):
            raise ValueError(f"message must be a string, got {self.message!r}")
        if self.stop_reason not in STOP_REASONS:
            raise ValueError(f"stop_reason must be one of {STOP_REASONS}, got {self.stop_reason!r}")

    def __len__(self) -> int:
        return len(self.lr)

    def suggest(self, method: str | Callable[..., Bounds] = "auto", **kwargs: Any) -> Bounds:
        """Read CLR bounds off this curve: :func:`cyclr.suggest.suggest` (``docs/suggest.md``).

        ``method`` is a registered rule's name (``cyclr.suggest.methods()``): ``"auto"``
        (accuracy when a metric was recorded, else loss), ``"accuracy"``, ``"loss"`` (both
        bounds, Smith 2015, §3.3), or a single-LR rule: ``"steepest"``, ``"minimum"``,
        ``"valley"``, ``"slide"``; or a function ``method(result, **kwargs) -> Bounds``.
        ``kwargs`` are the rule's options; one it does not take is a ``TypeError`` naming it.
        Raises :class:`cyclr.SuggestionError` when the curve cannot support a reading.

        Example:
            >>> lr = np.geomspace(1e-4, 1.0, 200)
            >>> loss = 2.3 - 1.5 / (1 + np.exp(-(np.log10(lr) + 2) * 4)) + 20 * lr**3
            >>> r = cyclr.RangeTestResult(lr=lr, loss=loss, smoothed_loss=loss, mode="exp")
            >>> b = r.suggest("loss", margin=3.0)
            >>> def third(result):
            ...     return cyclr.Bounds(b.base_lr / 3, b.max_lr / 3, "third", "loss / 3")
            >>> r.suggest(third).max_lr == b.max_lr / 3
            True
        """
        from cyclr.suggest import suggest

        return suggest(self, method, **kwargs)

    # -- JSON --------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data (NaN stored as ``null``)."""
        out: dict[str, Any] = {"format": _FORMAT}
        for f in fields(self):
            value = getattr(self, f.name)
            out[f.name] = value.to_dict() if isinstance(value, RangeTestResult) else plain(value)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RangeTestResult:
        """Inverse of :meth:`to_dict`."""
        known = [f.name for f in fields(cls)]
        check_keys(data, _FORMAT, "range-test result", known, ("lr", "loss", "smoothed_loss"))
        return cls(**{k: v for k, v in data.items() if k != "format"})

    def save(self, path: str | Path) -> Path:
        """Write JSON to ``path`` and return it."""
        return write_json(path, self.to_dict())

    @classmethod
    def load(cls, path: str | Path) -> RangeTestResult:
        """Read a result written by :meth:`save`."""
        return cls.from_dict(read_json(path))

    def to_csv(self, path: str | Path) -> Path:
        """One row per update: step, lr, loss, smoothed_loss, metric, val_loss, val_metric."""
        p = Path(path)
        n = len(self)
        val_loss = np.full(n, np.nan)
        val_metric = np.full(n, np.nan)
        if self.val_step is not None:
            if self.val_loss is not None:
                val_loss[self.val_step] = self.val_loss
            if self.val_metric is not None:
                val_metric[self.val_step] = self.val_metric
        metric = self.metric if self.metric is not None else np.full(n, np.nan)
        with p.open("w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["step", "lr", "loss", "smoothed_loss", "metric", "val_loss", "val_metric"])
            for i in range(n):
                row = [
                    self.lr[i],
                    self.loss[i],
                    self.smoothed_loss[i],
                    metric[i],
                    val_loss[i],
                    val_metric[i],
                ]
                w.writerow([i] + ["" if not math.isfinite(x) else repr(float(x)) for x in row])
        return p
