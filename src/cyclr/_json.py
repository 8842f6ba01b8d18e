"""Reading and writing the plain-JSON files of results (range tests, sweeps)."""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np


def plain(value: Any) -> Any:
    """``value`` as JSON-safe Python: numpy arrays and tuples as lists, numpy numbers as Python
    ones, NaN and inf as ``None``.

    Example:
        >>> plain({"lr": np.array([0.1, np.nan]), "n": np.int64(3)})
        {'lr': [0.1, None], 'n': 3}
    """
    if isinstance(value, np.ndarray):
        return [plain(x) for x in value.tolist()]
    if isinstance(value, (list, tuple)):
        return [plain(x) for x in value]
    if isinstance(value, dict):
        return {str(k): plain(x) for k, x in value.items()}
    if isinstance(value, (np.floating, float)):
        f = float(value)
        return f if math.isfinite(f) else None
    if isinstance(value, np.integer):
        return int(value)
    return value


def require_keys(name: str, data: Mapping[str, Any], keys: Iterable[str]) -> None:
    """Raise ``ValueError`` naming the ``keys`` missing from ``data`` (``name`` names ``data``)."""
    missing = [k for k in keys if k not in data]
    if missing:
        s = "s" if len(missing) > 1 else ""
        raise ValueError(f"{name} is missing key{s}: {', '.join(missing)}")


def check_keys(
    data: Any,
    fmt: str,
    title: str,
    known: Iterable[str],
    required: Iterable[str],
    *,
    name: str | None = None,
    any_mapping: bool = False,
) -> None:
    """Raise ``ValueError`` unless ``data`` is a dict (``any_mapping``: a mapping) saved in format
    ``fmt`` (a ``"cyclr {title}"``), with every key ``known`` and the ``required`` ones; ``name``
    (default ``title``) names it in the messages.

    Example:
        >>> check_keys({"format": "f/1", "a": 1}, "f/1", "thing", ("a", "b"), ("a", "b"))
        Traceback (most recent call last):
        ...
        ValueError: thing is missing key: b
    """
    if not isinstance(data, Mapping if any_mapping else dict) or data.get("format") != fmt:
        raise ValueError(f"not a cyclr {title} (expected format {fmt!r})")
    name = title if name is None else name
    unknown = sorted(set(data) - set(known) - {"format"})
    if unknown:
        raise ValueError(f"unknown key(s) in {name}: {', '.join(unknown)}")
    require_keys(name, data, required)


def write_json(path: str | Path, data: dict[str, Any]) -> Path:
    """Write ``data`` as indented JSON to ``path`` and return the path."""
    p = Path(path)
    p.write_text(json.dumps(data, indent=1) + "\n")
    return p


def _integer(text: str) -> int:
    """A JSON integer, refused when a float cannot hold it (every number of a result is one)."""
    body = text.lstrip("-")
    if len(body) <= len(str(int(sys.float_info.max))):
        value = int(text)
        if abs(value) <= sys.float_info.max:
            return value
    raise ValueError(f"an integer of {len(body)} digits is too large for a float")


def read_json(path: str | Path) -> Any:
    """Parse the JSON file at ``path``; a malformed file, or an integer too large for a float,
    raises ``ValueError`` naming it."""
    p = Path(path)
    text = p.read_text()
    try:
        return json.loads(text, parse_int=_integer)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{p} is not valid JSON: {exc}") from None
    except ValueError as exc:
        raise ValueError(f"{p}: {exc}") from None
