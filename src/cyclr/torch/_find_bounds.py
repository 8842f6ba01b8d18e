"""``find_bounds``: the two-stage range test and the bounds read from it, in one call.

The recipe (:mod:`cyclr.range_test.recipe`, Smith 2015 §3.3): a coarse exponential ramp finds
where the loss blows up, then the paper's linear ramp runs from a thousandth of that LR up to
it, and :func:`cyclr.suggest.suggest` reads both bounds off the linear test.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from cyclr import _validate as v
from cyclr.range_test.checks import check_reiterable
from cyclr.range_test.recipe import COARSE_ITER, LINEAR_ITER, recipe_test
from cyclr.range_test.result import RangeTestResult
from cyclr.suggest import Bounds, check_method
from cyclr.torch._range_test import checked_arguments, range_test

__all__ = ["FoundBounds", "find_bounds"]

#: Options that make :func:`find_bounds` run a single test with exactly those settings.
SINGLE_TEST_OPTIONS = ("start_lr", "end_lr", "mode")


@dataclass(frozen=True)
class FoundBounds:
    """What :func:`find_bounds` found.

    Attributes:
        bounds: the :class:`cyclr.Bounds` read off the last test.
        tests: every range test run, in order (the coarse exponential one first).
    """

    bounds: Bounds
    tests: tuple[RangeTestResult, ...]

    @property
    def result(self) -> RangeTestResult:
        """The test the bounds were read from (the last one)."""
        return self.tests[-1]


def find_bounds(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    loss_fn: Callable[[Any, Any], torch.Tensor] | None,
    train_loader: Iterable[Any],
    *,
    method: str = "auto",
    coarse_iter: int = COARSE_ITER,
    num_iter: int | None = None,
    suggest_kwargs: Mapping[str, Any] | None = None,
    on_test: Callable[[RangeTestResult], None] | None = None,
    **range_test_kwargs: Any,
) -> FoundBounds:
    """Run the two-stage LR range test and read both CLR bounds; restore everything after.

    1. An exponential ramp of ``coarse_iter`` updates over :func:`cyclr.torch.range_test`'s
       default range finds where the loss blows up.
    2. A linear ramp (the paper's) of ``num_iter`` updates (default 400) runs from a thousandth
       of that LR up to it, and ``method`` reads the bounds off it.

    When the coarse test's loss never falls, there is no blow-up to end the linear ramp at:
    ``method`` reads the coarse test instead (as ``range_test(...).suggest(method)`` does, the
    test's ``message`` saying why the linear one did not run).

    Passing ``start_lr``, ``end_lr`` or ``mode`` runs a single test with exactly those settings
    (``num_iter`` then defaults to 100). The two tests need a loader that yields batches on
    every pass: a one-shot iterator (a generator) is refused with a ``TypeError``, and a loader
    that runs dry during a test raises a ``ValueError`` saying after how many updates. Every
    argument, ``method``, ``suggest_kwargs`` and the range test's options included, is checked
    before the first update.

    Args:
        model, optimizer, loss_fn, train_loader: as for :func:`cyclr.torch.range_test`
            (``loss_fn=None`` with ``loss_of_batch=fn`` among the range test's options, for a
            model that computes its own loss).
        method: the reading (see :func:`cyclr.suggest.suggest`; ``"auto"``: accuracy when a
            metric is recorded, else loss).
        coarse_iter: updates of the first, exponential ramp (>= 10).
        num_iter: updates of the linear ramp (or of the single test).
        suggest_kwargs: options for the reading (e.g. ``{"margin": 2.5}``).
        on_test: called with each test's result as soon as it ends (e.g. to save it).
        **range_test_kwargs: passed to every :func:`cyclr.torch.range_test` (``loss_of_batch``,
            ``val_loader``, ``metric``, ``seed``, ``device``, ``progress``, ...).

    Returns:
        A :class:`FoundBounds`: ``.bounds`` and ``.tests``.

    Raises:
        cyclr.SuggestionError: the last test's curve supports no reading (``on_test`` has seen
            every test that ran).

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
        >>> found = cyclr.torch.find_bounds(model, opt, torch.nn.functional.cross_entropy,
        ...                                 loader, progress=False, seed=0)
        >>> [t.mode for t in found.tests], 0 < found.bounds.base_lr <= found.bounds.max_lr
        (['exp', 'linear'], True)
    """
    check_method(method, suggest_kwargs)
    coarse_iter = v.integer("coarse_iter", coarse_iter, minimum=10)
    if on_test is not None and not callable(on_test):
        raise TypeError(f"on_test must be callable, got {on_test!r}")
    single = any(k in range_test_kwargs for k in SINGLE_TEST_OPTIONS)
    if "num_iter" in range_test_kwargs:
        raise TypeError("find_bounds() takes num_iter as its own argument, not twice")
    if num_iter is None:
        num_iter = 100 if single else LINEAR_ITER
    kwargs = dict(range_test_kwargs, num_iter=num_iter)
    _, args = checked_arguments(
        model, optimizer, loss_fn, train_loader, kwargs, "an argument range_test does not take"
    )
    if not single:
        check_reiterable("train_loader", train_loader)
        check_reiterable("val_loader", args["val_loader"])

    fixed = {k: x for k, x in kwargs.items() if k != "num_iter"}

    def run(**ramp: Any) -> RangeTestResult:
        return range_test(model, optimizer, loss_fn, train_loader, **fixed, **ramp)

    if single:
        tests: tuple[RangeTestResult, ...] = (run(num_iter=num_iter),)
        if on_test is not None:
            on_test(tests[0])
    else:
        last = recipe_test(run, {}, coarse_iter=coarse_iter, num_iter=num_iter, on_test=on_test)
        tests = (last.coarse, last) if last.coarse is not None else (last,)
    bounds = tests[-1].suggest(method, **dict(suggest_kwargs or {}))
    return FoundBounds(bounds, tests)
