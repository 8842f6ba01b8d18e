"""``AutoSchedule``: at fit start, the two-stage range test, both bounds, and a step scheduler.

The bounds come from :func:`cyclr.torch.find_bounds` (Smith 2015, §3.3) run on the Trainer's own
model, optimizer, data, precision and accumulation; the schedule from
:meth:`cyclr.Bounds.schedule` (1cycle, Smith 2018 §4.1, or CLR, Smith 2015 §3.1), installed as
a :class:`cyclr.torch.CyclicScheduler` stepped after every optimizer update.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from typing import Any

import lightning.pytorch as pl
from lightning.pytorch.utilities.types import LRSchedulerConfig

from cyclr import _validate as v
from cyclr.lightning._glue import check_options, quiet_logging
from cyclr.lightning._range_test import fit_arguments
from cyclr.range_test.recipe import COARSE_ITER
from cyclr.range_test.result import RangeTestResult
from cyclr.schedules.base import Schedule
from cyclr.schedules.policies import policy as policy_of
from cyclr.suggest import Bounds, check_method
from cyclr.torch._auto import POLICIES, _has_momentum
from cyclr.torch._find_bounds import find_bounds
from cyclr.torch._scheduler import CyclicScheduler

__all__ = ["AutoSchedule"]


class AutoSchedule(pl.Callback):
    """Find the LR bounds at fit start and train on a cyclr schedule between them.

    At ``on_fit_start`` (the model on its device, the optimizer built) it runs the two-stage
    range test of :func:`cyclr.torch.find_bounds` on the Trainer's model and optimizer, with
    ``training_step`` giving the loss (through the Trainer's strategy and precision plugin), the
    fit's train dataloader, ``accumulate_grad_batches`` and, with ``validate``, the fit's
    validation dataloader scored with ``training_step`` in eval mode. The model, optimizer and
    RNGs are restored bitwise after each test. Then it installs a
    :class:`cyclr.torch.CyclicScheduler` over ``trainer.estimated_stepping_batches`` updates
    (``interval="step"``), replacing any scheduler of ``configure_optimizers``.

    The bounds and the tests are saved in checkpoints: resuming (``fit(ckpt_path=...)``) runs no
    new test and continues the same schedule. (A callback that already holds bounds, from a
    checkpoint or an earlier ``fit``, runs no new test; build a new one to test again.)

    Args:
        policy: ``"one_cycle"`` (Smith 2018), ``"triangular"``, ``"triangular2"`` or
            ``"exp_range"`` (Smith 2015).
        method: the reading (see :func:`cyclr.suggest.suggest`).
        momentum: ``True`` cycles momentum inversely to the LR (0.95 → 0.85 → 0.95) when the
            optimizer has momentum; a :class:`cyclr.Schedule` is used as given; ``None`` or
            ``False`` leaves it alone.
        step_size: the CLR policies' half cycle in updates (default: about 4 epochs).
        validate: score the fit's validation dataloader (when it validates) during the test.
        coarse_iter, num_iter, suggest_kwargs: as for :func:`cyclr.torch.find_bounds`.
        **range_test_options: for :func:`cyclr.torch.range_test` (``seed``, ``metric``,
            ``val_every``, ``progress``, ``loss_of_batch``, ...).

    Attributes:
        bounds: the :class:`cyclr.Bounds` found (``None`` before fit starts).
        tests: the range tests run, coarse first (restored from a checkpoint on resume).
        scheduler: the installed :class:`cyclr.torch.CyclicScheduler` (``None`` before).

    Example:
        >>> import lightning.pytorch as pl, cyclr.lightning
        >>> callback = cyclr.lightning.AutoSchedule("one_cycle", coarse_iter=40, num_iter=100)
        >>> trainer = pl.Trainer(max_epochs=3, callbacks=[callback])  # doctest: +SKIP
        >>> trainer.fit(model, train_loader)  # doctest: +SKIP
        >>> callback.bounds.max_lr, callback.scheduler.get_last_lr()  # doctest: +SKIP
    """

    bounds: Bounds | None
    tests: tuple[RangeTestResult, ...]
    scheduler: CyclicScheduler | None

    def __init__(
        self,
        policy: str = "one_cycle",
        *,
        method: str = "auto",
        momentum: bool | Schedule | None = True,
        step_size: int | None = None,
        validate: bool = True,
        coarse_iter: int = COARSE_ITER,
        num_iter: int | None = None,
        suggest_kwargs: Mapping[str, Any] | None = None,
        **range_test_options: Any,
    ) -> None:
        self.policy = policy_of(policy, POLICIES).name
        check_method(method, suggest_kwargs)
        if not (isinstance(momentum, (bool, Schedule)) or momentum is None):
            raise TypeError(
                f"momentum must be True, False, None or a cyclr.Schedule, got {momentum!r}"
            )
        if step_size is not None:
            step_size = v.integer("step_size", step_size, minimum=1)
        if not isinstance(validate, bool):
            raise TypeError(f"validate must be True or False, got {validate!r}")
        v.integer("coarse_iter", coarse_iter, minimum=10)
        if num_iter is not None:
            v.integer("num_iter", num_iter, minimum=1)
        check_options(range_test_options, "AutoSchedule")
        for name in ("start_lr", "end_lr", "mode", "on_test", "method"):
            if name in range_test_options:
                raise TypeError(
                    f"AutoSchedule does not take {name}=: it runs the two-stage test of "
                    "cyclr.torch.find_bounds (use cyclr.lightning.range_test for a single test)"
                )
        self.method = method
        self.momentum = momentum
        self.step_size = step_size
        self.validate = validate
        self.coarse_iter = coarse_iter
        self.num_iter = num_iter
        self.suggest_kwargs = dict(suggest_kwargs or {})
        self.options = range_test_options
        self.bounds = None
        self.tests = ()
        self.scheduler = None

    # -- the hook ----------------------------------------------------------------------------
    def on_fit_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        """Run the range tests (unless resuming with bounds) and install the scheduler."""
        args, kw = fit_arguments(trainer, pl_module, self.options, self.validate)
        optimizer = args[1]
        total = trainer.estimated_stepping_batches
        if not math.isfinite(total):
            raise ValueError(
                "AutoSchedule needs a finite training length: set max_steps or max_epochs"
            )
        batches = trainer.num_training_batches
        ipe = (
            math.ceil(batches / trainer.accumulate_grad_batches) if math.isfinite(batches) else None
        )
        if self.bounds is None:
            with quiet_logging(pl_module):
                found = find_bounds(
                    *args,
                    method=self.method,
                    coarse_iter=self.coarse_iter,
                    num_iter=self.num_iter,
                    suggest_kwargs=self.suggest_kwargs,
                    **kw,
                )
            self.bounds, self.tests = found.bounds, found.tests
        schedule = self.bounds.schedule(self.policy, int(total), ipe, self.step_size)
        momentum: bool | Schedule | None = self.momentum
        if momentum is False or (momentum is True and not _has_momentum(optimizer)):
            momentum = None
        replaced = [type(c.scheduler).__name__ for c in trainer.lr_scheduler_configs]
        if replaced:
            warnings.warn(
                f"AutoSchedule replaces the LR scheduler(s) of configure_optimizers "
                f"({', '.join(replaced)}) with its {self.policy} schedule",
                UserWarning,
                stacklevel=2,
            )
        self.scheduler = CyclicScheduler(optimizer, schedule, momentum=momentum)
        trainer.strategy.lr_scheduler_configs = [
            LRSchedulerConfig(self.scheduler, name="cyclr", interval="step", frequency=1)
        ]

    # -- checkpoints -------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """The bounds and the tests, as plain data."""
        if self.bounds is None:
            return {}
        return {"bounds": self.bounds.to_dict(), "tests": [t.to_dict() for t in self.tests]}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Take the bounds and tests of a checkpoint: the next fit start runs no test."""
        if state_dict.get("bounds") is not None:
            self.bounds = Bounds.from_dict(state_dict["bounds"])
            self.tests = tuple(RangeTestResult.from_dict(t) for t in state_dict.get("tests", []))
