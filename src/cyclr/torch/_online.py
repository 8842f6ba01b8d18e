"""``OnlineScheduler``: 1cycle or CLR whose bounds are read from the run's own warm-up.

The reading is :class:`cyclr.online.OnlineController` (numpy, the offline rules of
``cyclr.suggest``); this module feeds it the batch loss (averaged over ranks under
``torch.distributed``) and writes its LR and momentum into the optimizer.
"""

from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
from torch.optim import Optimizer
from torch.optim.lr_scheduler import LRScheduler

from cyclr.online.schedule import OnlineController
from cyclr.range_test.result import RangeTestResult
from cyclr.suggest import Bounds
from cyclr.torch import _rollback as rollback
from cyclr.torch._args import MAX_SKIPPED
from cyclr.torch._param_groups import find_momentum, group_ratios, write
from cyclr.torch._scheduler import CountsUpdates

__all__ = ["OnlineScheduler"]


def _loss_tensor(loss: Any) -> torch.Tensor:
    """``loss`` (a tensor, a Python or numpy number, or a one-element array) as a 0-d tensor:
    float64, float32 on MPS."""
    if isinstance(loss, torch.Tensor):
        if loss.dtype == torch.bool or loss.is_complex():
            raise TypeError(f"loss must hold a real number, got a {loss.dtype} tensor")
        t = loss.detach()
        if t.numel() != 1:
            raise ValueError(
                f"loss must be a scalar (one number per update), got shape {tuple(t.shape)}"
            )
        return t.reshape(()).to(torch.float64 if t.device.type != "mps" else torch.float32)
    if isinstance(loss, (np.ndarray, np.generic)) and np.asarray(loss).dtype.kind in "fiu":
        arr = np.asarray(loss)
        if arr.size != 1:
            raise ValueError(
                f"loss must be a scalar (one number per update), got shape {arr.shape}"
            )
        return torch.tensor(float(arr.reshape(())), dtype=torch.float64)
    if isinstance(loss, numbers.Real) and not isinstance(loss, bool):
        return torch.tensor(float(loss), dtype=torch.float64)
    shown = repr(loss)
    shown = shown if len(shown) <= 60 else shown[:57] + "..."
    raise TypeError(f"loss must be a tensor or a number, got {shown} ({type(loss).__name__})")


#: Backends that reduce CPU tensors (a ``"cpu:gloo,cuda:nccl"`` config names its devices).
_CPU_BACKENDS = ("gloo", "mpi", "ucc")


def _reduce_device(backend: str, loss: torch.device, params: torch.device) -> torch.device:
    """Where a loss on ``loss`` is all-reduced by ``backend``, for a model on ``params``: where
    it is when the backend takes that device; a CPU loss under a backend without CPU support
    (NCCL) goes to the current CUDA device for NCCL, else to the parameters' device."""
    if loss.type != "cpu":
        return loss
    for part in str(backend).lower().split(","):
        device, _, name = part.strip().rpartition(":")
        if device == "cpu" or (not device and name in _CPU_BACKENDS):
            return loss
    if "nccl" in str(backend).lower():
        return torch.device("cuda")  # the current CUDA device, the one NCCL reduces on
    return params


