"""Reading and writing the plain-JSON files of results (range tests, sweeps)."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any

import numpy as np


def plain(value: Any) -> Any:
    """``value`` as JSON-safe Python: numpy arrays and tuples as lists, numpy numbers as Python
    ones, NaN and inf as ``None``.

    Example:
        >>> import numpy as np
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
