"""A cyclr schedule as a Keras ``LearningRateSchedule``, evaluated with ``keras.ops``.

``Schedule(s)(step) == s(step)``: the formula of ``s`` runs through the public hook
``s.evaluate(t, keras.ops)``, branch-free, so it traces and compiles on every backend (Smith 2015,
§3.1 for the cyclical policies; Smith 2018, §4 for 1cycle).
"""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from cyclr.schedules.base import Schedule as CyclrSchedule
from cyclr.schedules.base import schedule_from_dict

__all__ = ["Schedule", "check_schedule", "compute_dtype"]


def compute_dtype() -> str:
    """``keras.ops`` computes in float32 (its type rules turn float64 results into float32
    unless Keras' float type is float64); never less, so steps stay exact up to 2**24."""
    return "float64" if keras.backend.floatx() == "float64" else "float32"


def check_schedule(schedule: Any) -> CyclrSchedule:
    """``schedule`` if it is a cyclr :class:`cyclr.Schedule`, else a ``TypeError``."""
    if not isinstance(schedule, CyclrSchedule):
        raise TypeError(
            f"schedule must be a cyclr Schedule, got {schedule!r} ({type(schedule).__name__})"
        )
    return schedule


@keras.saving.register_keras_serializable(package="cyclr")
class Schedule(keras.optimizers.schedules.LearningRateSchedule):
    """A cyclr schedule as a Keras ``LearningRateSchedule``, for any Keras optimizer.

    ``Schedule(s)(step)`` is ``s(step)``: the formula runs in ``keras.ops``, so it works in
    compiled train steps on every backend. It computes in float32 (Keras' type rules), which
    agrees with the numpy schedule to about 1e-6 relative to the schedule's peak.
    Keras calls it with the optimizer's ``iterations``, which count updates from 0 as cyclr
    does. ``get_config()`` holds ``s.to_dict()``, so a saved ``.keras`` model loads again once
    ``cyclr.keras`` is imported.

    Example:
        >>> import keras
        >>> from cyclr.keras import Schedule
        >>> lr = Schedule(cyclr.Triangular(0.001, 0.006, step_size=2000))
        >>> opt = keras.optimizers.SGD(learning_rate=lr, momentum=0.9)
        >>> round(float(lr(2000)), 6)
        0.006
        >>> Schedule.from_config(lr.get_config()).schedule == lr.schedule
        True
    """

    def __init__(self, schedule: CyclrSchedule) -> None:
        super().__init__()
        self.schedule = check_schedule(schedule)

    def __call__(self, step: Any) -> Any:
        t = ops.cast(step, compute_dtype())
        return self.schedule.evaluate(t, ops)

    def get_config(self) -> dict[str, Any]:
        return {"schedule": self.schedule.to_dict()}

    @classmethod
    def from_config(cls, config: Any) -> Schedule:
        if not isinstance(config, dict) or "schedule" not in config:
            raise ValueError(f"not a cyclr.keras.Schedule config: {config!r}")
        return cls(schedule_from_dict(config["schedule"]))

    def __repr__(self) -> str:
        return f"cyclr.keras.Schedule({self.schedule!r})"
