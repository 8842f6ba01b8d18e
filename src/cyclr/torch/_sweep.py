"""Smith 2018's hyper-parameter range tests for PyTorch: the LR range test once per value.

"A disciplined approach to neural network hyper-parameters" (arXiv 1803.09820) runs the LR range
test at a few values of momentum (§4.3, §5: 0.99, 0.97, 0.95, 0.9), weight decay (§4.4: 1e-3,
1e-4, 1e-5, 0) and batch size (§4.2), and reads the curves side by side. :func:`sweep` does that
and returns a :class:`cyclr.SweepResult`; its :meth:`~cyclr.SweepResult.suggest` picks the value.

Batch sizes are compared at equal wall time by default, as §4.2 recommends (Remark 4: neither
equal epochs, which penalise large batches, nor equal iterations, which favour them): the first
value runs ``num_iter`` updates and every other one the number of updates that take as long, timed
on a short pilot run of each. ``budget="samples"`` (equal epochs) and ``"updates"`` give
reproducible, hardware-independent alternatives.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import torch
from torch import nn

from cyclr import _validate as check
from cyclr.range_test.checks import check_reiterable
from cyclr.range_test.ramp import MIN_ITER
from cyclr.range_test.result import RangeTestResult
from cyclr.sweep import DEFAULT_VALUES, SweepResult, check_values
from cyclr.torch._args import Config, check_loader, training_state
from cyclr.torch._batches import rebatch
from cyclr.torch._param_groups import find_momentum, no_momentum, read, write
from cyclr.torch._range_test import checked_arguments, range_test

__all__ = ["BUDGETS", "PARAMS", "TIMING_UPDATES", "rebatch", "sweep"]

#: What :func:`sweep` can sweep (``"beta1"`` is another name for ``"momentum"``).
PARAMS = ("momentum", "beta1", "weight_decay", "batch_size")
#: How batch sizes share the budget: equal wall time, equal samples, or equal updates.
BUDGETS = ("time", "samples", "updates")
#: Updates in the pilot run that times each batch size (``budget="time"``).
TIMING_UPDATES = 12


def sweep(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    loss_fn: Callable[[Any, Any], torch.Tensor] | None,
    train_loader: Iterable[Any] | None,
    *,
    param: str = "momentum",
    values: Sequence[float] | None = None,
    loader_factory: Callable[[int], Iterable[Any]] | None = None,
    groups: Sequence[int] | None = None,
    budget: str | None = None,
    **range_test_kwargs: Any,
) -> SweepResult:
    """Run :func:`cyclr.torch.range_test` once per value of ``param``; restore everything after.

    Before each run the model, optimizer, scheduler, scaler, RNGs and loaders are put back to
    where they were before the sweep (every run sees the same batches), then the value is set.
    After the sweep everything is as it was, bitwise, also if a run raises (the runs done so far
    are attached to the exception as ``exc.sweep_result``).

    Args:
        model, optimizer, loss_fn: as for :func:`cyclr.torch.range_test` (``loss_fn=None``
            with ``loss_of_batch=fn`` among the range test's options).
        train_loader: the training batches (``None`` with ``loader_factory``).
        param: ``"momentum"`` (or ``"beta1"``): SGD's / RMSprop's ``momentum`` or the Adam
            family's ``betas[0]`` (a group created with momentum 0 is refused: leave it out
            with ``groups``); ``"weight_decay"``; or ``"batch_size"``: each run trains on
            ``loader_factory(batch_size)``, or on a ``DataLoader`` ``train_loader`` rebuilt
            with that batch size (:func:`rebatch`).
        values: the values to try, in order; by default Smith's (§5): momentum
            ``(0.99, 0.97, 0.95, 0.9)``, weight decay ``(1e-3, 1e-4, 1e-5, 0)``; required for
            batch size. At least two, no duplicates.
        loader_factory: ``batch_size -> loader``, for ``param="batch_size"`` only.
        groups: indices of the param groups to change (default: all; e.g. leave out a
            no-decay group for biases).
        budget: batch size only: ``"time"`` (default; equal wall time, Smith 2018 §4.2),
            ``"samples"`` (equal epochs) or ``"updates"``. ``values[0]`` runs ``num_iter``
            updates, the others as many as fit in the same time or samples (>= 10).
        **range_test_kwargs: passed to every :func:`cyclr.torch.range_test` (``loss_of_batch``,
            ``num_iter``, ``start_lr``, ``end_lr``, ``mode``, ``val_loader``, ``seed``,
            ``snapshot``, ...). The ``snapshot`` storage also holds the sweep's own snapshot.

    Returns:
        A :class:`cyclr.SweepResult`. Each range test's ``config["sweep"]`` records the value and
        the optimizer field it was set in (``"momentum"``, ``"betas[0]"``, ``"weight_decay"``,
        ``"batch_size"``).

    Raises:
        TypeError, ValueError: bad arguments (named, with the value), before anything changes.

    Example:
        >>> from cyclr.torch import sweep
        >>> g = torch.Generator().manual_seed(0)
        >>> x, y = torch.randn(256, 20, generator=g), torch.randint(0, 3, (256,), generator=g)
        >>> loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), 32)
        >>> model = torch.nn.Sequential(torch.nn.Linear(20, 32), torch.nn.ReLU(),
        ...                             torch.nn.Linear(32, 3))
        >>> opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        >>> s = sweep(model, opt, torch.nn.functional.cross_entropy, loader,
        ...           param="momentum", values=[0.95, 0.8], num_iter=20, progress=False)
        >>> s.values, [r.config["sweep"]["value"] for r in s.results]
        ((0.95, 0.8), [0.95, 0.8])
        >>> opt.param_groups[0]["momentum"]  # as it was
        0.9
    """
    canonical, vals = _values(param, values)
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(
            f"optimizer must be a torch.optim.Optimizer, got {type(optimizer).__name__}"
        )
    idx = _check_groups(groups, len(optimizer.param_groups))
    field = _field(canonical, optimizer, idx)
    budget, loaders = _loaders(param, canonical, vals, train_loader, loader_factory, budget)
    cfg, args = checked_arguments(
        model,
        optimizer,
        loss_fn,
        loaders[0],
        range_test_kwargs,
        "sweep() got an argument range_test does not take",
    )
    kw = {
        k: x for k, x in args.items() if k not in ("model", "optimizer", "loss_fn", "train_loader")
    }
    if canonical != "batch_size":
        check_reiterable("train_loader", train_loader)
    check_reiterable("val_loader", kw["val_loader"])

    original = _get(optimizer, idx[0], field)
    config: dict[str, Any] = {
        "field": field,
        "groups": idx,
        "original": original,
        "optimizer": type(optimizer).__name__,
    }
    results: list[RangeTestResult] = []
    with training_state(cfg, [*loaders, kw["val_loader"]]) as state:  # put back at the end
        try:
            iters = [cfg.options.num_iter] * len(vals)
            if canonical == "batch_size":
                setup = (model, optimizer, loss_fn)
                iters = _budget(budget, vals, cfg, loaders, state.restore, setup, kw, config)
            for value, loader, n in zip(vals, loaders, iters):
                state.restore()
                if canonical != "batch_size":
                    _set(optimizer, idx, field, value)
                run = functools.partial(range_test, model, optimizer, loss_fn, loader)
                results.append(_tagged(run, dict(kw, num_iter=n), canonical, value, field, results))
        except BaseException as exc:
            if results:
                try:
                    exc.sweep_result = SweepResult(  # type: ignore[attr-defined]
                        canonical, vals[: len(results)], tuple(results), config
                    )
                except Exception:  # never mask the original error
                    pass
            raise
    return SweepResult(canonical, vals, tuple(results), config)


def _values(param: Any, values: Sequence[float] | None) -> tuple[str, tuple[Any, ...]]:
    """The swept parameter's own name and the checked values (Smith's by default)."""
    if not isinstance(param, str) or param not in PARAMS:
        raise ValueError(f"param must be one of {', '.join(map(repr, PARAMS))}; got {param!r}")
    canonical = "momentum" if param == "beta1" else param
    if values is None:
        if canonical not in DEFAULT_VALUES:
            raise ValueError(f"values is required for param={param!r} (e.g. [64, 128, 256])")
        values = DEFAULT_VALUES[canonical]
    vals = check_values(canonical, values)
    if len(vals) < 2:
        raise ValueError(f"values must hold at least 2 values to compare, got {list(vals)!r}")
    return canonical, vals


def _tagged(
    run: Callable[..., RangeTestResult],
    kw: dict[str, Any],
    param: str,
    value: Any,
    field: str,
    results: list[RangeTestResult],
) -> RangeTestResult:
    """``run(**kw)``'s result tagged with the swept value; a run that raises adds the curve it
    recorded to ``results`` first."""
    try:
        result = run(**kw)
    except BaseException as exc:
        partial = getattr(exc, "range_test_result", None)
        if isinstance(partial, RangeTestResult):
            _tag(partial, param, value, field)
            results.append(partial)
        raise
    _tag(result, param, value, field)
    return result


# -- the swept field -----------------------------------------------------------------------------
def _check_groups(groups: Sequence[int] | None, n: int) -> list[int]:
    if groups is None:
        return list(range(n))
    if isinstance(groups, (str, bytes)) or not isinstance(groups, Iterable):
        raise TypeError(f"groups must be a sequence of param-group indices, got {groups!r}")
    out = [check.integer(f"groups[{i}]", g, minimum=0) for i, g in enumerate(groups)]
    if not out:
        raise ValueError("groups is empty: name at least one param group, or pass None for all")
    bad = [g for g in out if g >= n]
    if bad:
        raise ValueError(f"groups has index {bad[0]!r}, but the optimizer has {n} param group(s)")
    if len(set(out)) != len(out):
        raise ValueError(f"groups has duplicates: {out!r}")
    return out


def _field(param: str, optimizer: torch.optim.Optimizer, idx: list[int]) -> str:
    """The field the value goes in, the same for every selected group: ``"momentum"``,
    ``"betas[0]"``, ``"weight_decay"`` or ``"batch_size"``."""
    if param == "batch_size":
        return "batch_size"
    if param == "weight_decay":
        for i in idx:
            if "weight_decay" not in optimizer.param_groups[i]:
                raise ValueError(
                    f"param='weight_decay' needs 'weight_decay' in the param groups; "
                    f"{type(optimizer).__name__}'s group {i} has none"
                )
        return "weight_decay"
    found = find_momentum(optimizer, idx)
    off = [i for i in idx if found is None or i not in found.groups]
    if found is None or off:
        raise ValueError(
            f"param='momentum' needs an optimizer with 'momentum' (SGD, RMSprop) "
            f"or 'betas' (Adam family); {no_momentum(optimizer, off[0])}"
        )
    return "betas[0]" if found.field == "betas" else found.field


def _key(field: str) -> str:
    """The :mod:`cyclr.torch._param_groups` name of a swept field (``betas[0]`` -> ``betas``)."""
    return "betas" if field == "betas[0]" else field


def _get(optimizer: torch.optim.Optimizer, i: int, field: str) -> Any:
    if field == "batch_size":
        return None
    return read(optimizer.param_groups[i], _key(field))


def _set(optimizer: torch.optim.Optimizer, idx: list[int], field: str, value: float) -> None:
    """Write ``value`` into the selected groups: a tensor is filled in place, a number replaced."""
    groups = [optimizer.param_groups[i] for i in idx]
    write(groups, _key(field), [float(value)] * len(groups))


def _tag(result: RangeTestResult, param: str, value: Any, field: str) -> None:
    result.config["sweep"] = {"param": param, "value": value, "field": field}
    if param == "batch_size":
        result.config["batch_size"] = value


# -- loaders -------------------------------------------------------------------------------------
def _loaders(
    param: str,
    canonical: str,
    vals: tuple[Any, ...],
    train_loader: Any,
    factory: Any,
    budget: str | None,
) -> tuple[str | None, list[Any]]:
    """The budget (``"time"`` by default for batch sizes) and each run's loader."""
    if canonical != "batch_size":
        if budget is not None:
            raise ValueError(
                f"budget applies to param='batch_size' only, got budget={budget!r} "
                f"with param={param!r}"
            )
        if factory is not None:
            raise ValueError(
                f"loader_factory applies to param='batch_size' only (param={param!r})"
                "; pass the training batches as train_loader"
            )
        if train_loader is None:
            raise TypeError("train_loader must be an iterable of batches, got None")
        return budget, [train_loader] * len(vals)
    if budget is None:
        budget = "time"
    check.choice("budget", budget, BUDGETS)
    if factory is not None:
        if not callable(factory):
            raise TypeError(
                f"loader_factory must be callable (batch_size -> loader), got {factory!r}"
            )
        if train_loader is not None:
            raise ValueError(
                "pass train_loader=None with loader_factory: "
                "loader_factory(batch_size) builds every run's loader"
            )
        loaders = [factory(b) for b in vals]
    else:
        if train_loader is None:
            raise ValueError(
                "param='batch_size' needs loader_factory (batch_size -> loader), "
                "or a torch DataLoader as train_loader"
            )
        loaders = [rebatch(train_loader, b) for b in vals]
    for b, loader in zip(vals, loaders):
        check_loader(f"loader_factory({b})", loader, optional=False)
    return budget, loaders


