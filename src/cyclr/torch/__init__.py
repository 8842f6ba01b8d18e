"""PyTorch adapter: the ``CyclicScheduler``, the LR range test, ``find_bounds``, ``auto_schedule``,
``online_schedule`` and ``sweep``.

Requires the ``torch`` extra (from a clone: ``pip install -e '.[torch]'``). Names are imported
lazily so that ``import cyclr.torch`` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cyclr.torch._auto import AutoScheduler, auto_schedule, online_schedule
    from cyclr.torch._find_bounds import FoundBounds, find_bounds
    from cyclr.torch._online import OnlineScheduler
    from cyclr.torch._randomness import RngState
    from cyclr.torch._range_test import range_test
    from cyclr.torch._scheduler import CyclicScheduler
    from cyclr.torch._sweep import sweep

__all__ = [
    "AutoScheduler",
    "CyclicScheduler",
    "FoundBounds",
    "OnlineScheduler",
    "RngState",
    "auto_schedule",
    "find_bounds",
    "online_schedule",
    "range_test",
    "sweep",
]

_LAZY = {
    "CyclicScheduler": "cyclr.torch._scheduler",
    "range_test": "cyclr.torch._range_test",
    "auto_schedule": "cyclr.torch._auto",
    "online_schedule": "cyclr.torch._auto",
    "AutoScheduler": "cyclr.torch._auto",
    "find_bounds": "cyclr.torch._find_bounds",
    "FoundBounds": "cyclr.torch._find_bounds",
    "sweep": "cyclr.torch._sweep",
    "OnlineScheduler": "cyclr.torch._online",
    "RngState": "cyclr.torch._randomness",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'cyclr.torch' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
