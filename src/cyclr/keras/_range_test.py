"""The LR range test for Keras 3 (Smith 2015, "Cyclical Learning Rates", §3.3).

Train on one batch per optimizer update ``i = 0 … num_iter - 1`` as the LR rises::

    linear (the paper):  lr_i = start_lr + (end_lr - start_lr) * i / (num_iter - 1)
    exp (modern tools):  lr_i = start_lr * (end_lr / start_lr) ** (i / (num_iter - 1))

record each batch's own loss and metric, then put the model and optimizer back bitwise. Only
the update is Keras' here; the ramp, the argument checks shared with
:func:`cyclr.torch.range_test`, the batch stream, the smoothed loss and the recording are the
framework-free parts in :mod:`cyclr.range_test`.
"""

from __future__ import annotations

import importlib
import inspect
import math
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import keras
import numpy as np
from keras import ops

from cyclr import _validate as v
from cyclr.keras._data import KerasBatches
from cyclr.keras._momentum import inner_optimizer, runs_eagerly
from cyclr.keras._rng import global_rng_restored
from cyclr.range_test.checks import (
    RangeTestOptions,
    check_loader,
    check_options,
    check_reiterable,
)
from cyclr.range_test.ramp import NUM_ITER
from cyclr.range_test.recipe import (
    COARSE_ITER,
    LINEAR_ITER,
    FoundBounds,
    Recipe,
    refuse_single_ramp,
)
from cyclr.range_test.recorder import Recorder, library_versions
from cyclr.range_test.result import RangeTestResult

__all__ = ["find_bounds", "range_test"]


def range_test(
    model: Any,
    x: Any = None,
    y: Any = None,
    dataset: Iterable[Any] | None = None,
    *,
    start_lr: float | None = None,
    end_lr: float | None = None,
    num_iter: int = NUM_ITER,
    mode: str = "exp",
    batch_size: int = 32,
    sample_weight: Any = None,
    shuffle: bool = True,
    seed: int | None = None,
    metric: str | None = "auto",
    smooth: float = 0.98,
    diverge: float | None = 4.0,
    validation_data: tuple[Any, ...] | None = None,
    val_every: int = 10,
) -> RangeTestResult:
    """LR range test (Smith 2015, §3.3) on a compiled Keras model; the model is left as it was.

    The LR rises along the ramp of the module docstring, one ``model.train_on_batch`` per
    update with the metrics reset, so the loss and metric recorded are that batch's own. The
    model's and optimizer's variables, a compiled LR schedule and the global RNGs are restored
    bitwise, whatever happens (docs/range_test.md).

    Args:
        model: a compiled ``keras.Model``.
        x, y, sample_weight: arrays (or nested structures of arrays) for batches of
            ``batch_size``, reshuffled every pass when ``shuffle`` (by numpy's global
            generator).
        dataset: instead of arrays, an iterable of batches ``x``, ``(x, y)`` or
            ``(x, y, sample_weight)`` (``PyDataset``, ``tf.data.Dataset``, ``DataLoader``, ...).
        start_lr, end_lr, num_iter, mode: the ramp, as in ``cyclr.torch.range_test``; the
            two-stage test is :func:`cyclr.keras.find_bounds`.
        metric: ``"auto"`` (the first compiled metric, if any), a name in the train logs, or
            ``None``.
        seed: seeds Python, numpy and (torch backend) torch for the test; in ``[0, 2**32)``.
        smooth: EMA factor in [0, 1) for ``smoothed_loss``.
        diverge: stop once the smoothed loss exceeds this multiple of its minimum; ``None``
            never stops early.
        validation_data: ``(x_val, y_val)``, scored with ``model.evaluate`` every
            ``val_every`` updates.

    Returns:
        A :class:`cyclr.RangeTestResult` (``result.suggest()`` reads the bounds from it).

    Example::

        model.compile(optimizer=keras.optimizers.SGD(momentum=0.9), loss=..., metrics=["accuracy"])
        result = cyclr.keras.range_test(model, x_train, y_train, start_lr=1e-5, end_lr=1,
                                        num_iter=200, batch_size=64)
        result.save("range_test.json")
    """
    opts = _check(
        model=model,
        x=x,
        y=y,
        dataset=dataset,
        start_lr=start_lr,
        end_lr=end_lr,
        num_iter=num_iter,
        mode=mode,
        batch_size=batch_size,
        sample_weight=sample_weight,
        shuffle=shuffle,
        seed=seed,
        metric=metric,
        smooth=smooth,
        diverge=diverge,
        validation_data=validation_data,
        val_every=val_every,
    )
    with global_rng_restored() as rng:  # the data and dropout may draw from them
        if opts.seed is not None:
            rng.seed(opts.seed)
        bs = int(batch_size)
        # Data: the first batch now, so an empty source fails before the model is touched.
        batches = KerasBatches(x, y, sample_weight, dataset, bs, shuffle)
        first = batches.next()
        if first is None:
            raise ValueError("dataset yields no batches")

        opt = model.optimizer
        lr_var, holder = _built(model, opt, first)
        model_vars, opt_vars = list(model.variables), list(opt.variables)
        saved_model, saved_opt = _snapshot(model_vars), _snapshot(opt_vars)
        saved_stop = model.stop_training
        rec = Recorder(
            opts, has_val=validation_data is not None, source="dataset", loss_name="the loss"
        )
        try:
            if holder is not None:
                opt.learning_rate = holder
            _loop(model, rec, batches, first, lr_var, holder, metric, validation_data, bs)
        except KeyboardInterrupt as exc:
            rec.stop("interrupted", rec.error_message(exc))
        finally:
            _restore(model_vars, saved_model)
            _restore(opt_vars, saved_opt)
            if holder is not None:
                opt.learning_rate = lr_var
            model.reset_metrics()
            model.stop_training = saved_stop
        arrays = x is not None
        config = {
            "framework": "keras",
            **opts.to_dict(validates=validation_data is not None),
            "batch_size": bs if arrays else None,
            "shuffle": shuffle if arrays else None,
            "metric": metric,
            "optimizer": type(inner_optimizer(opt)).__name__,
        }
        return rec.result(config, _versions())


