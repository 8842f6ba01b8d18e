"""``auto_schedule``: range test, both bounds, and a ready ``CyclicScheduler`` in one call.

By default the range test runs in two stages, as the CLR paper's reading needs (Smith 2015, §3.3):

1. a short exponential sweep (``coarse_iter`` = 200 updates over :func:`cyclr.torch.range_test`'s
   default range) finds where the loss blows up;
2. a linear sweep from a thousandth of that LR up to it (``num_iter`` updates, 400 by default)
   records the accuracy (and loss), from which :meth:`cyclr.RangeTestResult.suggest` reads
   ``base_lr`` and ``max_lr``.

Passing ``start_lr``, ``end_lr`` or ``mode`` runs a single test with exactly those settings.
The model, optimizer and RNG states are restored after each test.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch import nn

from cyclr import _validate as v
from cyclr.bounds import STEP_EPOCHS, Bounds
from cyclr.result import RangeTestResult
from cyclr.schedule import Schedule
from cyclr.suggest import linear_sweep_range
from cyclr.torch.range_test_loop import range_test
from cyclr.torch.scheduler import CyclicScheduler

__all__ = ["POLICIES", "auto_schedule"]

#: Schedules ``auto_schedule`` can build.
POLICIES = ("one_cycle", "triangular", "triangular2", "exp_range")
#: Updates in the linear (second) sweep unless ``num_iter`` is given.
LINEAR_ITER = 400
#: Updates in the coarse exponential (first) sweep.
COARSE_ITER = 200
#: Fewest cycles ``auto_schedule`` fits into ``total_steps`` for the cyclical policies (§3.2).
MIN_CYCLES = 3


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
    loss_fn: Callable[[Any, Any], torch.Tensor],
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
    suggest_kwargs: dict[str, Any] | None = None,
    **range_test_kwargs: Any,
) -> CyclicScheduler:
    """Run an LR range test on ``model``, read both bounds, and return a ready scheduler.

    Args:
        model, optimizer, loss_fn, train_loader: as for :func:`cyclr.torch.range_test`.
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
        coarse_iter: updates in the first, exponential sweep of the two-stage test.
        suggest_kwargs: options for the reading (e.g. ``{"margin": 2.5}``).
        **range_test_kwargs: passed to :func:`cyclr.torch.range_test` (``val_loader``,
            ``metric``, ``seed``, ``device``, ``progress``, ``num_iter``, ...). ``start_lr``,
            ``end_lr`` or ``mode`` switch to a single test with those settings.

    Returns:
        A :class:`cyclr.torch.CyclicScheduler` (already applied to ``optimizer``), with
        ``.bounds`` (the :class:`cyclr.Bounds`), ``.range_test_result`` (the test they were
        read from) and ``.range_test_results`` (every test run, coarse first) attached.

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
    v.choice("policy", policy, POLICIES)
    if not isinstance(method, str):
        raise TypeError(f"method must be a string, got {method!r}")
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
    if policy == "one_cycle" and total_steps is None:
        raise ValueError("policy='one_cycle' needs total_steps or epochs")
    if policy != "one_cycle" and step_size is None and ipe is None:
        raise ValueError(
            f"policy={policy!r} needs step_size or iters_per_epoch (train_loader has no len())"
        )
    if step_size is not None:
        step_size = v.integer("step_size", step_size, minimum=1)
    coarse_iter = v.integer("coarse_iter", coarse_iter, minimum=10)
    if isinstance(momentum, bool) or momentum is None:
        pass
    elif not isinstance(momentum, Schedule):
        raise TypeError(f"momentum must be True, False, None or a cyclr.Schedule, got {momentum!r}")

    results = _run_tests(model, optimizer, loss_fn, train_loader, coarse_iter, range_test_kwargs)
    result = results[-1]
    bounds = result.suggest(method, **(suggest_kwargs or {}))
    schedule = _schedule(bounds, policy, total_steps, ipe, step_size)
    mom: bool | Schedule | None = momentum
    if momentum is True and not _has_momentum(optimizer):
        mom = None
    elif momentum is False:
        mom = None
    scheduler = CyclicScheduler(optimizer, schedule, momentum=mom)
    scheduler.bounds = bounds  # type: ignore[attr-defined]
    scheduler.range_test_result = result  # type: ignore[attr-defined]
    scheduler.range_test_results = tuple(results)  # type: ignore[attr-defined]
    return scheduler


def _run_tests(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    loss_fn: Callable[[Any, Any], torch.Tensor],
    train_loader: Iterable[Any],
    coarse_iter: int,
    kwargs: dict[str, Any],
) -> list[RangeTestResult]:
    if any(k in kwargs for k in ("start_lr", "end_lr", "mode")):
        return [range_test(model, optimizer, loss_fn, train_loader, **kwargs)]
    num_iter = kwargs.pop("num_iter", LINEAR_ITER)
    coarse = range_test(
        model, optimizer, loss_fn, train_loader, mode="exp", num_iter=coarse_iter, **kwargs
    )
    start_lr, end_lr = linear_sweep_range(coarse)
    fine = range_test(
        model,
        optimizer,
        loss_fn,
        train_loader,
        mode="linear",
        start_lr=start_lr,
        end_lr=end_lr,
        num_iter=num_iter,
        **kwargs,
    )
    return [coarse, fine]


def _schedule(
    bounds: Bounds, policy: str, total_steps: int | None, ipe: int | None, step_size: int | None
) -> Schedule:
    if policy == "one_cycle":
        if total_steps is None:
            raise ValueError("policy='one_cycle' needs total_steps or epochs")
        return bounds.one_cycle(total_steps)
    if step_size is None:
        if ipe is None:
            raise ValueError(f"policy={policy!r} needs step_size or iters_per_epoch")
        if total_steps is None:
            step_size = STEP_EPOCHS * ipe
        else:
            cycles = max(MIN_CYCLES, round(total_steps / (2 * STEP_EPOCHS * ipe)))
            step_size = max(1, total_steps // (2 * cycles))
    return bounds.triangular(step_size, ipe, policy)