# -- the batch-size budget -----------------------------------------------------------------------
def _budget(
    budget: Any,
    vals: tuple[Any, ...],
    cfg: Config,
    loaders: list[Any],
    reset: Callable[[], None],
    setup: tuple[nn.Module, torch.optim.Optimizer, Callable[[Any, Any], torch.Tensor] | None],
    kw: dict[str, Any],
    config: dict[str, Any],
) -> list[int]:
    """Updates per batch size: ``values[0]`` runs ``num_iter``, the others the same budget
    (recorded in the sweep's ``config``)."""
    num_iter, (model, optimizer, loss_fn) = cfg.options.num_iter, setup
    seconds = None
    if budget == "updates":
        ratio = [1.0] * len(vals)
    elif budget == "samples":
        ratio = [vals[0] / b for b in vals]
    else:
        seconds = []
        for loader in loaders:
            reset()
            seconds.append(
                _seconds_per_update(model, optimizer, loss_fn, loader, cfg.options.start_lr, kw)
            )
        ratio = [seconds[0] / s for s in seconds]
    iters = [max(1, round(num_iter * r)) for r in ratio]
    for b, n in zip(vals, iters):
        if n < MIN_ITER:
            raise ValueError(
                f"budget={budget!r} leaves batch_size={b} only {n} updates (fewer "
                f"than {MIN_ITER}); raise num_iter (now {num_iter}) or put a larger "
                "batch size first in values"
            )
    config.update(budget=budget, reference=vals[0], num_iter=iters)
    if seconds is not None:
        config["seconds_per_update"] = seconds
    return iters


