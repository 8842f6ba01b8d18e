"""``SweepResult``: one LR range test per value of another hyper-parameter (Smith 2018, §4.2-§4.4).

Smith 2018 ("A disciplined approach to neural network hyper-parameters", arXiv 1803.09820) runs
the LR range test at a few values of momentum (§4.3), weight decay (§4.4) or batch size (§4.2)
and compares the curves; :meth:`SweepResult.suggest` reads them
(:func:`cyclr.sweep.suggest_sweep`, explained in ``docs/sweep.md``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cyclr import _validate as v
from cyclr._json import check_keys, plain, read_json, write_json
from cyclr.range_test.result import RangeTestResult
from cyclr.sweep.reading import SweepSuggestion, suggest_sweep

__all__ = ["CHECKED_PARAMS", "DEFAULT_VALUES", "SweepResult", "check_values"]

#: Hyper-parameters a sweep knows how to validate (others are accepted as finite numbers).
CHECKED_PARAMS = ("momentum", "weight_decay", "batch_size")
#: The values Smith 2018 (§5) suggests trying first.
DEFAULT_VALUES: dict[str, tuple[float, ...]] = {
    "momentum": (0.99, 0.97, 0.95, 0.9),
    "weight_decay": (1e-3, 1e-4, 1e-5, 0.0),
}

_FORMAT = "cyclr.SweepResult/1"


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
        >>> lr = np.geomspace(1e-3, 1, 20)
        >>> runs = [cyclr.RangeTestResult(lr=lr, loss=2 - lr, smoothed_loss=2 - lr, mode="exp")
        ...         for _ in range(2)]
        >>> s = cyclr.SweepResult("weight_decay", [1e-4, 0], runs)
        >>> len(s), s.values, s.result_for(0.0) is runs[1]
        (2, (0.0001, 0.0), True)
        >>> cyclr.SweepResult.from_dict(s.to_dict()).values
        (0.0001, 0.0)
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
        """The value to use and its LR bounds: :func:`cyclr.sweep.suggest_sweep`."""
        return suggest_sweep(self, curve, **options)

    # -- JSON ------------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data: the sweep, and every range test's ``to_dict()``."""
        return {
            "format": _FORMAT,
            "param": self.param,
            "values": list(self.values),
            "config": plain(self.config),
            "results": [r.to_dict() for r in self.results],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SweepResult:
        """Inverse of :meth:`to_dict`.

        ``param``, ``values`` and ``results`` are required; a missing key, or a field of the
        wrong type (``values`` or ``results`` not a list, a result that is not a range test's
        data), raises ``ValueError`` naming it.

        Example:
            >>> cyclr.SweepResult.from_dict({"format": "cyclr.SweepResult/1", "param": "momentum"})
            Traceback (most recent call last):
            ...
            ValueError: sweep result is missing keys: values, results
        """
        required = ("param", "values", "results")
        check_keys(data, _FORMAT, "sweep result", ("config", *required), required)
        name = "sweep result: "
        param, values, raw, config = (
            data["param"],
            data["values"],
            data["results"],
            data.get("config", {}),
        )
        if not isinstance(param, str) or not param:
            raise ValueError(f"{name}param must be a non-empty string, got {param!r}")
        if not isinstance(values, list):
            raise ValueError(f"{name}values must be a list, got {values!r}")
        if not isinstance(raw, list):
            raise ValueError(f"{name}results must be a list, got {type(raw).__name__}")
        if not isinstance(config, dict):
            raise ValueError(f"{name}config must be a dict, got {config!r}")
        try:
            checked = check_values(param, values)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{name}{exc}") from None
        results = []
        for i, r in enumerate(raw):
            if not isinstance(r, dict):
                raise ValueError(
                    f"{name}results[{i}] must be a dict (a range test's to_dict()), got {r!r}"
                )
            try:
                results.append(RangeTestResult.from_dict(r))
            except (TypeError, ValueError) as exc:
                raise ValueError(f"{name}results[{i}]: {exc}") from None
        try:
            return cls(param, checked, tuple(results), dict(config))
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{name}{exc}") from None

    def save(self, path: str | Path) -> Path:
        """Write JSON to ``path`` and return it."""
        return write_json(path, self.to_dict())

    @classmethod
    def load(cls, path: str | Path) -> SweepResult:
        """Read a sweep written by :meth:`save`."""
        return cls.from_dict(read_json(path))
