"""The two-stage range test: the recipe every ``find_bounds`` runs (Smith 2015, §3.3).

1. A coarse exponential ramp of :data:`COARSE_ITER` updates over the default range finds where
   the loss blows up (:func:`cyclr.suggest.blow_up_lr`).
2. The paper's linear ramp of :data:`LINEAR_ITER` updates rises from ``LOW_RATIO`` times that
   LR up to it (:func:`linear_range`); the bounds are read off it.

:meth:`Recipe.find_bounds` runs it with an adapter's single test (``cyclr.torch.range_test``,
``cyclr.keras.range_test``) and reads the bounds; ``docs/suggest.md`` ("Linear and exponential
sweeps") says why the second ramp is linear.

Example:
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
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from cyclr import _validate as v
from cyclr.range_test.ramp import MIN_ITER
from cyclr.range_test.result import RangeTestResult
from cyclr.suggest import Bounds, SuggestionError, blow_up_lr, check_method

__all__ = [
    "COARSE_ITER",
    "LINEAR_ITER",
    "LOW_RATIO",
    "SINGLE_RAMP_OPTIONS",
    "STOPPED",
    "FoundBounds",
    "Recipe",
    "check_recipe",
    "linear_range",
    "recipe_tests",
    "refuse_single_ramp",
    "run_recipe",
]

#: The options of a single ramp, which ``find_bounds`` refuses: its two ramps are set by
#: ``coarse_iter`` and ``linear_iter``.
SINGLE_RAMP_OPTIONS = ("num_iter", "start_lr", "end_lr", "mode")

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


def run_recipe(
    run_test: Callable[..., RangeTestResult],
    *,
    coarse_iter: int = COARSE_ITER,
    linear_iter: int = LINEAR_ITER,
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
        >>> from cyclr.range_test.recipe import run_recipe
        >>> def run_test(mode, num_iter, start_lr=1e-7, end_lr=10.0):  # a stand-in model
        ...     lr = (np.geomspace if mode == "exp" else np.linspace)(start_lr, end_lr, num_iter)
        ...     loss = 2.3 - 1.5 / (1 + np.exp(-(np.log10(lr) + 2) * 4)) + 8 * lr
        ...     return cyclr.RangeTestResult(lr=lr, loss=loss, smoothed_loss=loss, mode=mode)
        >>> r = run_recipe(run_test)
        >>> r.mode, len(r), r.coarse.mode, len(r.coarse), bool(np.isclose(r.lr[-1], 1000 * r.lr[0]))
        ('linear', 400, 'exp', 200, True)
    """
    coarse_iter, linear_iter = check_recipe(coarse_iter, linear_iter)
    coarse = run_test(mode="exp", num_iter=coarse_iter)
    if on_test is not None:
        on_test(coarse)
    _check_not_dry(coarse, "exponential")
    try:
        start_lr, end_lr = linear_range(coarse)
    except SuggestionError as exc:
        exc.range_test_result = coarse  # type: ignore[attr-defined]
        raise
    linear = run_test(mode="linear", num_iter=linear_iter, start_lr=start_lr, end_lr=end_lr)
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


def recipe_tests(
    run_test: Callable[..., RangeTestResult],
    *,
    coarse_iter: int = COARSE_ITER,
    linear_iter: int = LINEAR_ITER,
    on_test: Callable[[RangeTestResult], None] | None = None,
) -> tuple[RangeTestResult, ...]:
    """The tests :func:`run_recipe` ran, the coarse one first; when the coarse test's loss never
    falls, that test alone, its ``message`` saying why the linear one did not run."""
    try:
        linear = run_recipe(
            run_test, coarse_iter=coarse_iter, linear_iter=linear_iter, on_test=on_test
        )
    except SuggestionError as exc:
        coarse: RangeTestResult = exc.range_test_result  # type: ignore[attr-defined]
        note = f"{STOPPED}{exc}"
        return (
            dataclasses.replace(coarse, message="; ".join(filter(None, [coarse.message, note]))),
        )
    assert linear.coarse is not None
    return linear.coarse, linear


