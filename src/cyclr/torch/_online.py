"""``OnlineScheduler``: 1cycle or CLR whose bounds are read from the run's own warm-up.

The reading is :class:`cyclr.online.OnlineSchedule` (numpy, the offline rules of
``cyclr.suggest``); this module feeds it the batch loss (averaged over ranks under
``torch.distributed``) and writes its LR and momentum into the optimizer.
"""

from __future__ import annotations

import copy
import math
import warnings
from typing import Any

import torch
from torch.optim import Optimizer
from torch.optim.lr_scheduler import LRScheduler

from cyclr.online.schedule import OnlineSchedule
from cyclr.range_test.result import RangeTestResult
from cyclr.suggest import Bounds

__all__ = ["OnlineScheduler"]


def _copy_state(state: dict[str, Any] | None) -> dict[str, Any] | None:
    """A copy of one parameter's optimizer state (tensors cloned), ``None`` if it has none."""
    if not state:
        return None
    return {
        k: v.detach().clone() if isinstance(v, torch.Tensor) else copy.deepcopy(v)
        for k, v in state.items()
    }


def _to(value: Any, device: torch.device) -> Any:
    """A loaded state value on the device of its parameter (a scalar step stays where it is)."""
    if isinstance(value, torch.Tensor) and value.dim() > 0:
        return value.to(device)
    return value


def _momentum_key(optimizer: Optimizer) -> str | None:
    group = optimizer.param_groups[0]
    if "betas" in group:
        return "betas"
    m = group.get("momentum", 0)
    return "momentum" if isinstance(m, (int, float)) and m > 0 else None


def _set(group: dict[str, Any], key: str, value: float) -> None:
    cur = group[key]
    if isinstance(cur, torch.Tensor):
        cur.fill_(value)
    else:
        group[key] = value


