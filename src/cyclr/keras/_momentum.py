"""Momentum cycling for Keras optimizers (Smith 2018, §4.3): ``momentum`` or ``beta_1`` set
from a cyclr schedule, ``m_t = schedule(t)``, before every batch."""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from cyclr.keras._schedule import check_schedule
from cyclr.schedules.base import Schedule as CyclrSchedule

__all__ = ["MomentumCallback", "inner_optimizer", "runs_eagerly"]


def runs_eagerly(model: Any) -> bool:
    """Whether the train step re-reads Python attributes of the optimizer at every batch."""
    if getattr(model, "run_eagerly", False):
        return True
    return keras.backend.backend() == "torch" and not getattr(model, "jit_compile", False)


def inner_optimizer(optimizer: Any) -> Any:
    """The optimizer a ``LossScaleOptimizer`` wraps (``optimizer`` itself otherwise)."""
    inner = getattr(optimizer, "inner_optimizer", None)
    return optimizer if inner is None else inner


class MomentumCallback(keras.callbacks.Callback):
    """Sets the optimizer's momentum from a cyclr schedule before every batch.

    The value at optimizer update ``t`` (``optimizer.iterations``) is ``schedule(t)``: SGD's and
    RMSprop's ``momentum``, or ``beta_1`` for the Adam family (Adam, AdamW, Adamax, Nadam, Lion,
    ...). Pass ``attribute`` to choose another float hyperparameter.

    Keras bakes Python hyperparameters into compiled train steps, so this needs an eager train
    step: the PyTorch backend (without ``jit_compile=True``) or ``run_eagerly=True``; otherwise
    it raises at the start of ``fit``. SGD and RMSprop must be created with ``momentum > 0``
    (with 0 they keep no velocity).

    Example:
        >>> import keras
        >>> from cyclr.keras import MomentumCallback
        >>> s = cyclr.OneCycle(max_lr=0.1, total_steps=1001)
        >>> callback = MomentumCallback(s.momentum(0.85, 0.95))
        >>> callback.schedule(0), callback.schedule(450)
        (0.95, 0.85)
    """

    def __init__(self, schedule: CyclrSchedule, attribute: str | None = None) -> None:
        super().__init__()
        check_schedule(schedule)
        if attribute is not None and not isinstance(attribute, str):
            raise TypeError(f"attribute must be a str or None, got {attribute!r}")
        self.schedule = schedule
        self.attribute = attribute
        self._attr: str | None = None

    def _find_attribute(self, opt: Any) -> str:
        name = type(opt).__name__
        if self.attribute is not None:
            if not isinstance(getattr(opt, self.attribute, None), (int, float)):
                raise ValueError(
                    f"attribute={self.attribute!r}: {name} has no float hyperparameter of that name"
                )
            return self.attribute
        if isinstance(getattr(opt, "momentum", None), (int, float)):
            if opt.momentum == 0:
                raise ValueError(
                    f"{name} was created with momentum=0, so it keeps no velocity to cycle; "
                    f"create it with momentum > 0 (e.g. {name}(..., momentum=0.9))"
                )
            return "momentum"
        if isinstance(getattr(opt, "beta_1", None), (int, float)):
            return "beta_1"
        raise ValueError(
            f"momentum cycling needs an optimizer with 'momentum' (SGD, RMSprop) or 'beta_1' "
            f"(Adam family); {name} has neither (pass attribute=... to name another)"
        )

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        opt = inner_optimizer(self.model.optimizer)
        self._attr = self._find_attribute(opt)
        if not runs_eagerly(self.model):
            raise ValueError(
                "MomentumCallback needs an eager train step, since Keras compiles Python "
                f"hyperparameters into the step: use the torch backend without jit_compile, or "
                f"compile the model with run_eagerly=True (backend "
                f"{keras.backend.backend()!r}, jit_compile={self.model.jit_compile!r})"
            )

    def on_train_batch_begin(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        opt = inner_optimizer(self.model.optimizer)
        step = int(ops.convert_to_numpy(opt.iterations))
        setattr(opt, self._attr or self._find_attribute(opt), self.schedule.at(step))