def check_recipe(coarse_iter: Any, linear_iter: Any, on_test: Any = None) -> tuple[int, int]:
    """The two ramps' lengths, each an integer >= :data:`~cyclr.range_test.ramp.MIN_ITER`, and
    ``on_test`` a callable or ``None``.

    Example:
        >>> check_recipe(200, 5)
        Traceback (most recent call last):
        ...
        ValueError: linear_iter must be >= 10, got 5
    """
    if on_test is not None and not callable(on_test):
        raise TypeError(f"on_test must be callable, got {on_test!r}")
    return (
        v.integer("coarse_iter", coarse_iter, minimum=MIN_ITER),
        v.integer("linear_iter", linear_iter, minimum=MIN_ITER),
    )


def refuse_single_ramp(options: Mapping[str, Any], where: str, single: str) -> None:
    """Refuse the options of a single ramp (:data:`SINGLE_RAMP_OPTIONS`) among ``options``:
    ``where`` (e.g. ``"find_bounds()"``) runs the recipe, and ``single`` runs one ramp.

    Example:
        >>> refuse_single_ramp({"num_iter": 400}, "find_bounds()", "range_test()")
        Traceback (most recent call last):
        ...
        TypeError: find_bounds() does not take num_iter=400: it runs the two-stage test, \
whose ramps are set by coarse_iter and linear_iter; call range_test() for a single ramp
    """
    for name in SINGLE_RAMP_OPTIONS:
        if name in options:
            raise TypeError(
                f"{where} does not take {name}={options[name]!r}: it runs the two-stage test, "
                f"whose ramps are set by coarse_iter and linear_iter; call {single} for a "
                "single ramp"
            )


@dataclass(frozen=True)
class FoundBounds:
    """What ``find_bounds`` found.

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


@dataclass(frozen=True)
class Recipe:
    """The checked settings of one ``find_bounds``: ``method`` reads the bounds (with
    ``suggest_kwargs``) off the last of two ramps of ``coarse_iter`` and ``linear_iter``
    updates, and ``on_test`` sees each test as it ends. Checked when built, before any test.

    Example:
        >>> def run_test(mode, num_iter, start_lr=1e-7, end_lr=10.0):  # a stand-in model
        ...     lr = (np.geomspace if mode == "exp" else np.linspace)(start_lr, end_lr, num_iter)
        ...     acc = 0.9 / (1 + np.exp(-(np.log10(lr) + 3) * 3)) - 40 * np.maximum(lr - 0.05, 0)
        ...     loss = 2.3 - 2 * acc + 50 * np.maximum(lr - 0.1, 0)
        ...     return cyclr.RangeTestResult(lr=lr, loss=loss, smoothed_loss=loss, mode=mode,
        ...                                  metric=acc, metric_name="accuracy")
        >>> found = Recipe(linear_iter=100).find_bounds(run_test)
        >>> [t.mode for t in found.tests], found.result is found.tests[-1]
        (['exp', 'linear'], True)
        >>> Recipe(method="acuracy")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        cyclr.suggest.errors.SuggestionError: method must be one of ...
    """

    method: str = "auto"
    suggest_kwargs: Mapping[str, Any] | None = None
    coarse_iter: int = COARSE_ITER
    linear_iter: int = LINEAR_ITER
    on_test: Callable[[RangeTestResult], None] | None = None

    def __post_init__(self) -> None:
        check_method(self.method, self.suggest_kwargs)
        coarse_iter, linear_iter = check_recipe(self.coarse_iter, self.linear_iter, self.on_test)
        object.__setattr__(self, "coarse_iter", coarse_iter)
        object.__setattr__(self, "linear_iter", linear_iter)

    def find_bounds(self, run_test: Callable[..., RangeTestResult]) -> FoundBounds:
        """The recipe (:func:`recipe_tests`) with ``run_test(mode=, num_iter=, [start_lr=,
        end_lr=])``, one adapter's single range test, and ``method``'s reading of the last
        test."""
        tests = recipe_tests(
            run_test,
            coarse_iter=self.coarse_iter,
            linear_iter=self.linear_iter,
            on_test=self.on_test,
        )
        bounds = tests[-1].suggest(self.method, **dict(self.suggest_kwargs or {}))
        return FoundBounds(bounds, tests)
