"""``AutoScheduleCallback``: at fit start, the two-stage range test, both bounds, and a step
scheduler.

The bounds come from :func:`cyclr.torch.find_bounds` (Smith 2015, §3.3) run on the Trainer's own
model, optimizer, data, precision and accumulation; the schedule from
:meth:`cyclr.Bounds.schedule` (1cycle, Smith 2018 §4.1, or CLR, Smith 2015 §3.1), installed as
a :class:`cyclr.torch.AutoScheduler` stepped after every optimizer update.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from typing import Any

import lightning.pytorch as pl
from lightning.pytorch.utilities.types import LRSchedulerConfig

from cyclr import _validate as v
from cyclr.lightning._callback import ScheduleCallback, total_steps
from cyclr.lightning._glue import check_options, quiet_logging
from cyclr.lightning._range_test import fit_arguments
from cyclr.range_test.recipe import COARSE_ITER, LINEAR_ITER, check_recipe, refuse_single_ramp
from cyclr.range_test.result import RangeTestResult
from cyclr.schedules.base import Schedule
from cyclr.suggest import Bounds, check_method
from cyclr.torch import AutoScheduler, FoundBounds, find_bounds

__all__ = ["AutoScheduleCallback"]


class AutoScheduleCallback(ScheduleCallback):
    """Find the LR bounds at fit start and train on a cyclr schedule between them.

    At ``on_fit_start`` it runs :func:`cyclr.torch.find_bounds` on the Trainer's model,
    optimizer, train (and, with ``validate``, validation) dataloader, with ``training_step``
    giving the loss, then installs a :class:`cyclr.torch.AutoScheduler` over
    ``trainer.estimated_stepping_batches`` updates (``interval="step"``), replacing any
    scheduler of ``configure_optimizers``. The model, optimizer and RNGs are restored bitwise
    after each test. The bounds and tests are saved in checkpoints: resuming runs no new test
    (docs/range_test.md). For bounds read from the fit's own warm-up, with no range test, see
    :class:`cyclr.lightning.OnlineScheduleCallback`.

    Args:
        policy: ``"one_cycle"`` (Smith 2018), ``"triangular"``, ``"triangular2"`` or
            ``"exp_range"`` (Smith 2015).
        method: the reading (see :func:`cyclr.suggest.suggest`).
        momentum: ``True`` cycles momentum inversely to the LR (0.95 → 0.85 → 0.95) when the
            optimizer has momentum; a :class:`cyclr.Schedule` is used as given; ``None`` or
            ``False`` leaves it alone.
        step_size: the CLR policies' half cycle in updates (default: about 4 epochs).
        validate: score the fit's validation dataloader (when it validates) during the test.
        coarse_iter, linear_iter, suggest_kwargs: as for :func:`cyclr.torch.find_bounds`.
        **range_test_options: for :func:`cyclr.torch.range_test` (``seed``, ``metric``,
            ``val_every``, ``progress``, ``loss_of_batch``, ...).

    Attributes:
        bounds: the :class:`cyclr.Bounds` found (``None`` before fit starts).
        tests: the range tests run, coarse first (restored from a checkpoint on resume).
        scheduler: the installed :class:`cyclr.torch.AutoScheduler` (``None`` before).

    Example:
        >>> import lightning.pytorch as pl, cyclr.lightning
        >>> callback = cyclr.lightning.AutoScheduleCallback("one_cycle", coarse_iter=40,
        ...                                                 linear_iter=100)
        >>> trainer = pl.Trainer(max_epochs=3, callbacks=[callback])  # doctest: +SKIP
        >>> trainer.fit(model, train_loader)  # doctest: +SKIP
        >>> callback.bounds.max_lr, callback.scheduler.get_last_lr()  # doctest: +SKIP
    """

    bounds: Bounds | None
    tests: tuple[RangeTestResult, ...]
    scheduler: AutoScheduler | None

    def __init__(
        self,
        policy: str = "one_cycle",
        *,
        method: str = "auto",
        momentum: bool | Schedule | None = True,
        step_size: int | None = None,
        validate: bool = True,
        coarse_iter: int = COARSE_ITER,
        linear_iter: int = LINEAR_ITER,
        suggest_kwargs: Mapping[str, Any] | None = None,
        **range_test_options: Any,
    ) -> None:
        super().__init__(policy, AutoScheduler.POLICIES, step_size, suggest_kwargs)
        check_method(method, suggest_kwargs)
        if not (isinstance(momentum, (bool, Schedule)) or momentum is None):
            raise TypeError(
                f"momentum must be True, False, None or a cyclr.Schedule, got {momentum!r}"
            )
        if not isinstance(validate, bool):
            raise TypeError(f"validate must be True or False, got {validate!r}")
        coarse_iter, linear_iter = check_recipe(coarse_iter, linear_iter)
        check_options(range_test_options, "AutoScheduleCallback")
        refuse_single_ramp(
            range_test_options, "AutoScheduleCallback", "cyclr.lightning.range_test()"
        )
        if "on_test" in range_test_options:
            raise TypeError("AutoScheduleCallback does not take on_test=: its tests are in .tests")
        if "online" in range_test_options:
            raise TypeError(
                "AutoScheduleCallback got an unexpected keyword argument 'online': to read the "
                "bounds from the fit's own warm-up, use cyclr.lightning.OnlineScheduleCallback"
            )
        self.method = method
        self.momentum = momentum
        self.validate = validate
        self.coarse_iter = coarse_iter
        self.linear_iter = linear_iter
        self.options = range_test_options
        self.tests = ()
        self.scheduler = None
        self._total: int | None = None  # the updates the installed schedule was built for
        self._saved_total: int | None = None  # those of a checkpoint's schedule
        self._built: Schedule | None = None  # the schedule built at fit start

    def on_fit_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        """Run the range tests (unless resuming with bounds) and install the scheduler."""
        args, kw = fit_arguments(trainer, pl_module, self.options, self.validate)
        optimizer = args[1]
        total = total_steps(trainer, "AutoScheduleCallback")
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
                    linear_iter=self.linear_iter,
                    suggest_kwargs=self.suggest_kwargs,
                    **kw,
                )
            self.bounds, self.tests = found.bounds, found.tests
        schedule = self.bounds.schedule(self.policy, total, ipe, self.step_size)
        self._warn_replaced(trainer, self.policy)
        self._total, self._built = total, schedule
        self.scheduler = AutoScheduler(
            optimizer, schedule, FoundBounds(self.bounds, self.tests), momentum=self.momentum
        )
        trainer.strategy.lr_scheduler_configs = [
            LRSchedulerConfig(self.scheduler, name="cyclr", interval="step", frequency=1)
        ]

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        """Warn when the checkpoint's schedule, restored by the Trainer, is not the one built
        for this fit (e.g. a longer fit resumed from a shorter one's checkpoint: 1cycle's
        updates past its end run at its final LR)."""
        sched, built = self.scheduler, self._built
        saved, self._saved_total, self._built = self._saved_total, None, None
        if sched is None or built is None or all(s == built for s in sched.schedules):
            return
        total = total_steps(trainer, "AutoScheduleCallback")
        over = "" if saved is None else f" over {saved} updates"
        message = (
            f"AutoScheduleCallback resumes the checkpoint's schedule{over}; this fit runs {total}"
        )
        if saved is not None and saved < total and self.policy == "one_cycle":
            final = sched.schedules[0].at(saved)
            message += f": updates {saved} to {total - 1} run at its final LR {final:.3g}"
        warnings.warn(message, UserWarning, stacklevel=2)
        if saved is not None:
            self._total = saved

    def state_dict(self) -> dict[str, Any]:
        """The bounds, the tests and the schedule's length, as plain data."""
        if self.bounds is None:
            return {}
        state: dict[str, Any] = {
            "bounds": self.bounds.to_dict(),
            "tests": [t.to_dict() for t in self.tests],
        }
        if self._total is not None:
            state["total_steps"] = self._total
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Take the bounds and tests of a checkpoint: the next fit start runs no test."""
        if state_dict.get("bounds") is not None:
            total = state_dict.get("total_steps")
            self._saved_total = (
                None if total is None else v.integer("total_steps", total, minimum=1)
            )
            self.bounds = Bounds.from_dict(state_dict["bounds"])
            self.tests = tuple(RangeTestResult.from_dict(t) for t in state_dict.get("tests", []))
