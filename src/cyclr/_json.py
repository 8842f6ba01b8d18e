"""Reading and writing the plain-JSON files of results (range tests, sweeps)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any


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
