"""Online bounds: the warm-up of a 1cycle or CLR run read as a range test (no separate test).

See :mod:`cyclr.online.schedule`; ``cyclr.torch.online_schedule`` drives it.
"""

from __future__ import annotations

from cyclr.online.schedule import ONLINE_POLICIES, WARMUP_RANGE, OnlineController

__all__ = ["ONLINE_POLICIES", "WARMUP_RANGE", "OnlineController"]
