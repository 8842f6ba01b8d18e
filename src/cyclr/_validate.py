"""Eager validation of user input: every error names the argument and the value."""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np
from numpy.typing import NDArray


def shown(value: Any) -> str:
    """``repr(value)``, with an integer of more than 40 digits cut to ``1.234e+400``."""
    if not isinstance(value, numbers.Integral) or isinstance(value, bool):
        return repr(value)
    n = abs(int(value))
    if n < 10**40:
        return str(int(value))
    e = math.floor(math.log10(n))
    while n // 10 ** (e - 3) >= 10**4:
        e += 1
    while n // 10 ** (e - 3) < 10**3:
        e -= 1
    head = str(n // 10 ** (e - 3))
    return f"{'-' if int(value) < 0 else ''}{head[0]}.{head[1:]}e+{e}"


def _real(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {value!r} ({type(value).__name__})")
    try:
        return float(value)
    except OverflowError:
        raise ValueError(f"{name} must be finite, got {shown(value)}") from None


def finite(name: str, value: Any) -> float:
    """Return ``value`` as a float, raising unless it is a finite real number."""
    v = _real(name, value)
    if not math.isfinite(v):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return v


def learning_rate(name: str, value: Any) -> float:
    """A learning rate: finite and >= 0."""
    v = finite(name, value)
    if v < 0:
        raise ValueError(f"{name} must be >= 0, got {value!r}")
    return v


def positive(name: str, value: Any) -> float:
    """A finite real number > 0."""
    v = finite(name, value)
    if v <= 0:
        raise ValueError(f"{name} must be > 0, got {value!r}")
    return v


def fraction(name: str, value: Any, *, low_open: bool = False, high_open: bool = False) -> float:
    """A number in [0, 1] (ends optionally open)."""
    v = finite(name, value)
    lo_ok = v > 0 if low_open else v >= 0
    hi_ok = v < 1 if high_open else v <= 1
    if not (lo_ok and hi_ok):
        lo = "(0" if low_open else "[0"
        hi = "1)" if high_open else "1]"
        raise ValueError(f"{name} must be in {lo}, {hi}, got {value!r}")
    return v


def integer(name: str, value: Any, *, minimum: int | None = None) -> int:
    """An integer (not a bool), optionally >= ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {value!r} ({type(value).__name__})")
    v = int(value)
    if minimum is not None and v < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value!r}")
    return v


def choice(name: str, value: Any, options: tuple[str, ...]) -> str:
    """One of a fixed set of strings."""
    if value not in options:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, options))}; got {value!r}")
    return str(value)


def ordered(low_name: str, low: float, high_name: str, high: float) -> None:
    """Raise unless ``low <= high``."""
    if low > high:
        raise ValueError(f"{low_name} ({low!r}) must be <= {high_name} ({high!r})")


def increasing(name: str, values: NDArray[np.float64]) -> None:
    """Raise unless ``values`` increase strictly; a pair holding NaN is not checked."""
    bad = np.flatnonzero(np.diff(values) <= 0)
    if bad.size:
        i = int(bad[0])
        raise ValueError(
            f"{name} must increase strictly: {name}[{i + 1}] = {values[i + 1]:.6g} is not "
            f"above {name}[{i}] = {values[i]:.6g}"
        )
