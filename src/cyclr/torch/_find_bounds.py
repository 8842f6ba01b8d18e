"""``find_bounds``: the two-stage range test and the bounds read from it, in one call.

The recipe (:mod:`cyclr.range_test.recipe`, Smith 2015 §3.3): a coarse exponential ramp finds
where the loss blows up, then the paper's linear ramp runs from a thousandth of that LR up to
it, and :func:`cyclr.suggest.suggest` reads both bounds off the linear test.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import torch
from torch import nn

from cyclr.range_test.checks import check_reiterable
from cyclr.range_test.recipe import (
    COARSE_ITER,
    LINEAR_ITER,
    FoundBounds,
    Recipe,
    refuse_single_ramp,
)
from cyclr.range_test.result import RangeTestResult
from cyclr.torch._range_test import checked_arguments, range_test

__all__ = ["FoundBounds", "find_bounds"]


def find_bounds(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    loss_fn: Callable[[Any, Any], torch.Tensor] | None,
    train_loader: Iterable[Any],
    *,
    method: str = "auto",
    coarse_iter: int = COARSE_ITER,
    linear_iter: int = LINEAR_ITER,
    suggest_kwargs: Mapping[str, Any] | None = None,
    on_test: Callable[[RangeTestResult], None] | None = None,
    **range_test_kwargs: Any,
) -> FoundBounds:
    """Run the two-stage LR range test and read both CLR bounds; restore everything after.

    1. An exponential ramp of ``coarse_iter`` updates over :func:`cyclr.torch.range_test`'s
       default range finds where the loss blows up.
    2. A linear ramp (the paper's) of ``linear_iter`` updates runs from a thousandth of that LR
       up to it, and ``method`` reads the bounds off it.

    When the coarse test's loss never falls, ``method`` reads it instead (docs/suggest.md).
    Every argument is checked before the first update. For one ramp of your own, call
    :func:`cyclr.torch.range_test` and ``result.suggest()``.

    Args:
        model, optimizer, loss_fn, train_loader: as for :func:`cyclr.torch.range_test`.
        method: the reading (see :func:`cyclr.suggest.suggest`; ``"auto"``: accuracy when a
            metric is recorded, else loss).
        coarse_iter: updates of the first, exponential ramp (>= 10).
        linear_iter: updates of the second, linear ramp (>= 10).
        suggest_kwargs: options for the reading (e.g. ``{"margin": 2.5}``).
        on_test: called with each test's result as soon as it ends (e.g. to save it).
        **range_test_kwargs: passed to both :func:`cyclr.torch.range_test` calls
            (``loss_of_batch``, ``val_loader``, ``metric``, ``seed``, ``device``, ``progress``,
            ...); not the ramp's ``num_iter``, ``start_lr``, ``end_lr`` or ``mode``, which the
            recipe sets (a ``TypeError``).

    Returns:
        A :class:`FoundBounds`: ``.bounds`` and ``.tests``.

    Raises:
        TypeError: a one-shot iterator (a generator) as a loader.
        ValueError: a loader that runs dry during a test (the message says after how many
            updates).
        cyclr.SuggestionError: the last test's curve supports no reading (``on_test`` has seen
            every test that ran).

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
        >>> found = cyclr.torch.find_bounds(model, opt, torch.nn.functional.cross_entropy,
        ...                                 loader, progress=False, seed=0)
        >>> [t.mode for t in found.tests], 0 < found.bounds.base_lr <= found.bounds.max_lr
        (['exp', 'linear'], True)
    """
    refuse_single_ramp(range_test_kwargs, "find_bounds()", "cyclr.torch.range_test()")
    recipe = Recipe(method, suggest_kwargs, coarse_iter, linear_iter, on_test)
    _, args = checked_arguments(
        model,
        optimizer,
        loss_fn,
        train_loader,
        dict(range_test_kwargs, num_iter=recipe.linear_iter),
        "an argument range_test does not take",
    )
    check_reiterable("train_loader", train_loader)
    check_reiterable("val_loader", args["val_loader"])

    def run(**ramp: Any) -> RangeTestResult:
        return range_test(model, optimizer, loss_fn, train_loader, **range_test_kwargs, **ramp)

    return recipe.find_bounds(run)
