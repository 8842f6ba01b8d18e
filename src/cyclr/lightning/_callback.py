"""What the two schedule callbacks share: the policy, the bounds, the installed scheduler, the
fit's length, and the warning when they replace the schedulers of ``configure_optimizers``.

:class:`cyclr.lightning.AutoScheduleCallback` reads the bounds from a range test at fit start;
:class:`cyclr.lightning.OnlineScheduleCallback` from the fit's own warm-up.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from typing import Any

import lightning.pytorch as pl

from cyclr import _validate as v
from cyclr.schedules.policies import policy as policy_of
from cyclr.suggest import Bounds

__all__ = ["ScheduleCallback", "total_steps"]


class ScheduleCallback(pl.Callback):
    """A callback that trains on a cyclr ``policy`` between bounds it finds itself.

    Args:
        policy: the schedule's policy, one of ``among``.
        among: the policies the callback can build.
        step_size: the CLR policies' half cycle in updates (``None``: the callback's default).
        suggest_kwargs: options for the reading of the bounds.

    Attributes:
        bounds: the :class:`cyclr.Bounds` found (``None`` until they are).
    """

    bounds: Bounds | None

    def __init__(
        self,
        policy: str,
        among: tuple[str, ...],
        step_size: int | None,
        suggest_kwargs: Mapping[str, Any] | None,
    ) -> None:
        self.policy = policy_of(policy, among).name
        self.step_size = None if step_size is None else v.integer("step_size", step_size, minimum=1)
        self.suggest_kwargs = dict(suggest_kwargs or {})
        self.bounds = None

    def _warn_replaced(self, trainer: pl.Trainer, schedule: str) -> None:
        """Warn that the schedulers of ``configure_optimizers`` give way to ``schedule``."""
        replaced = [type(c.scheduler).__name__ for c in trainer.lr_scheduler_configs]
        if replaced:
            warnings.warn(
                f"{type(self).__name__} replaces the LR scheduler(s) of configure_optimizers "
                f"({', '.join(replaced)}) with its {schedule} schedule",
                UserWarning,
                stacklevel=3,
            )


def total_steps(trainer: pl.Trainer, owner: str) -> int:
    """The fit's optimizer updates; ``ValueError`` naming ``owner`` when it has no end."""
    total = trainer.estimated_stepping_batches
    if not math.isfinite(total):
        raise ValueError(f"{owner} needs a finite training length: set max_steps or max_epochs")
    return int(total)
