"""``AutoSchedule``: at fit start, the two-stage range test, both bounds, and a step scheduler.

The bounds come from :func:`cyclr.torch.find_bounds` (Smith 2015, §3.3) run on the Trainer's own
model, optimizer, data, precision and accumulation; the schedule from
:meth:`cyclr.Bounds.schedule` (1cycle, Smith 2018 §4.1, or CLR, Smith 2015 §3.1), installed as
a :class:`cyclr.torch.CyclicScheduler` stepped after every optimizer update.

With ``online=True`` no range test runs: a :class:`cyclr.torch.OnlineScheduler` reads the
bounds from the fit's own warm-up (:mod:`cyclr.online`), fed the training loss of every update
by the callback (Lightning passes no loss to a scheduler's ``step``).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from typing import Any

import lightning.pytorch as pl
import torch
from lightning.pytorch.utilities.types import LRSchedulerConfig

from cyclr import _validate as v
from cyclr.lightning._glue import check_options, quiet_logging, split_optimizers
from cyclr.lightning._range_test import fit_arguments
from cyclr.online.schedule import POLICIES as ONLINE_POLICIES
from cyclr.online.schedule import OnlineController
from cyclr.range_test.recipe import COARSE_ITER
from cyclr.range_test.result import RangeTestResult
from cyclr.schedules.base import Schedule
from cyclr.schedules.policies import policy as policy_of
from cyclr.suggest import Bounds, check_method
from cyclr.torch._args import group_ratios
from cyclr.torch._auto import _ONLINE_OPTIONS, POLICIES, _has_momentum, _online
from cyclr.torch._find_bounds import find_bounds
from cyclr.torch._online import OnlineScheduler
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
    (``interval="step"``), replacing any scheduler of ``configure_optimizers``. Each param group
    keeps the LR ratio the test ran it at (a group at LR 0 stays frozen; see
    :func:`cyclr.range_test.checks.group_lr_ratios`).

    The bounds and the tests are saved in checkpoints: resuming (``fit(ckpt_path=...)``) runs no
    new test and continues the same schedule (a fit of another length keeps the checkpoint's
    schedule, with a warning: a longer one trains its extra updates at 1cycle's final LR). (A
    callback that already holds bounds, from a checkpoint or an earlier ``fit``, runs no new
    test; build a new one to test again.)

    **Online** (``online=True``): no range test. At the start of training it builds a
    :class:`cyclr.torch.OnlineScheduler` over ``trainer.estimated_stepping_batches`` updates,
    whose 1cycle (or triangular) warm-up is read as a range test while it trains
    (:mod:`cyclr.online`): :attr:`bounds` stays ``None`` until the loss has left its lowest
    plateau, then the rest of the cycle follows. After every optimizer update the callback
    calls ``scheduler.step(loss)`` with that update's training loss, ``outputs["loss"]`` of
    ``training_step`` (the mean over the micro-batches of the update under
    ``accumulate_grad_batches``; averaged over ranks under ``torch.distributed``), so
    ``training_step`` must return the loss (a tensor, or a dict with ``"loss"``) on every
    batch. Any scheduler of ``configure_optimizers`` is dropped, with a warning. The schedule's
    state (the curve so far, the decision, the phase) is saved in checkpoints, and resuming
    from one continues the identical trajectory; a checkpoint taken between the micro-batches
    of an update loses that update's partial loss. Options: ``policy`` ``"one_cycle"`` or
    ``"triangular"``, ``method`` ``"auto"`` or ``"loss"`` (only the loss is seen online),
    ``momentum`` ``True``/``False``/``None``, ``step_size``, ``suggest_kwargs`` and, as keyword
    options, ``start_lr``, ``end_lr``, ``warmup_steps``, ``check_every``, ``rollback`` and
    ``process_group`` (see :func:`cyclr.torch.auto_schedule`); ``validate`` is not used.

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
        online: read the bounds from the fit's own warm-up instead (see above).
        **range_test_options: for :func:`cyclr.torch.range_test` (``seed``, ``metric``,
            ``val_every``, ``progress``, ``loss_of_batch``, ...); with ``online=True``, the
            online schedule's options listed above.

    Attributes:
        bounds: the :class:`cyclr.Bounds` found (``None`` before fit starts; online, ``None``
            until the warm-up has been read).
        tests: the range tests run, coarse first (restored from a checkpoint on resume; empty
            online: the warm-up's curve is ``scheduler.range_test_result``).
        scheduler: the installed :class:`cyclr.torch.CyclicScheduler`, or online the
            :class:`cyclr.torch.OnlineScheduler` (``decided_at``, ``log``, ``online``);
            ``None`` before.

    Example:
        >>> import lightning.pytorch as pl, cyclr.lightning
        >>> callback = cyclr.lightning.AutoSchedule("one_cycle", coarse_iter=40, num_iter=100)
        >>> trainer = pl.Trainer(max_epochs=3, callbacks=[callback])  # doctest: +SKIP
        >>> trainer.fit(model, train_loader)  # doctest: +SKIP
        >>> callback.bounds.max_lr, callback.scheduler.get_last_lr()  # doctest: +SKIP

        Online, the bounds read from the fit's own warm-up (``training_step`` returns the loss):

        >>> online = cyclr.lightning.AutoSchedule("one_cycle", online=True)
        >>> trainer = pl.Trainer(max_steps=2000, callbacks=[online])  # doctest: +SKIP
        >>> trainer.fit(model, train_loader)  # doctest: +SKIP
        >>> online.bounds.max_lr, online.scheduler.decided_at  # doctest: +SKIP
        >>> cyclr.plot.online(online.scheduler)  # doctest: +SKIP
    """

    bounds: Bounds | None
    tests: tuple[RangeTestResult, ...]
    scheduler: CyclicScheduler | OnlineScheduler | None

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
        online: bool = False,
        **range_test_options: Any,
    ) -> None:
        if not isinstance(online, bool):
            raise TypeError(f"online must be True or False, got {online!r}")
        self.policy = policy_of(policy, ONLINE_POLICIES if online else POLICIES).name
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
        if online:
            _check_online(method, momentum, coarse_iter, num_iter, range_test_options)
        else:
            check_options(range_test_options, "AutoSchedule")
            for name in ("start_lr", "end_lr", "mode", "on_test", "method"):
                if name in range_test_options:
                    raise TypeError(
                        f"AutoSchedule does not take {name}=: it runs the two-stage test of "
                        "cyclr.torch.find_bounds (use cyclr.lightning.range_test for a single "
                        "test, or online=True to read the bounds from the warm-up)"
                    )
        self.method = method
        self.momentum = momentum
        self.step_size = step_size
        self.validate = validate
        self.coarse_iter = coarse_iter
        self.num_iter = num_iter
        self.suggest_kwargs = dict(suggest_kwargs or {})
        self.online = online
        self.options = range_test_options
        self.bounds = None
        self.tests = ()
        self.scheduler = None
        self._saved_online: dict[str, Any] | None = None  # from a checkpoint, not yet applied
        self._total: int | None = None  # the updates the installed schedule was built for
        self._saved_total: int | None = None  # those of a checkpoint's schedule
        self._built: Schedule | None = None  # the schedule built at fit start
        self._steps_before: int | None = None  # trainer.global_step at the batch's start
        self._pending: list[torch.Tensor] = []  # the losses of the update's micro-batches

    # -- the hooks ---------------------------------------------------------------------------
    def on_fit_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        """Run the range tests (unless resuming with bounds) and install the scheduler.

        Online: check the fit and drop the schedulers of ``configure_optimizers``; the
        schedule is built at ``on_train_start``, once a checkpoint's training state is back."""
        if self.online:
            self._online_fit_start(trainer, pl_module)
            return
        args, kw = fit_arguments(trainer, pl_module, self.options, self.validate)
        optimizer = args[1]
        total = _total_steps(trainer)
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
        schedule = self.bounds.schedule(self.policy, total, ipe, self.step_size)
        momentum: bool | Schedule | None = self.momentum
        if momentum is False or (momentum is True and not _has_momentum(optimizer)):
            momentum = None
        self._warn_replaced(trainer)
        self._total, self._built = total, schedule
        self.scheduler = CyclicScheduler(
            optimizer, schedule, momentum=momentum, group_scale=group_ratios(optimizer)
        )
        trainer.strategy.lr_scheduler_configs = [
            LRSchedulerConfig(self.scheduler, name="cyclr", interval="step", frequency=1)
        ]

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        """Online: build the :class:`cyclr.torch.OnlineScheduler` (or restore the checkpoint's)
        and write its LR into the (restored) optimizer.

        Range-test mode: warn when the checkpoint's schedule, restored by the Trainer, is not
        the one built for this fit (e.g. a longer fit resumed from a shorter one's checkpoint:
        1cycle's updates past its end run at its final LR)."""
        if not self.online:
            self._check_resumed(trainer)
            return
        optimizer, _ = split_optimizers(trainer.optimizers, "the Trainer")
        total = _total_steps(trainer)
        saved, self._saved_online = self._saved_online, None
        if saved is not None:
            if saved["total_steps"] != total:
                warnings.warn(
                    f"AutoSchedule(online=True) resumes the checkpoint's schedule over "
                    f"{saved['total_steps']} updates; this fit runs {total}",
                    UserWarning,
                    stacklevel=2,
                )
            total = int(saved["total_steps"])
        elif trainer.global_step > 0:
            warnings.warn(
                f"AutoSchedule(online=True) starts at update {trainer.global_step} with no online "
                f"schedule in the checkpoint: it reads a new warm-up over the remaining "
                f"{total - trainer.global_step} updates",
                UserWarning,
                stacklevel=2,
            )
            total -= trainer.global_step
        options = dict(self.options)
        scheduler = _online(
            pl_module,
            optimizer,
            self.policy,
            total,
            self.step_size,
            self.method,
            self.momentum if isinstance(self.momentum, bool) else False,
            self.suggest_kwargs,
            options,
        )
        if saved is not None:
            _check_same(saved["config"], _config(scheduler.online))
            scheduler.load_state_dict(saved["scheduler"])
            if scheduler.online.step != trainer.global_step:
                warnings.warn(
                    f"the checkpoint's online schedule is at update {scheduler.online.step}, the "
                    f"Trainer at {trainer.global_step}: it continues from its own count",
                    UserWarning,
                    stacklevel=2,
                )
        self.scheduler = scheduler
        self.bounds, self.tests = scheduler.bounds, ()
        self._steps_before, self._pending = None, []

    def on_train_batch_start(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, batch: Any, batch_idx: int
    ) -> None:
        """Online: note the update count, to tell at the batch's end whether the optimizer
        stepped (not while it accumulates gradients)."""
        if self.online:
            self._steps_before = trainer.global_step

    def on_train_batch_end(
        self,
        trainer: pl.Trainer,
        pl_module: pl.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
    ) -> None:
        """Online: after an optimizer update, ``scheduler.step(loss)`` with its training loss."""
        if not self.online or self._steps_before is None:
            return
        before, self._steps_before = self._steps_before, None
        loss = outputs.get("loss") if isinstance(outputs, Mapping) else None
        if not isinstance(loss, torch.Tensor):
            raise ValueError(
                f"AutoSchedule(online=True) reads the training loss of every update, but "
                f"training_step returned no loss for batch {batch_idx} (got "
                f"{_describe(outputs)}): return the loss tensor, or a dict with 'loss'"
            )
        scheduler = self.scheduler
        if not isinstance(scheduler, OnlineScheduler):  # pragma: no cover - built at train start
            raise RuntimeError("AutoSchedule(online=True): no scheduler at the batch's end")
        k = trainer.accumulate_grad_batches
        # Lightning divides the loss by accumulate_grad_batches; the update's loss is the mean
        # of the micro-batches' losses.
        self._pending.append(loss.detach() if k == 1 else loss.detach().double() * k)
        if trainer.global_step == before:  # accumulating: no update yet
            return
        pending, self._pending = self._pending, []
        value = pending[0] if len(pending) == 1 else torch.stack(pending).mean()
        scheduler.step(value)
        self.bounds = scheduler.bounds

    # -- checkpoints -------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """The bounds and the tests, as plain data; online, the schedule's state."""
        if self.online:
            if isinstance(self.scheduler, OnlineScheduler):
                return {
                    "online": {
                        "total_steps": self.scheduler.online.total_steps,
                        "config": _config(self.scheduler.online),
                        "scheduler": self.scheduler.state_dict(),
                    }
                }
            return {} if self._saved_online is None else {"online": self._saved_online}
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
        """Take the bounds and tests of a checkpoint: the next fit start runs no test.

        Online: the schedule's state, restored when training starts."""
        if self.online:
            saved = state_dict.get("online")
            if saved is not None:
                self._saved_online = dict(saved)
            return
        if state_dict.get("bounds") is not None:
            total = state_dict.get("total_steps")
            self._saved_total = (
                None if total is None else v.integer("total_steps", total, minimum=1)
            )
            self.bounds = Bounds.from_dict(state_dict["bounds"])
            self.tests = tuple(RangeTestResult.from_dict(t) for t in state_dict.get("tests", []))

    # -- helpers -----------------------------------------------------------------------------
    def _check_resumed(self, trainer: pl.Trainer) -> None:
        sched, built = self.scheduler, self._built
        saved, self._saved_total, self._built = self._saved_total, None, None
        if not isinstance(sched, CyclicScheduler) or built is None:
            return
        if all(s == built for s in sched.schedules):
            return
        total = _total_steps(trainer)
        over = "" if saved is None else f" over {saved} updates"
        message = f"AutoSchedule resumes the checkpoint's schedule{over}; this fit runs {total}"
        if saved is not None and saved < total and self.policy == "one_cycle":
            final = sched.schedules[0].at(saved)
            message += f": updates {saved} to {total - 1} run at its final LR {final:.3g}"
        warnings.warn(message, UserWarning, stacklevel=2)
        if saved is not None:
            self._total = saved

    def _online_fit_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if not pl_module.automatic_optimization:
            raise ValueError(
                f"AutoSchedule(online=True) needs automatic optimization: "
                f"{type(pl_module).__name__} steps its optimizer itself; use "
                "cyclr.torch.auto_schedule(..., online=True) there and call scheduler.step(loss) "
                "after each optimizer.step()"
            )
        split_optimizers(trainer.optimizers, "the Trainer")  # exactly one optimizer
        _total_steps(trainer)
        self._warn_replaced(trainer)
        # Lightning would call scheduler.step() without the loss: the callback steps it.
        trainer.strategy.lr_scheduler_configs = []
        self.scheduler = None

    def _warn_replaced(self, trainer: pl.Trainer) -> None:
        replaced = [type(c.scheduler).__name__ for c in trainer.lr_scheduler_configs]
        if replaced:
            what = "online " if self.online else ""
            warnings.warn(
                f"AutoSchedule replaces the LR scheduler(s) of configure_optimizers "
                f"({', '.join(replaced)}) with its {what}{self.policy} schedule",
                UserWarning,
                stacklevel=3,
            )