def _built(model: Any, opt: Any, first: Any) -> tuple[Any, _RampLR | None]:
    """Build ``model`` (on the first batch) and its optimizer if needed; the optimizer's LR
    variable, and the :class:`_RampLR` to put in its place when it holds a schedule."""
    if not model.built:
        model(first[0])
    if not model.trainable_variables:
        raise ValueError("model has no trainable variables")
    if not opt.built:
        opt.build(model.trainable_variables)
    lr_var = getattr(opt, "_learning_rate", None)
    is_schedule = isinstance(lr_var, keras.optimizers.schedules.LearningRateSchedule)
    if not is_schedule and hasattr(lr_var, "assign"):  # a Variable, not a schedule or callable
        return lr_var, None
    if not runs_eagerly(model):
        raise ValueError(
            "the optimizer was created with a learning-rate schedule and the train step is "
            "compiled; create the optimizer with a float learning_rate for the range test, "
            "or compile with run_eagerly=True"
        )
    return lr_var, _RampLR()


def find_bounds(
    model: Any,
    x: Any = None,
    y: Any = None,
    dataset: Iterable[Any] | None = None,
    *,
    method: str = "auto",
    coarse_iter: int = COARSE_ITER,
    linear_iter: int = LINEAR_ITER,
    suggest_kwargs: Mapping[str, Any] | None = None,
    on_test: Callable[[RangeTestResult], None] | None = None,
    **range_test_kwargs: Any,
) -> FoundBounds:
    """The two-stage LR range test (Smith 2015, §3.3) and both CLR bounds, on a compiled model.

    As :func:`cyclr.torch.find_bounds`: an exponential ramp of ``coarse_iter`` updates over the
    default range finds where the loss blows up, then the paper's linear ramp of
    ``linear_iter`` updates rises from a thousandth of that LR up to it, and ``method`` reads
    the bounds off it (off the exponential test when its loss never falls). Each test is a
    :func:`range_test` with ``range_test_kwargs`` (``batch_size``, ``seed``,
    ``validation_data``, ...; not ``num_iter``, ``start_lr``, ``end_lr`` or ``mode``), and
    leaves the model as it was. Every argument is checked before the first update; a one-shot
    ``dataset`` (a generator) is refused, since the second test would read what the first left.

    Returns:
        A :class:`cyclr.range_test.recipe.FoundBounds`: ``.bounds`` and ``.tests``.

    Example::

        found = cyclr.keras.find_bounds(model, x_train, y_train, batch_size=64)
        schedule = found.bounds.one_cycle(total_steps=epochs * steps_per_epoch)
    """
    refuse_single_ramp(range_test_kwargs, "find_bounds()", "cyclr.keras.range_test()")
    recipe = Recipe(method, suggest_kwargs, coarse_iter, linear_iter, on_test)
    try:
        bound = inspect.signature(range_test).bind(
            model, x, y, dataset, num_iter=recipe.linear_iter, **range_test_kwargs
        )
    except TypeError as exc:
        raise TypeError(f"an argument range_test does not take: {exc}") from None
    bound.apply_defaults()
    _check(**bound.arguments)
    check_reiterable("dataset", dataset)

    def run(**ramp: Any) -> RangeTestResult:
        return range_test(model, x, y, dataset, **range_test_kwargs, **ramp)

    return recipe.find_bounds(run)


def _check(
    *,
    model: Any,
    x: Any,
    y: Any,
    dataset: Any,
    start_lr: Any,
    end_lr: Any,
    num_iter: Any,
    mode: Any,
    batch_size: Any,
    sample_weight: Any,
    shuffle: Any,
    seed: Any,
    metric: Any,
    smooth: Any,
    diverge: Any,
    validation_data: Any,
    val_every: Any,
) -> RangeTestOptions:
    """Check :func:`range_test`'s arguments (the same names) without touching anything; the
    options every range test shares, checked."""
    _check_keras(model, x, y, dataset, batch_size, sample_weight, shuffle, metric, validation_data)
    return check_options(
        start_lr=start_lr,
        end_lr=end_lr,
        num_iter=num_iter,
        mode=mode,
        smooth=smooth,
        diverge=diverge,
        val_every=val_every,
        seed=seed,
        metric=metric,
    )


