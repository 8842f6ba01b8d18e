"""Reading and writing the plain-JSON files of results (range tests, sweeps)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def write_json(path: str | Path, data: dict[str, Any]) -> Path:
    """Write ``data`` as indented JSON to ``path`` and return the path."""
    p = Path(path)
    p.write_text(json.dumps(data, indent=1) + "\n")
    return p


def read_json(path: str | Path) -> Any:
    """Parse the JSON file at ``path``; a malformed file raises ``ValueError`` naming it."""
    p = Path(path)
    try:
        return json.loads(p.read_text())
    except json.JSONDecodeError as exc:
        raise ValueError(f"{p} is not valid JSON: {exc}") from None
