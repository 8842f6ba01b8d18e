"""``OnlineScheduleCallback``: a 1cycle (or CLR) whose bounds are read from the fit's own warm-up.

No range test runs: a :class:`cyclr.torch.OnlineScheduler` (:mod:`cyclr.online`) reads the bounds
while it trains, fed the training loss of every update by the callback (Lightning passes no loss
to a scheduler's ``step``).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

import lightning.pytorch as pl
import torch

from cyclr.lightning._callback import ScheduleCallback, total_steps
from cyclr.lightning._glue import split_optimizers
from cyclr.online import ONLINE_POLICIES, WARMUP_RANGE
from cyclr.suggest import Bounds
from cyclr.torch import OnlineScheduler, online_schedule

__all__ = ["OnlineScheduleCallback"]


class OnlineScheduleCallback(ScheduleCallback):
    """Train on a 1cycle (or triangular CLR) whose bounds are read from the fit's own warm-up.

    At the start of training it builds a :class:`cyclr.torch.OnlineScheduler` over
    ``trainer.estimated_stepping_batches`` updates (:func:`cyclr.torch.online_schedule`), whose
    warm-up is read as a range test while it trains (:mod:`cyclr.online`): :attr:`bounds` stays
    ``None`` until the loss has left its lowest plateau, then the rest of the cycle follows. No
    update is spent outside training. After every optimizer update the callback calls
    ``scheduler.step(loss)`` with that update's training loss, ``outputs["loss"]`` of
    ``training_step`` (the mean over the micro-batches of the update under
    ``accumulate_grad_batches``; averaged over ranks under ``torch.distributed``), so
    ``training_step`` must return the loss (a tensor, or a dict with ``"loss"``) on every
    batch. Any scheduler of ``configure_optimizers`` is dropped, with a warning.

    The schedule's state (the curve so far, the decision, the phase) is saved in checkpoints,
    and resuming from one continues the identical trajectory; a checkpoint taken between the
    micro-batches of an update loses that update's partial loss.

    Args:
        policy: ``"one_cycle"`` (Smith 2018) or ``"triangular"`` (Smith 2015).
        momentum: ``True`` cycles momentum inversely to the LR when the optimizer has
            momentum; ``False`` leaves it alone.
        step_size, suggest_kwargs, start_lr, end_lr, warmup_steps, check_every, rollback,
            process_group: as for :func:`cyclr.torch.online_schedule`.

    Attributes:
        bounds: the :class:`cyclr.Bounds` read (``None`` until the warm-up has been read).
        scheduler: the :class:`cyclr.torch.OnlineScheduler` (``decided_at``, ``log``,
            ``range_test_result``; ``None`` before training starts).

    Example:
        >>> import lightning.pytorch as pl, cyclr.lightning
        >>> online = cyclr.lightning.OnlineScheduleCallback("one_cycle")
        >>> trainer = pl.Trainer(max_steps=2000, callbacks=[online])  # doctest: +SKIP
        >>> trainer.fit(model, train_loader)  # doctest: +SKIP
        >>> online.bounds.max_lr, online.scheduler.decided_at  # doctest: +SKIP
        >>> cyclr.plot.online(online.scheduler)  # doctest: +SKIP
    """

    bounds: Bounds | None
    scheduler: OnlineScheduler | None

    def __init__(
        self,
        policy: str = "one_cycle",
        *,
        momentum: bool = True,
        step_size: int | None = None,
        suggest_kwargs: Mapping[str, Any] | None = None,
        start_lr: float = WARMUP_RANGE[0],
        end_lr: float = WARMUP_RANGE[1],
        warmup_steps: int | None = None,
        check_every: int | None = None,
        rollback: bool = True,
        process_group: Any = None,
    ) -> None:
        super().__init__(policy, ONLINE_POLICIES, step_size, suggest_kwargs)
        if not isinstance(momentum, bool):
            raise TypeError(f"momentum must be True or False, got {momentum!r}")
        self.momentum = momentum
        self.options: dict[str, Any] = {
            "start_lr": start_lr,
            "end_lr": end_lr,
            "warmup_steps": warmup_steps,
            "check_every": check_every,
            "rollback": rollback,
            "process_group": process_group,
        }
        self.scheduler = None
        self._saved: dict[str, Any] | None = None  # from a checkpoint, not yet applied
        self._steps_before: int | None = None  # trainer.global_step at the batch's start
        self._pending: list[torch.Tensor] = []  # the losses of the update's micro-batches

    def on_fit_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        """Check the fit and drop the schedulers of ``configure_optimizers``; the schedule is
        built at ``on_train_start``, once a checkpoint's training state is back."""
        if not pl_module.automatic_optimization:
            raise ValueError(
                f"OnlineScheduleCallback needs automatic optimization: "
                f"{type(pl_module).__name__} steps its optimizer itself; use "
                "cyclr.torch.online_schedule there and call scheduler.step(loss) after each "
                "optimizer.step()"
            )
        split_optimizers(trainer.optimizers, "the Trainer")  # exactly one optimizer
        total_steps(trainer, "OnlineScheduleCallback")
        self._warn_replaced(trainer, f"online {self.policy}")
        # Lightning would call scheduler.step() without the loss: the callback steps it.
        trainer.strategy.lr_scheduler_configs = []
        self.scheduler = None

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        """Build the :class:`cyclr.torch.OnlineScheduler` (or restore the checkpoint's) and
        write its LR into the (restored) optimizer."""
        optimizer, _ = split_optimizers(trainer.optimizers, "the Trainer")
        total = total_steps(trainer, "OnlineScheduleCallback")
        saved, self._saved = self._saved, None
        if saved is not None:
            if saved["total_steps"] != total:
                warnings.warn(
                    f"OnlineScheduleCallback resumes the checkpoint's schedule over "
                    f"{saved['total_steps']} updates; this fit runs {total}",
                    UserWarning,
                    stacklevel=2,
                )
            total = int(saved["total_steps"])
        elif trainer.global_step > 0:
            warnings.warn(
                f"OnlineScheduleCallback starts at update {trainer.global_step} with no online "
                f"schedule in the checkpoint: it reads a new warm-up over the remaining "
                f"{total - trainer.global_step} updates",
                UserWarning,
                stacklevel=2,
            )
            total -= trainer.global_step
        scheduler = online_schedule(
            pl_module,
            optimizer,
            policy=self.policy,
            total_steps=total,
            step_size=self.step_size,
            momentum=self.momentum,
            suggest_kwargs=self.suggest_kwargs,
            **self.options,
        )
        if saved is not None:
            scheduler.load_state_dict(saved["scheduler"])  # refuses other settings
            if scheduler.online.step != trainer.global_step:
                warnings.warn(
                    f"the checkpoint's online schedule is at update {scheduler.online.step}, the "
                    f"Trainer at {trainer.global_step}: it continues from its own count",
                    UserWarning,
                    stacklevel=2,
                )
        self.scheduler = scheduler
        self.bounds = scheduler.bounds
        self._steps_before, self._pending = None, []

    def on_train_batch_start(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, batch: Any, batch_idx: int
    ) -> None:
        """Note the update count, to tell at the batch's end whether the optimizer stepped
        (not while it accumulates gradients)."""
        self._steps_before = trainer.global_step

    def on_train_batch_end(
        self,
        trainer: pl.Trainer,
        pl_module: pl.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
    ) -> None:
        """After an optimizer update, ``scheduler.step(loss)`` with its training loss."""
        if self._steps_before is None:
            return
        before, self._steps_before = self._steps_before, None
        loss = outputs.get("loss") if isinstance(outputs, Mapping) else None
        if not isinstance(loss, torch.Tensor):
            raise ValueError(
                f"OnlineScheduleCallback reads the training loss of every update, but "
                f"training_step returned no loss for batch {batch_idx} (got "
                f"{_describe(outputs)}): return the loss tensor, or a dict with 'loss'"
            )
        scheduler = self.scheduler
        if scheduler is None:  # pragma: no cover - built at train start
            raise RuntimeError("OnlineScheduleCallback: no scheduler at the batch's end")
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

    def state_dict(self) -> dict[str, Any]:
        """The schedule's length and state (its settings, the curve so far, the decision, the
        phase, and until the decision the rollback snapshot's tensors)."""
        if self.scheduler is not None:
            return {
                "total_steps": self.scheduler.online.total_steps,
                "scheduler": self.scheduler.state_dict(),
            }
        return {} if self._saved is None else dict(self._saved)

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Take the schedule's state of a checkpoint, restored when training starts."""
        if state_dict.get("scheduler") is not None:
            self._saved = dict(state_dict)


def _describe(outputs: Any) -> str:
    if outputs is None or (isinstance(outputs, Mapping) and not outputs):
        return "None"
    if isinstance(outputs, Mapping):
        return f"a dict with keys {sorted(map(str, outputs))}"
    return type(outputs).__name__