def _check_keras(
    model: Any,
    x: Any,
    y: Any,
    dataset: Any,
    batch_size: Any,
    sample_weight: Any,
    shuffle: Any,
    metric: Any,
    validation_data: Any,
) -> None:
    """Check the Keras-only arguments of :func:`range_test`."""
    if not isinstance(model, keras.Model):
        raise TypeError(f"model must be a keras.Model, got {model!r} ({type(model).__name__})")
    if not getattr(model, "compiled", False) or getattr(model, "optimizer", None) is None:
        raise ValueError("model must be compiled with an optimizer and a loss first")
    v.integer("batch_size", batch_size, minimum=1)
    if not isinstance(shuffle, bool):
        raise TypeError(f"shuffle must be a bool, got {shuffle!r}")
    if callable(metric):
        raise TypeError(
            f"metric must be the name of a compiled metric (the train logs hold it), 'auto' or "
            f"None; got {metric!r}"
        )
    val = validation_data
    if val is not None and (not isinstance(val, (tuple, list)) or not 1 <= len(val) <= 3):
        got = f"of length {len(val)}" if isinstance(val, (tuple, list)) else type(val).__name__
        raise ValueError(
            f"validation_data must be a tuple (x_val, y_val[, sample_weight_val]), got {got}"
        )
    if (x is None) == (dataset is None):
        raise ValueError("pass either x (with y) or dataset, not both and not neither")
    if dataset is not None:
        if y is not None or sample_weight is not None:
            raise ValueError("y and sample_weight go inside dataset batches, not beside dataset")
        check_loader("dataset", dataset, optional=False)


def _loop(
    model: Any,
    rec: Recorder,
    batches: KerasBatches,
    first: Any,
    lr_var: Any,
    holder: _RampLR | None,
    metric: str | None,
    validation_data: tuple[Any, ...] | None,
    batch_size: int,
) -> None:
    """Train one batch per update along the ramp until the end or a stop condition."""
    n_iter = rec.options.num_iter
    batch: Any = first
    for i in range(n_iter):
        lr = rec.options.lr(i)  # recorded as asked: the variable may hold it rounded
        if holder is not None:
            holder.value = lr
        else:
            lr_var.assign(lr)
        if batch is None:
            batch = batches.next()
            if batch is None:
                rec.stop_exhausted()
                return
        bx, by, bw = batch
        batch = None
        model.reset_metrics()
        logs = model.train_on_batch(bx, by, sample_weight=bw, return_dict=True)
        if i == 0:
            rec.metric_name = _pick_metric(metric, logs)
        loss = float(logs["loss"])
        if not math.isfinite(loss):
            rec.stop_non_finite(loss, lr)
            return
        name = rec.metric_name
        rec.record(lr, loss, metric=None if name is None else float(logs[name]))
        if validation_data is not None and rec.options.validates_after(i):
            rec.record_validation(i, *_evaluate(model, validation_data, batch_size, name))
        if rec.check_diverged() or rec.check_end():
            return


class _RampLR(keras.optimizers.schedules.LearningRateSchedule):
    """The ramp's LR, in place of an optimizer's own schedule during the test."""

    def __init__(self) -> None:
        super().__init__()
        self.value = 0.0

    def __call__(self, step: Any) -> float:
        return self.value

    def get_config(self) -> dict[str, Any]:
        return {}


def _versions() -> dict[str, str]:
    backend = keras.backend.backend()
    extra = {"keras": keras.__version__, "keras_backend": backend}
    module = {"torch": "torch", "jax": "jax", "tensorflow": "tensorflow"}.get(backend)
    if module is not None:
        extra[module] = str(getattr(importlib.import_module(module), "__version__", "?"))
    return library_versions(**extra)


def _snapshot(variables: list[Any]) -> list[np.ndarray]:
    return [np.array(ops.convert_to_numpy(var.value), copy=True) for var in variables]


def _restore(variables: list[Any], values: list[np.ndarray]) -> None:
    for var, value in zip(variables, values):
        var.assign(value)


def _pick_metric(metric: str | None, logs: dict[str, Any]) -> str | None:
    if metric is None:
        return None
    if metric == "auto":
        names = [k for k in logs if k != "loss"]
        return names[0] if names else None
    if metric not in logs:
        raise ValueError(
            f"metric={metric!r} is not in the model's train logs {sorted(logs)}; compile the "
            "model with it, or pass metric='auto' or None"
        )
    return metric


def _evaluate(
    model: Any, data: tuple[Any, ...], batch_size: int, metric_name: str | None
) -> tuple[float, float]:
    xv, yv, wv = keras.utils.unpack_x_y_sample_weight(tuple(data))
    logs = model.evaluate(
        xv, yv, sample_weight=wv, batch_size=batch_size, verbose=0, return_dict=True
    )
    vm = float(logs[metric_name]) if metric_name is not None and metric_name in logs else math.nan
    return float(logs["loss"]), vm
