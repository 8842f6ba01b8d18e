"""``CyclicScheduler``: any cyclr schedule as a PyTorch ``LRScheduler``, with momentum cycling."""

from __future__ import annotations

import contextlib
import warnings
import weakref
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np
from torch import Tensor
from torch.optim import Optimizer
from torch.optim.lr_scheduler import LRScheduler

from cyclr import _validate as v
from cyclr.range_test.checks import group_lr_ratios
from cyclr.schedules.base import Schedule, schedule_from_dict
from cyclr.torch._param_groups import Momentum, find_momentum, no_momentum, write

__all__ = ["CyclicScheduler"]

#: Steps evaluated at once by the vectorised schedule path; ``step()`` then only reads a list.
_BLOCK = 256

#: ``id(optimizer)`` -> how many ``pause_counting`` blocks are open for it.
_PAUSED: dict[int, int] = {}

# torch.optim.lr_scheduler.LRScheduler's messages, word for word.
_ORDER_WARNING = (
    "Detected call of `lr_scheduler.step()` before `optimizer.step()`. "
    "In PyTorch 1.1.0 and later, you should call them in the opposite order: "
    "`optimizer.step()` before `lr_scheduler.step()`.  Failure to do this "
    "will result in PyTorch skipping the first value of the learning rate schedule. "
    "See more details at "
    "https://pytorch.org/docs/stable/optim.html#how-to-adjust-learning-rate"
)
_OVERRIDE_WARNING = (
    "Seems like `optimizer.step()` has been overridden after learning rate scheduler "
    "initialization. Please, make sure to call `optimizer.step()` before "
    "`lr_scheduler.step()`. See more details at "
    "https://pytorch.org/docs/stable/optim.html#how-to-adjust-learning-rate"
)


def _step_counter(ref: weakref.ReferenceType[CountsUpdates]) -> Callable[..., None]:
    """The optimizer's step post-hook: counts updates for the scheduler behind ``ref``.

    It holds the scheduler only weakly, so the hook never keeps a dropped scheduler alive.
    """

    def count(optimizer: Optimizer, *_: Any) -> None:
        sched = ref()
        if sched is not None and not (_PAUSED and id(optimizer) in _PAUSED):
            sched._optimizer_steps += 1

    return count


@contextlib.contextmanager
def _paused(optimizer: Optimizer) -> Iterator[None]:
    key = id(optimizer)
    _PAUSED[key] = _PAUSED.get(key, 0) + 1
    try:
        yield
    finally:
        left = _PAUSED[key] - 1
        if left:
            _PAUSED[key] = left
        else:
            del _PAUSED[key]


def _schedules(name: str, value: Any, groups: int) -> list[Schedule]:
    if isinstance(value, Schedule):
        items = [value] * groups
    elif isinstance(value, (list, tuple)):
        items = list(value)
    else:
        raise TypeError(f"{name} must be a cyclr Schedule or a list of them, got {value!r}")
    if len(items) != groups:
        raise ValueError(
            f"{name} must be one Schedule or one per param group ({groups}), got {len(items)}"
        )
    for i, s in enumerate(items):
        if not isinstance(s, Schedule):
            raise TypeError(f"{name}[{i}] must be a cyclr Schedule, got {s!r}")
    return items