def _seconds_per_update(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    loss_fn: Callable[[Any, Any], torch.Tensor] | None,
    loader: Any,
    lr: float,
    kw: dict[str, Any],
) -> float:
    """Wall time of one update on ``loader``: a pilot range test at a tiny, fixed LR.

    The time between the first forward pass of update 1 and that of the last update, per
    update: it holds the backward pass, the step and drawing the next batch, and leaves out the
    first update (warm-up) and the snapshot.
    """
    stamps: list[float] = []
    of_batch = kw["loss_of_batch"]

    def timed(a: Any, b: Any) -> Any:
        stamps.append(time.perf_counter())
        return of_batch(a, b) if of_batch is not None else loss_fn(a, b)  # type: ignore[misc]

    skip = {"start_lr", "end_lr", "num_iter", "mode", "val_loader", "progress", "diverge", "metric"}
    pilot = {k: x for k, x in kw.items() if k not in skip}
    if of_batch is not None:
        pilot["loss_of_batch"] = timed
    range_test(
        model,
        optimizer,
        None if of_batch is not None else timed,
        loader,
        start_lr=lr,
        end_lr=lr * (1 + 1e-6),
        num_iter=TIMING_UPDATES,
        mode="exp",
        diverge=None,
        progress=False,
        metric=None,
        **pilot,
    )
    firsts = stamps[:: max(1, kw["accumulation_steps"])]
    if len(firsts) < 3:
        raise ValueError(
            f"the timing run on {type(loader).__name__} ended after "
            f"{len(firsts)} updates; use budget='samples'"
        )
    return max((firsts[-1] - firsts[1]) / (len(firsts) - 2), 1e-9)
