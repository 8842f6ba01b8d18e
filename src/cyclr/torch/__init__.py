"""PyTorch adapter: the ``CyclicScheduler``, the LR range test, ``auto_schedule`` and ``sweep``.

Requires the ``torch`` extra (``pip install cyclr[torch]``). Names are imported lazily so that
``import cyclr.torch`` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["CyclicScheduler", "auto_schedule", "range_test", "sweep"]

_LAZY = {
    "CyclicScheduler": "cyclr.torch.scheduler",
    "range_test": "cyclr.torch.range_test_loop",
    "auto_schedule": "cyclr.torch.auto",
    "sweep": "cyclr.torch.sweep_loop",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'cyclr.torch' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