class OnlineScheduler(CountsUpdates, LRScheduler):
    """Drive an optimizer with an :class:`cyclr.online.OnlineController`: call
    ``scheduler.step(loss)`` after every ``optimizer.step()``, with that update's batch loss.

    The warm-up is an LR range test that keeps its progress: once its curve shows where the
    loss leaves its floor, the bounds are fixed (:attr:`bounds`) and the rest of the 1cycle
    (or CLR) follows. With ``rollback`` the weights, the optimizer's state and (given
    ``model``) the model's buffers go back at the decision to the last look on the floor;
    without ``model`` the buffers stay, and a ``UserWarning`` says so. Every param group keeps
    its LR ratio to the first group with a positive LR; momentum cycles inversely when the
    schedule's ``cycle_momentum`` is on. An update the optimizer did not apply (a skipping
    ``GradScaler``) is not counted (:attr:`skipped`); under ``torch.distributed`` the loss is
    averaged over the ranks. ``state_dict()`` is a copy, and resuming from it continues the
    identical trajectory. docs/online.md has the details (rollback, skipped updates, blow-ups,
    distributed runs, checkpoints).

    Example:
        >>> from cyclr.torch import online_schedule
        >>> torch.manual_seed(0)  # doctest: +ELLIPSIS
        <torch._C.Generator object at ...>
        >>> x = torch.randn(2048, 10); y = (x[:, 0] + x[:, 1] > 0).long()
        >>> model = torch.nn.Sequential(torch.nn.Linear(10, 32), torch.nn.ReLU(),
        ...                             torch.nn.Linear(32, 2))
        >>> opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        >>> sched = online_schedule(model, opt, total_steps=600)
        >>> for i in range(600):
        ...     idx = torch.randint(0, 2048, (32,))
        ...     loss = torch.nn.functional.cross_entropy(model(x[idx]), y[idx])
        ...     opt.zero_grad(); loss.backward(); opt.step()
        ...     sched.step(loss)
        >>> sched.bounds is not None and sched.decided_at < 300
        True
    """

    def __init__(
        self,
        optimizer: Optimizer,
        online: OnlineController,
        *,
        process_group: Any = None,
        model: torch.nn.Module | None = None,
        last_epoch: int = -1,
    ) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"optimizer must be a torch.optim.Optimizer, got {optimizer!r}")
        if not isinstance(online, OnlineController):
            raise TypeError(f"online must be a cyclr.online.OnlineController, got {online!r}")
        if model is not None and not isinstance(model, torch.nn.Module):
            raise TypeError(f"model must be a torch.nn.Module or None, got {model!r}")
        if model is None and online.rollback:
            warnings.warn(
                "OnlineScheduler(model=None) with rollback: at the decision the weights and "
                "the optimizer's state go back, but not the model's buffers (BatchNorm "
                "running statistics); pass model= to restore them too",
                UserWarning,
                stacklevel=2,
            )
        self.online = online
        self.process_group = process_group
        self.model = model
        self._snapshot: dict[str, Any] | None = None
        #: Updates the optimizer did not apply (a ``GradScaler`` skipping inf/NaN gradients).
        self.skipped = 0
        self._skipped_in_row = 0
        self._optimizer_steps = 0
        self._seen_optimizer_steps = 0
        self._attach(optimizer)
        self._momentum = find_momentum(optimizer) if online.cycle_momentum else None
        self._warned = 0
        self._ratios = group_ratios(optimizer)
        super().__init__(optimizer, last_epoch)
        if online.rollback and online.decided_at is None:
            self._snapshot = self._take()

    # -- what the user reads ------------------------------------------------------------------
    @property
    def bounds(self) -> Bounds | None:
        """The bounds read from the warm-up (``None`` until they are)."""
        return self.online.bounds

    @property
    def decided_at(self) -> int | None:
        """The update at which the bounds were fixed (``None`` before)."""
        return self.online.decided_at

    @property
    def range_test_result(self) -> RangeTestResult:
        """The warm-up so far, as a range test (for ``cyclr.plot.range_test``)."""
        return self.online.result()

    @property
    def log(self) -> list[str]:
        """What the schedule decided and every blow-up it handled, in order."""
        return list(self.online.log)

    # -- the LRScheduler contract ---------------------------------------------------------------
    def get_lr(self) -> list[float]:  # type: ignore[override]
        """The LR of the next update, for every param group."""
        lr = self.online.lr()
        return [lr * r for r in self._ratios]

    def step(self, loss: Any = None, epoch: None = None) -> None:  # type: ignore[override]
        """Record ``loss`` (the batch loss of the update just taken) and set the next LR.

        ``loss``: a tensor with one element, or a Python or numpy number. An update the
        optimizer did not apply (a ``GradScaler`` skipped it) neither moves the schedule nor
        enters the curve, unless its loss is non-finite (a blow-up). The first call, from
        ``LRScheduler.__init__``, only applies the first LR.
        """
        if epoch is not None:
            raise TypeError("OnlineScheduler.step takes the batch loss, not an epoch")
        if self._step_count == 0:  # the call from LRScheduler.__init__
            self._step_count = 1
            self.last_epoch += 1
            self._apply()
            return
        if loss is None:
            raise TypeError(
                "OnlineScheduler.step needs the batch loss: call scheduler.step(loss) after "
                "optimizer.step() (it reads the bounds from the losses of the warm-up)"
            )
        t = _loss_tensor(loss)
        applied = self._optimizer_steps != self._seen_optimizer_steps
        self._seen_optimizer_steps = self._optimizer_steps
        value, skipped = self._reduce(t, not applied)
        if not math.isfinite(value):
            self._check_weights(value)
        elif skipped:
            self._skip()
            return
        self._skipped_in_row = 0
        before = len(self.online.log)
        undecided = self.online.decided_at is None
        self.online.observe(value)
        if undecided and self.online.rollback:
            self._after_look()
        self._step_count += 1
        self.last_epoch += 1
        for line in self.online.log[before:]:
            if ": bounds read (" in line:  # the decision: the event before it was warned of
                continue
            if "blew up" in line or "could not" in line or "without a reading" in line:
                warnings.warn(f"cyclr online schedule: {line}", RuntimeWarning, stacklevel=2)
        self._apply()

    def _skip(self) -> None:
        self.skipped += 1
        self._skipped_in_row += 1
        if self._skipped_in_row == MAX_SKIPPED:
            warnings.warn(
                f"cyclr online schedule: the optimizer applied none of the last {MAX_SKIPPED} "
                f"updates (a GradScaler skipping inf/NaN gradients?); the schedule waits at "
                f"update {self.online.step} (lr={self.online.lr():.3g})",
                RuntimeWarning,
                stacklevel=3,
            )

    # -- rollback -------------------------------------------------------------------------------
    def _tensors(self) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        params = [p for g in self.optimizer.param_groups for p in g["params"]]
        buffers = [] if self.model is None else list(self.model.buffers())
        return params, buffers

    def _take(self) -> dict[str, Any]:
        """A copy of the weights, the optimizer's state and the model's buffers, now."""
        return rollback.take(self.online.step, *self._tensors(), self.optimizer)

    def _retake(self) -> None:
        """Replace the rollback copy with one of now. The old copy's tensors are let go
        first, so that one copy is alive at a time."""
        old = self._snapshot
        if old is not None:
            old["params"], old["buffers"], old["optimizer"] = [], [], []
        try:
            self._snapshot = self._take()
        except BaseException:
            self._snapshot = None
            raise

    def _after_look(self) -> None:
        on = self.online
        if on.decided_at is None:
            if on.floor_at == on.step:
                self._retake()
            return
        snap, self._snapshot = self._snapshot, None
        if on.rolled_back_to is None or snap is None:
            return
        if snap["step"] != on.rolled_back_to:  # pragma: no cover - kept in step by _after_look
            raise RuntimeError(
                f"the snapshot is from update {snap['step']}, the schedule goes back to "
                f"{on.rolled_back_to}"
            )
        rollback.put_back(snap, *self._tensors(), self.optimizer)

    def _reduce(self, t: torch.Tensor, skipped: bool) -> tuple[float, bool]:
        """The loss averaged over the ranks, and whether any rank skipped the update."""
        dist = torch.distributed
        if not (dist.is_available() and dist.is_initialized()):
            return float(t.item()), skipped
        group = self.process_group
        params = self.optimizer.param_groups[0]["params"]
        device = _reduce_device(
            dist.get_backend(group), t.device, params[0].device if params else t.device
        )
        flag = torch.tensor(float(skipped), dtype=t.dtype, device=device)
        vec = torch.stack([t.to(device), flag])
        dist.all_reduce(vec, group=group)
        total, skips = vec.tolist()
        return total / dist.get_world_size(group), skips > 0

    def _check_weights(self, value: float) -> None:
        for group in self.optimizer.param_groups:
            for p in group["params"]:
                if not torch.isfinite(p.detach()).all():
                    raise FloatingPointError(
                        f"the loss is {value} and the weights are no longer finite at update "
                        f"{self.online.step} (lr={self.online.lr():.3g}); restore a checkpoint "
                        "and start the warm-up lower (start_lr) or check the model"
                    )

    def _apply(self) -> None:
        lrs = self.get_lr()
        groups = self.optimizer.param_groups
        write(groups, "lr", lrs)
        mom = self._momentum
        if mom is not None:
            m = self.online.momentum()
            write([groups[i] for i in mom.groups], mom.field, [m] * len(mom.groups))
        self._last_lr = [lr for lr in lrs]

    # -- state --------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """A copy of the state: plain data, and until the decision a copy of the rollback
        snapshot's tensors (loads with ``torch.load(..., weights_only=True)``). Training
        after the call does not change it."""
        state: dict[str, Any] = {
            "last_epoch": self.last_epoch,
            "step_count": self._step_count,
            "online": self.online.state_dict(),
            "base_lrs": [float(x) for x in self.base_lrs],
            "skipped": self.skipped,
        }
        if self._snapshot is not None:
            state["rollback_snapshot"] = rollback.clone(self._snapshot)
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore from :meth:`state_dict` (a copy of it: the state given stays the caller's)
        and write the next update's LR into the optimizer.

        Raises ``ValueError`` for a state saved with other schedule settings.
        """
        if not isinstance(state_dict, Mapping) or "online" not in state_dict:
            raise ValueError("not an OnlineScheduler state_dict: missing 'online'")
        online = state_dict["online"]
        last_epoch = int(state_dict["last_epoch"])
        step_count = int(state_dict["step_count"])
        snap = state_dict.get("rollback_snapshot")
        undecided = isinstance(online, Mapping) and online.get("decided_at") is None
        loaded = rollback.load(snap, *self._tensors()) if snap is not None and undecided else None
        self.online.load_state_dict(online)
        self.last_epoch, self._step_count = last_epoch, step_count
        self.base_lrs = [float(x) for x in state_dict.get("base_lrs", self.base_lrs)]
        self.skipped = int(state_dict.get("skipped", 0))
        self._skipped_in_row = 0
        self._seen_optimizer_steps = self._optimizer_steps
        self._snapshot = loaded if self.online.rollback else None
        self._apply()

    def __repr__(self) -> str:
        state = "warming up" if self.decided_at is None else f"bounds read at {self.decided_at}"
        return f"OnlineScheduler(policy={self.online.policy!r}, step={self.online.step}, {state})"
