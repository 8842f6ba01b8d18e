"""The two-stage range test: the plan every caller shares (Smith 2015, §3.3).

1. A coarse exponential ramp of :data:`COARSE_ITER` updates over the default range finds where
   the loss blows up (:func:`cyclr.suggest.blow_up_lr`).
2. The paper's linear ramp of :data:`LINEAR_ITER` updates rises from ``LOW_RATIO`` times that
   LR up to it (:func:`linear_range`); the bounds are read off it.

The linear ramp spends its updates where the accuracy rises, peaks and falls, which a short
exponential ramp crosses in a few dozen updates. :func:`run_recipe` runs the plan with an
adapter's single test: ``cyclr.torch.range_test`` and ``cyclr.keras.range_test`` run it when
given no ramp (no ``start_lr``, ``end_lr``, ``num_iter`` or ``mode``), so that
``range_test(...).suggest()`` reads the same bounds as ``cyclr.torch.find_bounds``,
``auto_schedule``, ``cyclr find`` and the demo, which all run it too.

Example:
    >>> import numpy as np, cyclr
    >>> from cyclr.range_test.recipe import linear_range
    >>> lr = np.geomspace(1e-6, 10, 100)
    >>> loss = 2.3 - 1.5 / (1 + np.exp(-(np.log10(lr) + 2) * 4)) + 8 * lr
    >>> lo, hi = linear_range(cyclr.RangeTestResult(lr=lr, loss=loss, smoothed_loss=loss,
    ...                                             mode="exp"))
    >>> 0.1 < hi < 1, round(lo / hi, 6)
    (True, 0.001)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from cyclr import _validate as v
from cyclr.range_test.result import RangeTestResult
from cyclr.suggest import SuggestionError, blow_up_lr

__all__ = [
    "COARSE_ITER",
    "LINEAR_ITER",
    "LOW_RATIO",
    "RAMP_OPTIONS",
    "STOPPED",
    "linear_range",
    "recipe_test",
    "run_recipe",
    "wants_recipe",
]

#: The options that set one test's ramp; a range test given none of them runs the recipe.
RAMP_OPTIONS = ("start_lr", "end_lr", "num_iter", "mode")

#: How the message of a recipe that ran no linear test begins (the reason follows).
STOPPED = "the two-stage recipe stopped after its exponential test: "

#: Updates of the first, exponential ramp.
COARSE_ITER = 200
#: Updates of the second, linear ramp (the paper's).
LINEAR_ITER = 400
#: The linear ramp starts at this fraction of the coarse ramp's blow-up LR.
LOW_RATIO = 1e-3


def linear_range(coarse: RangeTestResult, *, low_ratio: float = LOW_RATIO) -> tuple[float, float]:
    """``(start_lr, end_lr)`` of the linear ramp: ``end_lr`` is where ``coarse`` blew up,
    ``start_lr = end_lr * low_ratio``. Raises :class:`cyclr.SuggestionError` when the coarse
    test's loss never falls significantly."""
    low_ratio = v.fraction("low_ratio", low_ratio, low_open=True, high_open=True)
    end_lr = blow_up_lr(coarse)
    return end_lr * low_ratio, end_lr


def wants_recipe(options: dict[str, Any]) -> bool:
    """Whether a range test with these arguments (by name) runs the recipe: every one of
    :data:`RAMP_OPTIONS` is absent or ``None``."""
    return all(options.get(name) is None for name in RAMP_OPTIONS)


def run_recipe(
    run_test: Callable[..., RangeTestResult],
    *,
    coarse_iter: int = COARSE_ITER,
    num_iter: int = LINEAR_ITER,
    on_test: Callable[[RangeTestResult], None] | None = None,
) -> RangeTestResult:
    """Run the two-stage plan with ``run_test(mode=, num_iter=, [start_lr=, end_lr=])``, one
    adapter's single range test, and return the linear test with the coarse one attached as
    its ``coarse``. ``on_test`` sees each test as soon as it ends.

    Raises :class:`cyclr.SuggestionError` when the coarse test's loss never falls
    significantly, and ``ValueError`` when the batches ran out during a test (``"data_exhausted"``,
    e.g. a loader with an empty second pass), with that test as the error's
    ``range_test_result``.

    Example:
        >>> import numpy as np, cyclr
        >>> from cyclr.range_test.recipe import run_recipe
        >>> def run_test(mode, num_iter, start_lr=1e-7, end_lr=10.0):  # a stand-in model
        ...     lr = (np.geomspace if mode == "exp" else np.linspace)(start_lr, end_lr, num_iter)
        ...     loss = 2.3 - 1.5 / (1 + np.exp(-(np.log10(lr) + 2) * 4)) + 8 * lr
        ...     return cyclr.RangeTestResult(lr=lr, loss=loss, smoothed_loss=loss, mode=mode)
        >>> r = run_recipe(run_test)
        >>> r.mode, len(r), r.coarse.mode, len(r.coarse), bool(np.isclose(r.lr[-1], 1000 * r.lr[0]))
        ('linear', 400, 'exp', 200, True)
    """
    coarse_iter = v.integer("coarse_iter", coarse_iter, minimum=10)
    num_iter = v.integer("num_iter", num_iter, minimum=10)
    coarse = run_test(mode="exp", num_iter=coarse_iter)
    if on_test is not None:
        on_test(coarse)
    _check_not_dry(coarse, "exponential")
    try:
        start_lr, end_lr = linear_range(coarse)
    except SuggestionError as exc:
        exc.range_test_result = coarse  # type: ignore[attr-defined]
        raise
    linear = run_test(mode="linear", num_iter=num_iter, start_lr=start_lr, end_lr=end_lr)
    linear = dataclasses.replace(linear, coarse=coarse)
    if on_test is not None:
        on_test(linear)
    _check_not_dry(linear, "linear")
    return linear


def _check_not_dry(test: RangeTestResult, stage: str) -> None:
    """Raise ``ValueError`` (the test attached as ``range_test_result``) when the batches ran
    out during ``test``: a reading of what it left would pass for the recipe's."""
    if test.stop_reason != "data_exhausted":
        return
    exc = ValueError(
        f"the loader ran dry after {len(test)} updates of the {stage} test "
        f"({test.message}); the two-stage recipe needs batches on every pass: pass a "
        "re-iterable loader (a list of batches or a torch DataLoader)"
    )
    exc.range_test_result = test  # type: ignore[attr-defined]
    raise exc


def recipe_test(
    run_test: Callable[..., RangeTestResult],
    options: dict[str, Any],
    *,
    coarse_iter: int = COARSE_ITER,
    num_iter: int = LINEAR_ITER,
    on_test: Callable[[RangeTestResult], None] | None = None,
) -> RangeTestResult:
    """What a range test given no ramp returns, and what ``find_bounds`` reads: :func:`run_recipe`
    with ``run_test`` given ``options`` (by name, the ramp's dropped) and the ramp of each stage;
    or, when the coarse test's loss never falls, that test, its ``message`` saying why the
    linear one did not run."""
    fixed = {k: x for k, x in options.items() if k not in RAMP_OPTIONS}
    try:
        return run_recipe(
            lambda **ramp: run_test(**fixed, **ramp),
            coarse_iter=coarse_iter,
            num_iter=num_iter,
            on_test=on_test,
        )
    except SuggestionError as exc:
        coarse: RangeTestResult = exc.range_test_result  # type: ignore[attr-defined]
        note = f"{STOPPED}{exc}"
        return dataclasses.replace(coarse, message="; ".join(filter(None, [coarse.message, note])))