class CountsUpdates:
    """A scheduler that counts its optimizer's applied updates (``_optimizer_steps``) through a
    step post-hook, which a finalizer removes with the scheduler; it pickles and deep-copies
    without the hook and attaches a new one to the restored optimizer."""

    optimizer: Optimizer
    _optimizer_steps: int

    def _attach(self, optimizer: Optimizer) -> None:
        """Register the step-counting hook; a finalizer removes it with the scheduler."""
        handle = optimizer.register_step_post_hook(_step_counter(weakref.ref(self)))
        self._hook = handle
        self._finalizer = weakref.finalize(self, handle.remove)
        self._finalizer.atexit = False

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state.pop("_hook", None)
        state.pop("_finalizer", None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        """Unpickle (or deep-copy) and count the updates of the restored optimizer."""
        self.__dict__.update(state)
        self._attach(self.optimizer)


class CyclicScheduler(CountsUpdates, LRScheduler):
    """Drive an optimizer's LR (and optionally momentum) with cyclr schedules, once per update.

    Call ``scheduler.step()`` after every ``optimizer.step()``. After construction the LR is
    ``schedule(0)``; after ``k`` calls to ``step()`` it is ``schedule(k)``.

    Args:
        optimizer: any ``torch.optim.Optimizer``.
        schedule: one :class:`cyclr.Schedule` for all param groups, or one per group.
        momentum: ``None`` (leave momentum alone), ``True`` (the schedule's inverse companion,
            0.95 → 0.85 → 0.95, Smith 2018 §4.3), or a Schedule / one per group. Cycles SGD's
            and RMSprop's ``momentum`` or the Adam family's ``betas[0]``. A group created with
            momentum 0 keeps no velocity and is left at 0; an optimizer with no group to cycle
            is refused (``ValueError``).
        group_scale: with a single schedule: ``None`` gives every group the same LR;
            ``"ratio"`` scales it by each group's initial LR relative to that of the first group
            with a positive LR (discriminative LRs; a group at LR 0 stays at 0, see
            :func:`cyclr.range_test.checks.group_lr_ratios`); a sequence gives explicit factors
            (>= 0; 0 keeps a group frozen).
        skip_unapplied: advance only when ``optimizer.step()`` actually ran since the last
            ``scheduler.step()`` — e.g. when a ``torch.amp.GradScaler`` skipped an inf/NaN step.
        last_epoch: the last completed step when resuming without ``load_state_dict``.

    A tensor LR (``torch.optim.SGD(params, lr=torch.tensor(0.01))``), momentum or ``betas[0]``
    is updated in place with ``fill_``, as torch's own schedulers do, so a compiled optimizer
    step is not recompiled. ``get_last_lr()`` returns floats.

    Like ``torch.optim.lr_scheduler.LRScheduler``, the first ``step()`` warns when no
    ``optimizer.step()`` came before it.

    :meth:`load_state_dict` writes the schedule's current LR and momentum into the optimizer,
    so it does not matter whether the optimizer's own state was loaded before or after.

    The scheduler counts the optimizer's updates (for ``skip_unapplied``) with a step post-hook
    that holds it only weakly; the hook goes when the scheduler is garbage-collected or closed
    with :meth:`close`. A copy (``pickle``, ``copy.deepcopy``) counts the updates of its own copy
    of the optimizer. :meth:`pause_counting` hides updates from every ``CyclicScheduler`` of an
    optimizer (an LR range test run on a live training setup uses it).

    Example:
        >>> from cyclr.torch import CyclicScheduler
        >>> model = torch.nn.Linear(4, 2)
        >>> opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        >>> sched = CyclicScheduler(opt, cyclr.OneCycle(max_lr=0.2, total_steps=101),
        ...                         momentum=True)
        >>> opt.param_groups[0]["lr"], opt.param_groups[0]["momentum"]
        (0.02, 0.95)
        >>> for _ in range(45):
        ...     opt.step(); sched.step()
        >>> round(sched.get_last_lr()[0], 6), round(opt.param_groups[0]["momentum"], 6)
        (0.2, 0.85)
    """

    def __init__(
        self,
        optimizer: Optimizer,
        schedule: Schedule | Sequence[Schedule],
        momentum: bool | Schedule | Sequence[Schedule] | None = None,
        group_scale: str | Sequence[float] | None = None,
        skip_unapplied: bool = False,
        last_epoch: int = -1,
    ) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"optimizer must be a torch.optim.Optimizer, got {optimizer!r}")
        groups = optimizer.param_groups
        n = len(groups)
        self.schedules = _schedules("schedule", schedule, n)
        self.group_scales = self._group_scales(optimizer, schedule, group_scale, last_epoch)
        self.momentums: list[Schedule] | None = None
        self._momentum: Momentum | None = None
        if momentum is not None and momentum is not False:
            if momentum is True:
                momentum = [s.momentum() for s in self.schedules]
            self.momentums = _schedules("momentum", momentum, n)
            self._momentum = self._find_momentum(optimizer)
        if not isinstance(skip_unapplied, bool):
            raise TypeError(f"skip_unapplied must be a bool, got {skip_unapplied!r}")
        self.skip_unapplied = skip_unapplied
        self._optimizer_steps = 0
        self._seen_optimizer_steps = 0
        v.integer("last_epoch", last_epoch, minimum=-1)
        self._block_start = -_BLOCK
        self._attach(optimizer)
        super().__init__(optimizer, last_epoch)

    def close(self) -> None:
        """Remove the hook this scheduler put on its optimizer (idempotent).

        Dropping the scheduler does the same; call this to detach one that stays referenced.
        A closed ``skip_unapplied`` scheduler no longer sees optimizer updates, so its
        ``step()`` no longer advances.

        Example:
            >>> from cyclr.torch import CyclicScheduler
            >>> opt = torch.optim.SGD(torch.nn.Linear(2, 1).parameters(), lr=0.1)
            >>> sched = CyclicScheduler(opt, cyclr.Constant(0.1))
            >>> len(opt._optimizer_step_post_hooks)
            1
            >>> sched.close()
            >>> len(opt._optimizer_step_post_hooks)
            0
        """
        self._finalizer()

    @staticmethod
    def pause_counting(optimizer: Optimizer) -> contextlib.AbstractContextManager[None]:
        """Context manager: ``optimizer`` updates inside it are not counted by any scheduler.

        It affects every ``CyclicScheduler`` attached to ``optimizer``; only ``skip_unapplied``
        schedulers read the count, so after the block their next ``step()`` advances only if
        the optimizer stepped again since. Blocks nest and end cleanly on an exception.

        Example:
            >>> from cyclr.torch import CyclicScheduler
            >>> opt = torch.optim.SGD(torch.nn.Linear(2, 1).parameters(), lr=0.1)
            >>> sched = CyclicScheduler(opt, cyclr.Triangular(0.1, 0.5, 4), skip_unapplied=True)
            >>> with CyclicScheduler.pause_counting(opt):
            ...     opt.step()  # e.g. the updates of an LR range test
            >>> sched.step(); sched.last_epoch
            0
        """
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"optimizer must be a torch.optim.Optimizer, got {optimizer!r}")
        return _paused(optimizer)

    # -- construction helpers ------------------------------------------------------------------
    @staticmethod
    def _group_scales(
        optimizer: Optimizer,
        schedule: Any,
        group_scale: str | Sequence[float] | None,
        last_epoch: int,
    ) -> list[float]:
        n = len(optimizer.param_groups)
        if group_scale is None:
            return [1.0] * n
        if not isinstance(schedule, Schedule):
            raise ValueError("group_scale only applies when a single schedule is given")
        if isinstance(group_scale, str):
            v.choice("group_scale", group_scale, ("ratio",))
            key = "lr" if last_epoch == -1 else "initial_lr"
            lrs = [g.get(key, g["lr"]) for g in optimizer.param_groups]
            if not any(isinstance(lr, (int, float, Tensor)) and float(lr) > 0 for lr in lrs):
                raise ValueError(
                    f"group_scale='ratio' needs a positive LR in some param group, got {lrs!r}"
                )
            return group_lr_ratios(lrs)
        scales = [v.finite(f"group_scale[{i}]", s) for i, s in enumerate(group_scale)]
        for i, s in enumerate(scales):
            if s < 0:
                raise ValueError(f"group_scale[{i}] must be >= 0, got {s!r}")
        if len(scales) != n:
            raise ValueError(f"group_scale needs {n} entries (one per group), got {len(scales)}")
        return scales

    @staticmethod
    def _find_momentum(optimizer: Optimizer) -> Momentum:
        found = find_momentum(optimizer)
        if found is None:
            raise ValueError(
                "momentum cycling needs an optimizer with 'momentum' (SGD, RMSprop) or 'betas' "
                f"(Adam family); {no_momentum(optimizer)}"
            )
        return found

    # -- the LRScheduler contract --------------------------------------------------------------
    def get_lr(self) -> list[float]:  # type: ignore[override]
        """LRs for the current ``last_epoch`` (prefer :meth:`get_last_lr` to read them)."""
        t = self.last_epoch
        return [s.at(t) * k for s, k in zip(self.schedules, self.group_scales)]

    def _fill(self, t: int) -> None:
        """Evaluate the next block of steps with the (bit-identical) vectorised path.

        The block holds one row per step: the LR of each group, and the momentum of each group
        that has momentum.
        """
        steps = np.arange(t, t + _BLOCK, dtype=np.int64)
        self._block_start = t
        lrs = [(s(steps) * k).tolist() for s, k in zip(self.schedules, self.group_scales)]
        self._block_lr: list[tuple[float, ...]] = list(zip(*lrs))
        mom, schedules = self._momentum, self.momentums
        self._block_mom: list[tuple[float, ...]] | None = None
        if mom is None or schedules is None:
            return
        self._block_mom = list(zip(*(schedules[j](steps).tolist() for j in mom.groups)))
        self._block_mom_field = mom.field
        every = len(mom.groups) == len(self.optimizer.param_groups)
        self._block_mom_groups = None if every else mom.groups

    def step(self, epoch: int | None = None) -> None:
        """Advance one update (or jump to ``epoch``) and write LR/momentum into the optimizer."""
        if self._step_count == 1:  # the first call after construction
            self._check_call_order()
        self._step_count += 1
        if epoch is not None:
            self.last_epoch = v.integer("epoch", epoch, minimum=0)
        elif self.skip_unapplied and self._step_count > 1:
            if self._optimizer_steps == self._seen_optimizer_steps:
                return
            self.last_epoch += 1
        else:
            self.last_epoch += 1
        self._seen_optimizer_steps = self._optimizer_steps
        self._apply(self.last_epoch)

    def _check_call_order(self) -> None:
        """Warn as ``LRScheduler.step`` does when no optimizer update came before this call."""
        opt = self.optimizer
        if self._optimizer_steps or getattr(opt, "_opt_called", False):
            return
        wrapped = hasattr(opt.step, "_wrapped_by_lr_sched")
        warnings.warn(_ORDER_WARNING if wrapped else _OVERRIDE_WARNING, UserWarning, stacklevel=3)

    def _apply(self, t: int) -> None:
        """Write the LR (and momentum) of step ``t`` into the param groups; tensors in place.

        This runs once per training update: it reads the precomputed block.
        """
        i = t - self._block_start
        if not 0 <= i < _BLOCK:
            self._fill(t)
            i = 0
        groups = self.optimizer.param_groups
        lrs = self._block_lr[i]
        write(groups, "lr", lrs)
        self._last_lr = list(lrs)
        moms = self._block_mom
        if moms is None:
            return
        subset = self._block_mom_groups
        if subset is not None:
            groups = [groups[j] for j in subset]
        write(groups, self._block_mom_field, moms[i])

    def state_dict(self) -> dict[str, Any]:
        """Plain data only (loads with ``torch.load(..., weights_only=True)``)."""
        return {
            "last_epoch": self.last_epoch,
            "step_count": self._step_count,
            "schedules": [s.to_dict() for s in self.schedules],
            "momentums": None if self.momentums is None else [m.to_dict() for m in self.momentums],
            "group_scales": list(self.group_scales),
            "skip_unapplied": self.skip_unapplied,
            "base_lrs": [float(x) for x in self.base_lrs],
            "last_lr": [float(x) for x in self._last_lr],
        }

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore from :meth:`state_dict`; the next ``step()`` continues the same trajectory.

        The LR (and momentum) of the restored step are written into the optimizer's param
        groups, so the next update runs at ``schedule(last_epoch)`` whether the optimizer's
        state was loaded before or after this scheduler was built.
        """
        missing = {"last_epoch", "schedules", "momentums", "group_scales"} - set(state_dict)
        if missing:
            raise ValueError(f"not a CyclicScheduler state_dict: missing {sorted(missing)}")
        n = len(self.optimizer.param_groups)
        self.schedules = _schedules(
            "schedules", [schedule_from_dict(d) for d in state_dict["schedules"]], n
        )
        moms = state_dict["momentums"]
        if moms is None:
            self.momentums = None
        else:
            self.momentums = _schedules("momentums", [schedule_from_dict(d) for d in moms], n)
            if self._momentum is None:
                self._momentum = self._find_momentum(self.optimizer)
        scales = [float(k) for k in state_dict["group_scales"]]
        if len(scales) != n:
            raise ValueError(
                f"group_scales has {len(scales)} entries, but the optimizer has {n} param groups"
            )
        self.group_scales = scales
        self.last_epoch = v.integer("last_epoch", state_dict["last_epoch"], minimum=0)
        self._step_count = int(state_dict.get("step_count", self._step_count))
        self.skip_unapplied = bool(state_dict.get("skip_unapplied", self.skip_unapplied))
        if "base_lrs" in state_dict:
            self.base_lrs = list(state_dict["base_lrs"])
        self._block_start = -_BLOCK
        self._seen_optimizer_steps = self._optimizer_steps
        self._apply(self.last_epoch)

    def __repr__(self) -> str:
        mom = "" if self.momentums is None else f", momentum={self.momentums[0]!r}"
        return f"CyclicScheduler(last_epoch={self.last_epoch}, schedule={self.schedules[0]!r}{mom})"

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        state["_block_start"] = -_BLOCK
        return state
