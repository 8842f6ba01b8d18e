"""``Point`` and ``Reading``: labelled points on a rule's curve, and how a two-bound rule read it.

Both are plain values carried by :class:`cyclr.Bounds` and saved with it as JSON;
``docs/suggest.md`` says how each number of a :class:`Reading` is read.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cyclr._json import require_keys

__all__ = ["Point", "Reading", "json_number"]


@dataclass(frozen=True)
class Point:
    """A labelled point on the analysed curve: ``label`` at ``(lr, value)``, sweep ``index``."""

    label: str
    lr: float
    value: float
    index: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON data."""
        return {
            "label": self.label,
            "lr": self.lr,
            "value": json_number(self.value),
            "index": self.index,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, name: str = "Point data") -> Point:
        """Inverse of :meth:`to_dict`.

        Raises ``ValueError`` naming the field (``name`` prefixes it) when a key is missing or a
        field has the wrong type.

        Example:
            >>> Point.from_dict({"label": "plateau centre", "lr": 0.1, "value": None}).lr
            0.1
            >>> Point.from_dict({"label": "plateau centre"})
            Traceback (most recent call last):
            ...
            ValueError: Point data is missing key: lr
        """
        if not isinstance(data, Mapping):
            raise ValueError(f"{name} must be a dict, got {data!r}")
        require_keys(name, data, ("label", "lr"))
        label, index = data["label"], data.get("index")
        if not isinstance(label, str):
            raise ValueError(f"{name}.label must be a string, got {label!r}")
        if index is not None and (isinstance(index, bool) or not isinstance(index, int)):
            raise ValueError(f"{name}.index must be an integer or null, got {index!r}")
        return cls(
            label,
            _number(f"{name}.lr", data["lr"]),
            _number(f"{name}.value", data.get("value"), null=True),
            index,
        )


@dataclass(frozen=True)
class Reading:
    """How a two-bound rule read its curve: the one typed reading of a range test's curve.

    The smoothed curve itself is :attr:`Bounds.curve_lr` / :attr:`Bounds.curve_values`; levels
    are in the curve's own units (a loss stays a loss). ``docs/suggest.md`` says how each is read.

    Attributes:
        rule: the rule that read the curve (``"accuracy"`` or ``"loss"``; ``"auto"`` uses one).
        start_level: the curve's level at the start of the ramp (median of the first points).
        noise: the noise level ``sigma`` per point.
        change: how far the smoothed curve rose (a loss: fell) from its start to its best.
        se: the standard error ``sigma * ||kernel||`` of each smoothed value.
        se_best, se_last: that of the best smoothed value, and of the last one read.
        smoothing_steps: the kernel width ``h`` in updates.
        points_used, points_recorded: the usable part of the ramp, and all of it.
        ending: how the usable part ended (``"the loss blew up from lr=..."``).
        rise_start_lr: where the rise (a loss: the fall) starts.
        knee_lr: where it slows, ``None`` if it never does.
        plateau: the first and last LR of the best plateau.
        plateau_centre: the LR at its centre.
        tested_change, tested_se: the change the rule's significance test weighs (from the
            higher of the median and the mean of the first points) and its standard error:
            the curve's change is significant at ``z`` when ``tested_change > z * tested_se``.
            NaN in a reading saved without them.
    """

    rule: str
    start_level: float
    noise: float
    change: float
    se: tuple[float, ...]
    se_best: float
    se_last: float
    smoothing_steps: float
    points_used: int
    points_recorded: int
    ending: str
    rise_start_lr: float
    knee_lr: float | None
    plateau: tuple[float, float]
    plateau_centre: float
    tested_change: float = math.nan
    tested_se: float = math.nan

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON data."""
        d = {k: getattr(self, k) for k in _READING_KEYS}
        d["se"] = [json_number(x) for x in self.se]
        d["plateau"] = list(self.plateau)
        d["tested_change"] = json_number(self.tested_change)
        d["tested_se"] = json_number(self.tested_se)
        return d

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, name: str = "Reading data") -> Reading:
        """Inverse of :meth:`to_dict`; ``ValueError`` naming a missing or mistyped field."""
        if not isinstance(data, Mapping):
            raise ValueError(f"{name} must be a dict, got {data!r}")
        require_keys(name, data, _READING_KEYS)
        for key in ("rule", "ending"):
            if not isinstance(data[key], str):
                raise ValueError(f"{name}.{key} must be a string, got {data[key]!r}")
        plateau = _list(f"{name}.plateau", data["plateau"])
        if len(plateau) != 2:
            raise ValueError(f"{name}.plateau must hold 2 LRs, got {plateau!r}")
        num = {k: _number(f"{name}.{k}", data[k], null=True) for k in _READING_NUMBERS}
        knee = data["knee_lr"]
        tested = {
            k: _number(f"{name}.{k}", data[k], null=True)
            for k in ("tested_change", "tested_se")
            if k in data
        }
        return cls(
            rule=data["rule"],
            ending=data["ending"],
            se=tuple(
                _number(f"{name}.se[{i}]", x, null=True)
                for i, x in enumerate(_list(f"{name}.se", data["se"]))
            ),
            points_used=int(num.pop("points_used")),
            points_recorded=int(num.pop("points_recorded")),
            knee_lr=None if knee is None else _number(f"{name}.knee_lr", knee),
            plateau=(
                _number(f"{name}.plateau[0]", plateau[0]),
                _number(f"{name}.plateau[1]", plateau[1]),
            ),
            **num,
            **tested,
        )


_READING_NUMBERS = (
    "start_level",
    "noise",
    "change",
    "se_best",
    "se_last",
    "smoothing_steps",
    "points_used",
    "points_recorded",
    "rise_start_lr",
    "plateau_centre",
)
_READING_KEYS = ("rule", "ending", "se", "knee_lr", "plateau", *_READING_NUMBERS)


def _number(name: str, value: Any, *, null: bool = False) -> float:
    """``value`` as a float; ``ValueError`` naming ``name`` unless it is a number (or, with
    ``null``, ``None``, read as NaN)."""
    if value is None and null:
        return math.nan
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        kind = "a number or null" if null else "a number"
        raise ValueError(f"{name} must be {kind}, got {value!r}")
    return float(value)


def _list(name: str, value: Any) -> list[Any]:
    if not isinstance(value, (list, tuple)):
        raise ValueError(f"{name} must be a list, got {value!r}")
    return list(value)


def json_number(x: float) -> float | None:
    """``float(x)``, or ``None`` (JSON ``null``) when it is not finite.

    Example:
        >>> json_number(0.5), json_number(float("nan"))
        (0.5, None)
    """
    return float(x) if math.isfinite(x) else None