def _total_steps(trainer: pl.Trainer) -> int:
    total = trainer.estimated_stepping_batches
    if not math.isfinite(total):
        raise ValueError("AutoSchedule needs a finite training length: set max_steps or max_epochs")
    return int(total)


def _check_online(
    method: str,
    momentum: bool | Schedule | None,
    coarse_iter: int,
    num_iter: int | None,
    options: Mapping[str, Any],
) -> None:
    """Refuse, when the callback is built, what ``online=True`` cannot use."""
    if method not in ("auto", "loss"):
        raise ValueError(
            f"online=True reads the training loss: method must be 'auto' or 'loss', got {method!r}"
        )
    if isinstance(momentum, Schedule):
        raise ValueError("online=True cycles momentum itself: pass momentum=True or False")
    if coarse_iter != COARSE_ITER or num_iter is not None:
        raise TypeError("online=True runs no range test: coarse_iter and num_iter do not apply")
    takes = (*_ONLINE_OPTIONS, "process_group")
    unknown = sorted(set(options) - set(takes))
    if unknown:
        raise TypeError(
            f"AutoSchedule(online=True) got unexpected options {unknown}; it takes "
            f"{list(takes)} (it runs no separate range test)"
        )


#: What must match between a checkpoint's online schedule and the one rebuilt to resume it.
_CONFIG = (
    "policy",
    "total_steps",
    "warmup_steps",
    "start_lr",
    "end_lr",
    "step_size",
    "method",
    "check_every",
    "cycle_momentum",
    "rollback",
)


def _config(online: OnlineController) -> dict[str, Any]:
    return {name: getattr(online, name) for name in _CONFIG}


def _check_same(saved: Mapping[str, Any], built: Mapping[str, Any]) -> None:
    differ = [f"{k}={saved.get(k)!r} vs {built[k]!r}" for k in built if saved.get(k) != built[k]]
    if differ:
        raise ValueError(
            "AutoSchedule(online=True) cannot resume the checkpoint's schedule with other "
            f"settings (checkpoint vs this callback): {', '.join(differ)}"
        )


def _describe(outputs: Any) -> str:
    if outputs is None or (isinstance(outputs, Mapping) and not outputs):
        return "None"
    if isinstance(outputs, Mapping):
        return f"a dict with keys {sorted(map(str, outputs))}"
    return type(outputs).__name__