class OnlineScheduler(LRScheduler):
    """Drive an optimizer with an :class:`cyclr.online.OnlineSchedule`: call
    ``scheduler.step(loss)`` after every ``optimizer.step()``, with that update's batch loss.

    The warm-up is an LR range test that keeps its progress: once its curve shows where the
    loss leaves its floor, the bounds are fixed (:attr:`bounds`) and the rest of the 1cycle
    (or CLR) follows. No update is spent outside training. With the schedule's ``rollback``
    (the default), the weights, the optimizer's state and (given ``model``) the model's buffers
    go back at the decision to those of the last look at which the loss was on its floor: a copy
    is kept during the warm-up (memory for one more set of weights and optimizer state), and the
    few dozen updates past the floor are undone rather than trained on. Every
    param group gets the same LR; momentum (SGD's ``momentum`` > 0, or ``betas[0]``) cycles
    inversely when the schedule's ``cycle_momentum`` is on.

    Under ``torch.distributed`` the loss is averaged over the ranks (one ``all_reduce`` per
    update), so every rank reads the same curve and decides the same. A non-finite loss with
    non-finite weights raises ``FloatingPointError``; a blow-up with finite weights is handled
    as the schedule says (bounds read up to it, or the rest halved) and warned about.

    ``state_dict()`` holds the curve so far, the decision and the phase (and, during the
    warm-up, the rollback copy as tensors): resuming from it (and the model's and optimizer's
    states) continues the identical trajectory.

    Example:
        >>> import torch
        >>> from cyclr.torch import auto_schedule
        >>> torch.manual_seed(0)  # doctest: +ELLIPSIS
        <torch._C.Generator object at ...>
        >>> x = torch.randn(2048, 10); y = (x[:, 0] + x[:, 1] > 0).long()
        >>> model = torch.nn.Sequential(torch.nn.Linear(10, 32), torch.nn.ReLU(),
        ...                             torch.nn.Linear(32, 2))
        >>> opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        >>> sched = auto_schedule(model, opt, None, None, total_steps=600, online=True)
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
        online: OnlineSchedule,
        *,
        process_group: Any = None,
        model: torch.nn.Module | None = None,
        last_epoch: int = -1,
    ) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"optimizer must be a torch.optim.Optimizer, got {optimizer!r}")
        if not isinstance(online, OnlineSchedule):
            raise TypeError(f"online must be a cyclr.online.OnlineSchedule, got {online!r}")
        if model is not None and not isinstance(model, torch.nn.Module):
            raise TypeError(f"model must be a torch.nn.Module or None, got {model!r}")
        self.online = online
        self.process_group = process_group
        self.model = model
        self._snapshot: dict[str, Any] | None = None
        self._momentum_key = _momentum_key(optimizer) if online.cycle_momentum else None
        self._warned = 0
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
        return [self.online.lr()] * len(self.optimizer.param_groups)

    def step(self, loss: Any = None, epoch: None = None) -> None:  # type: ignore[override]
        """Record ``loss`` (the batch loss of the update just taken) and set the next LR.

        The first call, from ``LRScheduler.__init__``, only applies the first LR.
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
        value = self._reduce(loss)
        if not math.isfinite(value):
            self._check_weights(value)
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

    # -- rollback -------------------------------------------------------------------------------
    def _tensors(self) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        params = [p for g in self.optimizer.param_groups for p in g["params"]]
        buffers = [] if self.model is None else list(self.model.buffers())
        return params, buffers

    def _take(self) -> dict[str, Any]:
        """A copy of the weights, the optimizer's state and the model's buffers, now."""
        params, buffers = self._tensors()
        return {
            "step": self.online.step,
            "params": [p.detach().clone() for p in params],
            "buffers": [b.detach().clone() for b in buffers],
            # per parameter (None: no state yet); the param groups are the schedule's to set
            "optimizer": [_copy_state(self.optimizer.state.get(p)) for p in params],
        }

    def _after_look(self) -> None:
        on = self.online
        if on.decided_at is None:
            if on.floor_at == on.step:
                self._snapshot = self._take()
            return
        snap, self._snapshot = self._snapshot, None
        if on.rolled_back_to is None or snap is None:
            return
        if snap["step"] != on.rolled_back_to:  # pragma: no cover - kept in step by _after_look
            raise RuntimeError(
                f"the snapshot is from update {snap['step']}, the schedule goes back to "
                f"{on.rolled_back_to}"
            )
        params, buffers = self._tensors()
        with torch.no_grad():
            for p, saved in zip(params, snap["params"]):
                p.copy_(saved)
            for b, saved in zip(buffers, snap["buffers"]):
                b.copy_(saved)
        # In place: code holding the optimizer's param groups keeps seeing the live ones.
        for p, saved in zip(params, snap["optimizer"]):
            if saved is None:
                self.optimizer.state.pop(p, None)
            else:
                self.optimizer.state[p] = saved

    def _reduce(self, loss: Any) -> float:
        if isinstance(loss, torch.Tensor):
            t = loss.detach()
            if t.numel() != 1:
                raise ValueError(
                    f"loss must be a scalar (one number per update), got shape {tuple(t.shape)}"
                )
            t = t.reshape(()).to(torch.float64 if t.device.type != "mps" else torch.float32)
        elif isinstance(loss, (int, float)) and not isinstance(loss, bool):
            t = torch.tensor(float(loss), dtype=torch.float64)
        else:
            raise TypeError(f"loss must be a tensor or a number, got {type(loss).__name__}")
        dist = torch.distributed
        if dist.is_available() and dist.is_initialized():
            t = t.clone()
            dist.all_reduce(t, group=self.process_group)
            t /= dist.get_world_size(self.process_group)
        return float(t.item())

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
        lr = self.online.lr()
        for g in self.optimizer.param_groups:
            _set(g, "lr", lr)
        key = self._momentum_key
        if key is not None:
            m = self.online.momentum()
            for g in self.optimizer.param_groups:
                if key == "momentum":
                    _set(g, "momentum", m)
                elif isinstance(g["betas"][0], torch.Tensor):
                    g["betas"][0].fill_(m)
                else:
                    g["betas"] = (m, *g["betas"][1:])
        self._last_lr = [lr] * len(self.optimizer.param_groups)

    # -- state --------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """Plain data, and the rollback copy's tensors until the decision (loads with
        ``torch.load(..., weights_only=True)``)."""
        state: dict[str, Any] = {
            "last_epoch": self.last_epoch,
            "step_count": self._step_count,
            "online": self.online.state_dict(),
            "base_lrs": [float(x) for x in self.base_lrs],
        }
        if self._snapshot is not None:  # tensors: still loads with weights_only=True
            state["rollback_snapshot"] = self._snapshot
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore from :meth:`state_dict` and write the next update's LR into the optimizer."""
        if "online" not in state_dict:
            raise ValueError("not an OnlineScheduler state_dict: missing 'online'")
        self.online.load_state_dict(state_dict["online"])
        self.last_epoch = int(state_dict["last_epoch"])
        self._step_count = int(state_dict["step_count"])
        self.base_lrs = list(state_dict.get("base_lrs", self.base_lrs))
        snap = state_dict.get("rollback_snapshot")
        if snap is not None:
            params, buffers = self._tensors()
            snap = dict(snap)
            snap["params"] = [s.to(p.device) for s, p in zip(snap["params"], params)]
            snap["buffers"] = [s.to(b.device) for s, b in zip(snap["buffers"], buffers)]
            snap["optimizer"] = [
                None if st is None else {k: _to(v, p.device) for k, v in st.items()}
                for st, p in zip(snap["optimizer"], params)
            ]
        self._snapshot = snap if self.online.decided_at is None else None
        self._apply()

    def __repr__(self) -> str:
        state = "warming up" if self.decided_at is None else f"bounds read at {self.decided_at}"
        return f"OnlineScheduler(policy={self.online.policy!r}, step={self.online.step}, {state})"
