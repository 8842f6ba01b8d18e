"""``auto_schedule``: the two-stage range test, both bounds, and a ready scheduler in one call.

The bounds come from :func:`cyclr.torch.find_bounds` (Smith 2015, §3.3); the schedule from
:meth:`cyclr.Bounds.schedule` (1cycle, Smith 2018 §4.1, or CLR, Smith 2015 §3.1).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import torch
from torch import nn

from cyclr import _validate as v
from cyclr.online.schedule import POLICIES as ONLINE_POLICIES
from cyclr.online.schedule import OnlineController
from cyclr.range_test.recipe import COARSE_ITER
from cyclr.range_test.result import RangeTestResult
from cyclr.schedules.base import Schedule
from cyclr.schedules.policies import CYCLICAL
from cyclr.schedules.policies import policy as policy_of
from cyclr.suggest import Bounds, check_method
from cyclr.torch._args import group_ratios
from cyclr.torch._find_bounds import FoundBounds, find_bounds
from cyclr.torch._online import OnlineScheduler
from cyclr.torch._scheduler import CyclicScheduler

__all__ = ["POLICIES", "AutoScheduler", "auto_schedule"]

#: Schedules ``auto_schedule`` can build.
POLICIES = ("one_cycle", *CYCLICAL)


class AutoScheduler(CyclicScheduler):
    """A :class:`CyclicScheduler` that also holds the range tests its bounds came from.

    Every param group keeps the LR ratio the range test ran it at
    (:func:`cyclr.range_test.checks.group_lr_ratios`, in ``group_scales``): the bounds are
    those of the first group with a positive LR, and a group at LR 0 stays frozen.

    Attributes:
        bounds: the :class:`cyclr.Bounds` read off the range test.
        range_test_results: every test run, in order (the coarse exponential one first).
    """

    bounds: Bounds
    range_test_results: tuple[RangeTestResult, ...]

    def __init__(
        self,
        optimizer: torch.optim.Optimizer,
        schedule: Schedule,
        found: FoundBounds,
        momentum: bool | Schedule | None = None,
    ) -> None:
        self.bounds = found.bounds
        self.range_test_results = found.tests
        super().__init__(
            optimizer, schedule, momentum=momentum, group_scale=group_ratios(optimizer)
        )

    @property
    def range_test_result(self) -> RangeTestResult:
        """The test the bounds were read from (the last one)."""
        return self.range_test_results[-1]


def _has_momentum(optimizer: torch.optim.Optimizer) -> bool:
    group = optimizer.param_groups[0]
    if "betas" in group:
        return True
    m = group.get("momentum", 0)
    return isinstance(m, (int, float)) and m > 0


def _iters_per_epoch(train_loader: Any, given: int | None) -> int | None:
    if given is not None:
        return v.integer("iters_per_epoch", given, minimum=1)
    try:
        n = len(train_loader)
    except TypeError:
        return None
    return n if n > 0 else None


def auto_schedule(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    loss_fn: Callable[[Any, Any], torch.Tensor] | None,
    train_loader: Iterable[Any],
    policy: str = "one_cycle",
    total_steps: int | None = None,
    epochs: int | None = None,
    method: str = "auto",
    momentum: bool | Schedule | None = True,
    *,
    iters_per_epoch: int | None = None,
    step_size: int | None = None,
    coarse_iter: int = COARSE_ITER,
    suggest_kwargs: Mapping[str, Any] | None = None,
    online: bool = False,
    **range_test_kwargs: Any,
) -> AutoScheduler | OnlineScheduler:
    """Run an LR range test on ``model``, read both bounds, and return a ready scheduler.

    Args:
        model, optimizer, loss_fn, train_loader: as for :func:`cyclr.torch.range_test`
            (``loss_fn=None`` with ``loss_of_batch=fn`` among the range test's options, for a
            model that computes its own loss).
        policy: ``"one_cycle"`` (Smith 2018; needs ``total_steps`` or ``epochs``),
            ``"triangular"``, ``"triangular2"`` or ``"exp_range"`` (Smith 2015).
        total_steps, epochs: training length in optimizer updates, or in epochs
            (``epochs * iters_per_epoch``).
        method: the reading, see :mod:`cyclr.suggest` (``"auto"``: accuracy when a metric is
            recorded, else loss).
        momentum: ``True`` cycles momentum inversely to the LR (0.95 → 0.85 → 0.95) when the
            optimizer uses momentum (SGD with momentum > 0, or Adam-style betas); a schedule
            is used as given; ``None``/``False`` leaves momentum alone.
        iters_per_epoch: updates per epoch (default ``len(train_loader)``).
        step_size: the cyclical policies' half cycle. Default: with ``total_steps``, the whole
            number of cycles (at least 3) whose half cycle is nearest to 4 epochs, so training
            stops at the end of a cycle (§3.2); without, 4 epochs. With ``online=True``, the
            half cycle after the warm-up (default: see :class:`cyclr.online.OnlineController`);
            it does not change the warm-up's length.
        coarse_iter: updates in the first, exponential sweep of the two-stage test.
        suggest_kwargs: options for the reading (e.g. ``{"margin": 2.5}``).
        online: no separate range test: the run's own warm-up is read as one
            (:mod:`cyclr.online`), and the returned :class:`OnlineScheduler` needs the batch
            loss, ``scheduler.step(loss)``. Policies ``"one_cycle"`` and ``"triangular"``;
            ``model`` only lets the rollback restore the model's buffers (``None`` warns
            while rollback is on); ``loss_fn`` and ``train_loader`` are not used
            (``train_loader`` only for ``epochs``).
        **range_test_kwargs: passed to :func:`cyclr.torch.range_test` (``loss_of_batch``,
            ``val_loader``, ``metric``, ``seed``, ``device``, ``progress``, ``num_iter``, ...).
            ``start_lr``, ``end_lr`` or ``mode`` switch to a single test with those settings.
            With ``online=True``: the :class:`cyclr.online.OnlineController` options
            (``start_lr``, ``end_lr``, ``warmup_steps``, ``check_every``, ``rollback``,
            ``process_group``); ``"triangular"`` without ``total_steps`` warms up over
            ``warmup_steps`` (default :data:`cyclr.range_test.recipe.COARSE_ITER`, 200) updates,
            with or without ``step_size``.

    Returns:
        An :class:`AutoScheduler`: a :class:`cyclr.torch.CyclicScheduler` (already applied to
        ``optimizer``) whose ``.bounds``, ``.range_test_result`` (the test they were read from)
        and ``.range_test_results`` (every test run, coarse first) say where it came from.
        With ``online=True`` an :class:`OnlineScheduler`, whose ``.bounds`` are ``None`` until
        the warm-up has been read.

    Example:
        >>> import torch, cyclr.torch
        >>> g = torch.Generator().manual_seed(0)
        >>> x = torch.randn(512, 10, generator=g)
        >>> y = (x[:, 0] + x[:, 1] > 0).long()
        >>> loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), 32)
        >>> torch.manual_seed(0)  # doctest: +ELLIPSIS
        <torch._C.Generator object at ...>
        >>> model = torch.nn.Sequential(torch.nn.Linear(10, 32), torch.nn.ReLU(),
        ...                             torch.nn.Linear(32, 2))
        >>> opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        >>> sched = cyclr.torch.auto_schedule(model, opt, torch.nn.functional.cross_entropy,
        ...                                   loader, epochs=5, progress=False, seed=0)
        >>> b = sched.bounds
        >>> 0 < b.base_lr <= b.max_lr, type(sched.schedules[0]).__name__
        (True, 'OneCycle')
    """
    name = policy_of(policy, POLICIES).name
    check_method(method, suggest_kwargs)
    ipe = _iters_per_epoch(train_loader, iters_per_epoch)
    if epochs is not None:
        epochs = v.integer("epochs", epochs, minimum=1)
        if total_steps is not None:
            raise ValueError("give total_steps or epochs, not both")
        if ipe is None:
            raise ValueError("epochs needs iters_per_epoch: train_loader has no len()")
        total_steps = epochs * ipe
    if total_steps is not None:
        total_steps = v.integer("total_steps", total_steps, minimum=2)
    if name == "one_cycle" and total_steps is None:
        raise ValueError("policy='one_cycle' needs total_steps or epochs")
    if name != "one_cycle" and step_size is None and ipe is None and not online:
        raise ValueError(
            f"policy={name!r} needs step_size or iters_per_epoch (train_loader has no len())"
        )
    if step_size is not None:
        step_size = v.integer("step_size", step_size, minimum=1)
    if not (isinstance(momentum, (bool, Schedule)) or momentum is None):
        raise TypeError(f"momentum must be True, False, None or a cyclr.Schedule, got {momentum!r}")

    if not isinstance(online, bool):
        raise TypeError(f"online must be True or False, got {online!r}")
    if online:
        return _online(
            model,
            optimizer,
            name,
            total_steps,
            step_size,
            method,
            momentum,
            suggest_kwargs,
            range_test_kwargs,
        )
    found = find_bounds(
        model,
        optimizer,
        loss_fn,
        train_loader,
        method=method,
        coarse_iter=coarse_iter,
        num_iter=range_test_kwargs.pop("num_iter", None),
        suggest_kwargs=suggest_kwargs,
        **range_test_kwargs,
    )
    schedule = found.bounds.schedule(name, total_steps, ipe, step_size)
    mom: bool | Schedule | None = momentum
    if momentum is False or (momentum is True and not _has_momentum(optimizer)):
        mom = None
    return AutoScheduler(optimizer, schedule, found, momentum=mom)


#: ``auto_schedule(online=True)`` options that go to :class:`cyclr.online.OnlineController`.
_ONLINE_OPTIONS = ("start_lr", "end_lr", "warmup_steps", "check_every", "rollback")


def _online(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    name: str,
    total_steps: int | None,
    step_size: int | None,
    method: str,
    momentum: bool | Schedule | None,
    suggest_kwargs: Mapping[str, Any] | None,
    options: dict[str, Any],
) -> OnlineScheduler:
    if name not in ONLINE_POLICIES:
        raise ValueError(f"online=True supports policy in {ONLINE_POLICIES}, got {name!r}")
    if isinstance(momentum, Schedule):
        raise ValueError("online=True cycles momentum itself: pass momentum=True or False")
    group = options.pop("process_group", None)
    unknown = sorted(set(options) - set(_ONLINE_OPTIONS))
    if unknown:
        raise TypeError(
            f"online=True got unexpected options {unknown}; it takes {list(_ONLINE_OPTIONS)} "
            "and process_group (it runs no separate range test)"
        )
    if name != "one_cycle" and total_steps is None:
        options.setdefault("warmup_steps", COARSE_ITER)
    schedule = OnlineController(
        name,
        total_steps,
        step_size=step_size,
        method="loss" if method == "auto" else method,  # only the loss is seen online
        suggest_kwargs=suggest_kwargs,
        cycle_momentum=bool(momentum) and _has_momentum(optimizer),
        **options,
    )
    return OnlineScheduler(optimizer, schedule, process_group=group, model=model)
