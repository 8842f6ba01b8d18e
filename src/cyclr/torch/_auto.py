"""``auto_schedule`` and ``online_schedule``: both bounds and a ready scheduler in one call.

``auto_schedule`` reads the bounds from the two-stage range test of
:func:`cyclr.torch.find_bounds` (Smith 2015, §3.3) and builds the schedule with
:meth:`cyclr.Bounds.schedule` (1cycle, Smith 2018 §4.1, or CLR, Smith 2015 §3.1).
``online_schedule`` runs no separate test: the run's own warm-up is read as one
(:mod:`cyclr.online`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, ClassVar

import torch
from torch import nn

from cyclr import _validate as v
from cyclr.online import ONLINE_POLICIES, WARMUP_RANGE, OnlineController
from cyclr.range_test.recipe import COARSE_ITER, LINEAR_ITER, refuse_single_ramp
from cyclr.range_test.result import RangeTestResult
from cyclr.schedules.base import Schedule
from cyclr.schedules.policies import CYCLICAL
from cyclr.schedules.policies import policy as policy_of
from cyclr.suggest import Bounds, check_method
from cyclr.torch._find_bounds import FoundBounds, find_bounds
from cyclr.torch._online import OnlineScheduler
from cyclr.torch._param_groups import find_momentum, group_ratios
from cyclr.torch._scheduler import CyclicScheduler

__all__ = ["AutoScheduler", "auto_schedule", "online_schedule"]


class AutoScheduler(CyclicScheduler):
    """A :class:`CyclicScheduler` that also holds the range tests its bounds came from.

    Every param group keeps the LR ratio the range test ran it at
    (:func:`cyclr.range_test.checks.group_lr_ratios`, in ``group_scales``): the bounds are
    those of the first group with a positive LR, and a group at LR 0 stays frozen.

    Args:
        optimizer: the optimizer the tests ran on.
        schedule: the LR schedule, usually ``found.bounds.schedule(...)``.
        found: what :func:`cyclr.torch.find_bounds` returned.
        momentum: ``True`` cycles momentum inversely to the LR when the optimizer uses
            momentum (SGD with momentum > 0, or Adam-style betas) and leaves it alone when it
            does not; a schedule is used as given; ``None``/``False`` leaves momentum alone.

    Attributes:
        bounds: the :class:`cyclr.Bounds` read off the range test (``found.bounds``).
        tests: every test run, in order (the coarse exponential one first; ``found.tests``).

    Example:
        >>> from cyclr.torch import AutoScheduler, FoundBounds
        >>> opt = torch.optim.SGD(torch.nn.Linear(2, 1).parameters(), lr=0.1)
        >>> b = cyclr.Bounds(0.01, 0.1, method="manual", reason="")
        >>> test = cyclr.RangeTestResult([0.01, 0.1], [1.0, 0.5], [1.0, 0.5])
        >>> sched = AutoScheduler(opt, b.one_cycle(100), FoundBounds(b, (test,)))
        >>> sched.bounds.max_lr, len(sched.tests), sched.range_test_result is test
        (0.1, 1, True)
    """

    #: The policies the bounds can be turned into (:meth:`cyclr.Bounds.schedule`).
    POLICIES: ClassVar[tuple[str, ...]] = ("one_cycle", *CYCLICAL)

    bounds: Bounds
    tests: tuple[RangeTestResult, ...]

    def __init__(
        self,
        optimizer: torch.optim.Optimizer,
        schedule: Schedule,
        found: FoundBounds,
        momentum: bool | Schedule | None = True,
    ) -> None:
        _check_momentum(momentum)
        self.bounds = found.bounds
        self.tests = found.tests
        if momentum is False or (momentum is True and find_momentum(optimizer) is None):
            momentum = None
        super().__init__(
            optimizer, schedule, momentum=momentum, group_scale=group_ratios(optimizer)
        )

    @property
    def range_test_result(self) -> RangeTestResult:
        """The test the bounds were read from (the last one)."""
        return self.tests[-1]


def _check_momentum(momentum: Any) -> None:
    if not (isinstance(momentum, (bool, Schedule)) or momentum is None):
        raise TypeError(f"momentum must be True, False, None or a cyclr.Schedule, got {momentum!r}")


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
    linear_iter: int = LINEAR_ITER,
    suggest_kwargs: Mapping[str, Any] | None = None,
    **range_test_kwargs: Any,
) -> AutoScheduler:
    """Run the two-stage LR range test on ``model``, read both bounds, and return a ready
    scheduler.

    The bounds come from :func:`cyclr.torch.find_bounds`; the schedule from
    :meth:`cyclr.Bounds.schedule`. To read the bounds from the run's own warm-up instead, with
    no separate test, see :func:`cyclr.torch.online_schedule`.

    Args:
        model, optimizer, loss_fn, train_loader: as for :func:`cyclr.torch.range_test`
            (``loss_fn=None`` with ``loss_of_batch=fn`` among the options, for a model that
            computes its own loss).
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
            stops at the end of a cycle (§3.2); without, 4 epochs.
        coarse_iter, linear_iter: updates of the two-stage test's exponential and linear
            ramps (:func:`cyclr.torch.find_bounds`).
        suggest_kwargs: options for the reading (e.g. ``{"margin": 2.5}``).
        **range_test_kwargs: passed to :func:`cyclr.torch.find_bounds` (``on_test``) and to
            both of its :func:`cyclr.torch.range_test` calls (``loss_of_batch``,
            ``val_loader``, ``metric``, ``seed``, ``device``, ``progress``, ...); not a single
            ramp's ``num_iter``, ``start_lr``, ``end_lr`` or ``mode`` (a ``TypeError``: the
            recipe sets them).

    Returns:
        An :class:`AutoScheduler`: a :class:`cyclr.torch.CyclicScheduler` (already applied to
        ``optimizer``) whose ``.bounds``, ``.range_test_result`` (the test they were read from)
        and ``.tests`` (every test run, coarse first) say where it came from.

    Example:
        >>> import cyclr.torch
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
        >>> 0 < b.base_lr <= b.max_lr, type(sched.schedules[0]).__name__, len(sched.tests)
        (True, 'OneCycle', 2)
    """
    name = policy_of(policy, AutoScheduler.POLICIES).name
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
    if name != "one_cycle" and step_size is None and ipe is None:
        raise ValueError(
            f"policy={name!r} needs step_size or iters_per_epoch (train_loader has no len())"
        )
    if step_size is not None:
        step_size = v.integer("step_size", step_size, minimum=1)
    _check_momentum(momentum)
    if "online" in range_test_kwargs:
        raise TypeError(
            "auto_schedule got an unexpected keyword argument 'online': to read the bounds from "
            "the run's own warm-up, call cyclr.torch.online_schedule(model, optimizer, ...)"
        )
    refuse_single_ramp(range_test_kwargs, "auto_schedule()", "cyclr.torch.range_test()")
    found = find_bounds(
        model,
        optimizer,
        loss_fn,
        train_loader,
        method=method,
        coarse_iter=coarse_iter,
        linear_iter=linear_iter,
        suggest_kwargs=suggest_kwargs,
        **range_test_kwargs,
    )
    schedule = found.bounds.schedule(name, total_steps, ipe, step_size)
    return AutoScheduler(optimizer, schedule, found, momentum=momentum)


def online_schedule(
    model: nn.Module | None,
    optimizer: torch.optim.Optimizer,
    *,
    policy: str = "one_cycle",
    total_steps: int | None = None,
    step_size: int | None = None,
    momentum: bool = True,
    suggest_kwargs: Mapping[str, Any] | None = None,
    start_lr: float = WARMUP_RANGE[0],
    end_lr: float = WARMUP_RANGE[1],
    warmup_steps: int | None = None,
    check_every: int | None = None,
    rollback: bool = True,
    process_group: Any = None,
) -> OnlineScheduler:
    """A 1cycle (or CLR) whose bounds are read from the run's own warm-up: no separate range
    test (:mod:`cyclr.online`).

    The warm-up climbs an exponential ramp from ``start_lr`` to ``end_lr`` while it trains;
    its loss curve is read as a range test (the loss rule of :mod:`cyclr.suggest`), and once the
    loss has left its lowest plateau the bounds are fixed and the rest of the schedule follows.
    Call ``scheduler.step(loss)`` after every ``optimizer.step()`` with that update's batch
    loss.

    Args:
        model: the model trained; only the rollback uses it, to restore its buffers
            (``None`` warns while ``rollback`` is on).
        optimizer: the optimizer whose LR (and momentum) the scheduler sets.
        policy: ``"one_cycle"`` (Smith 2018; needs ``total_steps``) or ``"triangular"``
            (Smith 2015).
        total_steps: training length in optimizer updates (for epochs,
            ``epochs * len(train_loader)``).
        step_size: the half cycle after the warm-up (default: see
            :class:`cyclr.online.OnlineController`); it does not change the warm-up's length.
        momentum: ``True`` cycles momentum inversely to the LR when the optimizer uses
            momentum (SGD with momentum > 0, or Adam-style betas); ``False`` leaves it alone.
        suggest_kwargs: options for the loss rule (e.g. ``{"z": 3.0}``).
        start_lr, end_lr: the warm-up's ramp (default seven decades, 1e-6 to 10).
        warmup_steps: the warm-up's length in updates (default: the 1cycle's rising part;
            ``"triangular"`` without ``total_steps``:
            :data:`cyclr.range_test.recipe.COARSE_ITER`, 200).
        check_every: updates between two looks at the curve (default: see
            :class:`cyclr.online.OnlineController`).
        rollback: at the decision, put the weights, the optimizer's state and the model's
            buffers back to the last look at which the loss was on its floor.
        process_group: the ``torch.distributed`` group whose ranks average the loss.

    Returns:
        An :class:`OnlineScheduler` (already applied to ``optimizer``) whose ``.bounds`` are
        ``None`` until the warm-up has been read.

    Example:
        >>> import cyclr.torch
        >>> model = torch.nn.Linear(10, 2)
        >>> opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        >>> sched = cyclr.torch.online_schedule(model, opt, total_steps=600)
        >>> sched.bounds is None, opt.param_groups[0]["lr"]
        (True, 1e-06)
    """
    name = policy_of(policy, ONLINE_POLICIES).name
    if total_steps is not None:
        total_steps = v.integer("total_steps", total_steps, minimum=2)
    if name == "one_cycle" and total_steps is None:
        raise ValueError("policy='one_cycle' needs total_steps")
    if step_size is not None:
        step_size = v.integer("step_size", step_size, minimum=1)
    if not isinstance(momentum, bool):
        raise TypeError(f"momentum must be True or False, got {momentum!r}")
    if warmup_steps is None and total_steps is None:
        warmup_steps = COARSE_ITER
    controller = OnlineController(
        name,
        total_steps,
        step_size=step_size,
        method="loss",
        suggest_kwargs=suggest_kwargs,
        cycle_momentum=momentum and find_momentum(optimizer) is not None,
        start_lr=start_lr,
        end_lr=end_lr,
        warmup_steps=warmup_steps,
        check_every=check_every,
        rollback=rollback,
    )
    return OnlineScheduler(optimizer, controller, process_group=process_group, model=model)
