"""Keras 3 adapter: cyclr schedules as Keras LR schedules, momentum cycling and the LR range test.

Requires the ``keras`` extra (``pip install 'cyclr[keras]'``) and one Keras backend (PyTorch,
JAX or TensorFlow), chosen as usual with ``KERAS_BACKEND`` before Keras is first imported.

- :class:`Schedule` wraps any :class:`cyclr.Schedule` as a
  ``keras.optimizers.schedules.LearningRateSchedule``. It evaluates the schedule's formula with
  ``keras.ops`` (no Python branching on the step, so it traces and compiles), and saves and loads
  with the model: import ``cyclr.keras`` before ``keras.saving.load_model``.
- :class:`MomentumCallback` cycles SGD's ``momentum`` or the Adam family's ``beta_1`` once per
  batch (Smith 2018, §4.3).
- :func:`range_test` runs the LR range test (Smith 2015, §3.3) on a compiled model, reading the
  loss of each batch on its own, and returns a :class:`cyclr.RangeTestResult`. The model's
  variables and the optimizer's are restored bitwise afterwards.

Example::

    import keras, cyclr
    from cyclr.keras import MomentumCallback, Schedule

    s = cyclr.OneCycle(max_lr=0.1, total_steps=epochs * steps_per_epoch)
    model.compile(optimizer=keras.optimizers.SGD(Schedule(s), momentum=0.9), loss=...)
    model.fit(x, y, epochs=epochs, callbacks=[MomentumCallback(s.momentum())])
"""

from __future__ import annotations

import importlib.util
import math
import os
import platform
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np

import cyclr
from cyclr import _validate as v
from cyclr.range_test.ramp import DEFAULT_RANGE, MIN_ITER, MODES, SmoothedLoss, sweep_lr
from cyclr.range_test.result import RangeTestResult
from cyclr.schedules.base import Schedule as _CyclrSchedule
from cyclr.schedules.base import schedule_from_dict

try:
    import keras
    from keras import ops
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    if importlib.util.find_spec("keras") is None:
        raise ImportError(
            "cyclr.keras needs Keras 3; install it with: pip install 'cyclr[keras]'"
        ) from exc
    backend = os.environ.get("KERAS_BACKEND", "the one in ~/.keras/keras.json")
    raise ImportError(
        f"Keras is installed but failed to import with backend {backend!r} ({exc}). Install a "
        "backend and select it before importing Keras, e.g. KERAS_BACKEND=torch."
    ) from exc

if int(keras.__version__.split(".")[0]) < 3:  # pragma: no cover - Keras 2 installs only
    raise ImportError(
        f"cyclr.keras needs Keras 3, found keras {keras.__version__}; "
        "install it with: pip install 'cyclr[keras]'"
    )

__all__ = ["KerasOps", "MomentumCallback", "Schedule", "range_test"]


class KerasOps:
    """The operations of a cyclr schedule formula in ``keras.ops`` (any backend, traceable)."""

    branch_free = True
    floor = staticmethod(ops.floor)
    abs = staticmethod(ops.abs)
    maximum = staticmethod(ops.maximum)
    minimum = staticmethod(ops.minimum)
    where = staticmethod(ops.where)
    cos = staticmethod(ops.cos)
    pow = staticmethod(ops.power)

    @staticmethod
    def full(t: Any, value: float) -> Any:
        return ops.full_like(t, value)


def _compute_dtype() -> str:
    """``keras.ops`` computes in float32 (its type rules turn float64 results into float32
    unless Keras' float type is float64); never less, so steps stay exact up to 2**24."""
    return "float64" if keras.backend.floatx() == "float64" else "float32"


@keras.saving.register_keras_serializable(package="cyclr")
class Schedule(keras.optimizers.schedules.LearningRateSchedule):
    """A cyclr schedule as a Keras ``LearningRateSchedule``, for any Keras optimizer.

    ``Schedule(s)(step)`` is ``s(step)``: the formula runs in ``keras.ops``, so it works in
    compiled train steps on every backend. It computes in float32 (Keras' type rules), which
    agrees with the numpy schedule to about 1e-6 relative to the schedule's peak.
    Keras calls it with the optimizer's ``iterations``, which count updates from 0 as cyclr
    does. ``get_config()`` holds ``s.to_dict()``, so a saved ``.keras`` model loads again once
    ``cyclr.keras`` is imported.

    Example:
        >>> import keras, cyclr
        >>> from cyclr.keras import Schedule
        >>> lr = Schedule(cyclr.Triangular(0.001, 0.006, step_size=2000))
        >>> opt = keras.optimizers.SGD(learning_rate=lr, momentum=0.9)
        >>> round(float(lr(2000)), 6)
        0.006
        >>> Schedule.from_config(lr.get_config()).schedule == lr.schedule
        True
    """

    def __init__(self, schedule: _CyclrSchedule) -> None:
        super().__init__()
        if not isinstance(schedule, _CyclrSchedule):
            raise TypeError(
                f"schedule must be a cyclr Schedule, got {schedule!r} ({type(schedule).__name__})"
            )
        self.schedule = schedule

    def __call__(self, step: Any) -> Any:
        dtype = _compute_dtype()
        t = ops.cast(step, dtype)
        return self.schedule.evaluate(t, KerasOps)

    def get_config(self) -> dict[str, Any]:
        return {"schedule": self.schedule.to_dict()}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Schedule:
        if not isinstance(config, dict) or "schedule" not in config:
            raise ValueError(f"not a cyclr.keras.Schedule config: {config!r}")
        return cls(schedule_from_dict(config["schedule"]))

    def __repr__(self) -> str:
        return f"cyclr.keras.Schedule({self.schedule!r})"


# -- momentum ----------------------------------------------------------------------------------
def _runs_eagerly(model: Any) -> bool:
    """Whether the train step re-reads Python attributes of the optimizer at every batch."""
    if getattr(model, "run_eagerly", False):
        return True
    return keras.backend.backend() == "torch" and not getattr(model, "jit_compile", False)


def _inner_optimizer(optimizer: Any) -> Any:
    inner = getattr(optimizer, "inner_optimizer", None)  # LossScaleOptimizer
    return optimizer if inner is None else inner


class MomentumCallback(keras.callbacks.Callback):
    """Sets the optimizer's momentum from a cyclr schedule before every batch.

    The value at optimizer update ``t`` (``optimizer.iterations``) is ``schedule(t)``: SGD's and
    RMSprop's ``momentum``, or ``beta_1`` for the Adam family (Adam, AdamW, Adamax, Nadam, Lion,
    ...). Pass ``attribute`` to choose another float hyperparameter.

    Keras bakes Python hyperparameters into compiled train steps, so this needs an eager train
    step: the PyTorch backend (without ``jit_compile=True``) or ``run_eagerly=True``; otherwise
    it raises at the start of ``fit``. SGD and RMSprop must be created with ``momentum > 0``
    (with 0 they keep no velocity).

    Example:
        >>> import keras, cyclr
        >>> from cyclr.keras import MomentumCallback
        >>> s = cyclr.OneCycle(max_lr=0.1, total_steps=1001)
        >>> callback = MomentumCallback(s.momentum(0.85, 0.95))
        >>> callback.schedule(0), callback.schedule(450)
        (0.95, 0.85)
    """

    def __init__(self, schedule: _CyclrSchedule, attribute: str | None = None) -> None:
        super().__init__()
        if not isinstance(schedule, _CyclrSchedule):
            raise TypeError(
                f"schedule must be a cyclr Schedule, got {schedule!r} ({type(schedule).__name__})"
            )
        if attribute is not None and not isinstance(attribute, str):
            raise TypeError(f"attribute must be a str or None, got {attribute!r}")
        self.schedule = schedule
        self.attribute = attribute
        self._attr: str | None = None

    def _find_attribute(self, opt: Any) -> str:
        name = type(opt).__name__
        if self.attribute is not None:
            if not isinstance(getattr(opt, self.attribute, None), (int, float)):
                raise ValueError(
                    f"attribute={self.attribute!r}: {name} has no float hyperparameter of that name"
                )
            return self.attribute
        if isinstance(getattr(opt, "momentum", None), (int, float)):
            if opt.momentum == 0:
                raise ValueError(
                    f"{name} was created with momentum=0, so it keeps no velocity to cycle; "
                    f"create it with momentum > 0 (e.g. {name}(..., momentum=0.9))"
                )
            return "momentum"
        if isinstance(getattr(opt, "beta_1", None), (int, float)):
            return "beta_1"
        raise ValueError(
            f"momentum cycling needs an optimizer with 'momentum' (SGD, RMSprop) or 'beta_1' "
            f"(Adam family); {name} has neither (pass attribute=... to name another)"
        )

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        opt = _inner_optimizer(self.model.optimizer)
        self._attr = self._find_attribute(opt)
        if not _runs_eagerly(self.model):
            raise ValueError(
                "MomentumCallback needs an eager train step, since Keras compiles Python "
                f"hyperparameters into the step: use the torch backend without jit_compile, or "
                f"compile the model with run_eagerly=True (backend "
                f"{keras.backend.backend()!r}, jit_compile={self.model.jit_compile!r})"
            )

    def on_train_batch_begin(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        opt = _inner_optimizer(self.model.optimizer)
        step = int(ops.convert_to_numpy(opt.iterations))
        setattr(opt, self._attr or self._find_attribute(opt), self.schedule.at(step))


# -- the LR range test -------------------------------------------------------------------------


class _SweepLR(keras.optimizers.schedules.LearningRateSchedule):
    """The sweep's LR, in place of an optimizer's own schedule during the test."""

    def __init__(self) -> None:
        super().__init__()
        self.value = 0.0

    def __call__(self, step: Any) -> float:
        return self.value

    def get_config(self) -> dict[str, Any]:
        return {}


def _leaves(x: Any) -> list[Any]:
    if isinstance(x, dict):
        return [leaf for value in x.values() for leaf in _leaves(value)]
    if isinstance(x, (list, tuple)):
        return [leaf for value in x for leaf in _leaves(value)]
    return [x]


def _take(x: Any, idx: np.ndarray) -> Any:
    """Rows ``idx`` of every array in a (nested dict/list/tuple) structure."""
    if isinstance(x, dict):
        return {k: _take(value, idx) for k, value in x.items()}
    if isinstance(x, (list, tuple)):
        return type(x)(_take(value, idx) for value in x)
    return x[idx]


def _length(x: Any) -> int:
    leaves = _leaves(x)
    if not leaves:
        raise ValueError("x holds no arrays")
    sizes = {len(a) for a in leaves}
    if len(sizes) != 1:
        raise ValueError(f"the arrays in x have different lengths: {sorted(sizes)}")
    return sizes.pop()


def _array_batches(
    x: Any, y: Any, sample_weight: Any, batch_size: int, shuffle: bool, seed: int | None
) -> Iterator[tuple[Any, Any, Any]]:
    n = _length(x)
    for name, other in (("y", y), ("sample_weight", sample_weight)):
        if other is not None and _length(other) != n:
            raise ValueError(f"{name} has {_length(other)} samples but x has {n}")
    rng = np.random.default_rng(seed)
    while True:
        order = rng.permutation(n) if shuffle else np.arange(n)
        for start in range(0, n, batch_size):
            idx = order[start : start + batch_size]
            yield (
                _take(x, idx),
                None if y is None else _take(y, idx),
                None if sample_weight is None else _take(sample_weight, idx),
            )


class _DatasetBatches:
    """Batches from an iterable, restarted when a pass ends (a one-shot iterator ends the test)."""

    def __init__(self, dataset: Iterable[Any]) -> None:
        self._data = dataset
        self._it: Iterator[Any] | None = None
        self.exhausted = False

    def _iter(self) -> Iterator[Any]:
        d = self._data
        if isinstance(d, keras.utils.PyDataset):
            n = getattr(d, "num_batches", None)
            n = len(d) if n is None else n
            return (d[i] for i in range(n))
        return iter(d)

    def next(self) -> tuple[Any, Any, Any] | None:
        if self.exhausted:
            return None
        batch: Any = None
        if self._it is not None:
            batch = next(self._it, _END)
            if batch is _END and self._it is self._data:
                self.exhausted = True
                return None
        if self._it is None or batch is _END:
            self._it = self._iter()
            batch = next(self._it, _END)
            if batch is _END:
                self.exhausted = True
                return None
        return keras.utils.unpack_x_y_sample_weight(batch)  # type: ignore[no-any-return]


_END = object()


def _versions() -> dict[str, str]:
    out = {
        "cyclr": cyclr.__version__,
        "keras": keras.__version__,
        "keras_backend": keras.backend.backend(),
        "numpy": np.__version__,
        "python": platform.python_version(),
    }
    module = {"torch": "torch", "jax": "jax", "tensorflow": "tensorflow"}.get(out["keras_backend"])
    if module is not None:
        import importlib

        out[module] = str(getattr(importlib.import_module(module), "__version__", "?"))
    return out


def _snapshot(variables: list[Any]) -> list[np.ndarray]:
    return [np.array(ops.convert_to_numpy(var.value), copy=True) for var in variables]


def _restore(variables: list[Any], values: list[np.ndarray]) -> None:
    for var, value in zip(variables, values):
        var.assign(value)


def range_test(
    model: Any,
    x: Any = None,
    y: Any = None,
    dataset: Iterable[Any] | None = None,
    *,
    start_lr: float | None = None,
    end_lr: float | None = None,
    num_iter: int = 100,
    mode: str = "exp",
    batch_size: int = 32,
    sample_weight: Any = None,
    shuffle: bool = True,
    seed: int | None = 0,
    metric: str | None = "auto",
    smooth: float = 0.98,
    diverge: float | None = 4.0,
    validation_data: tuple[Any, ...] | None = None,
    val_every: int = 10,
) -> RangeTestResult:
    """LR range test (Smith 2015, §3.3) on a compiled Keras model; the model is left as it was.

    The LR rises from ``start_lr`` to ``end_lr`` over ``num_iter`` optimizer updates, linearly
    (``mode="linear"``, the paper) or geometrically (``mode="exp"``):
    ``lr_i = start_lr * (end_lr / start_lr) ** (i / (num_iter - 1))``. Each update trains on one
    batch with ``model.train_on_batch`` after resetting the metrics, so the recorded loss and
    metric are those of that batch alone, not the running epoch mean that ``fit`` reports in
    ``logs``. The smoothed loss is the bias-corrected EMA ``beta = smooth``.

    The test stops early when the smoothed loss exceeds ``diverge`` × its minimum, checked from
    update 5 on (``"diverged"``); when the loss is not finite (``"non_finite_loss"``; that point
    is not recorded); when a one-shot iterator runs out (``"data_exhausted"``; re-iterable
    datasets and arrays cycle); or on Ctrl-C (``"interrupted"``). Whatever happens, the model's
    variables (weights, BatchNorm statistics, dropout seeds) and the optimizer's (iterations, LR,
    slots) are restored bitwise, and a learning-rate schedule the optimizer was compiled with is
    put back; an exception from the model is re-raised after restoring.

    Args:
        model: a compiled ``keras.Model``.
        x, y, sample_weight: arrays (or nested structures of arrays) for batches of
            ``batch_size``, reshuffled every pass when ``shuffle`` (with ``seed``).
        dataset: instead of arrays, an iterable of batches ``x``, ``(x, y)`` or
            ``(x, y, sample_weight)``: a ``keras.utils.PyDataset``, ``tf.data.Dataset``, torch
            ``DataLoader``, list or generator.
        start_lr, end_lr, num_iter, mode: the sweep; the LRs default to ``1e-7 → 10`` (exp)
            or ``1e-3 → 1`` (linear), as in ``cyclr.torch.range_test``.
        metric: the training metric to record per batch: ``"auto"`` (the first compiled metric,
            e.g. ``"accuracy"``, if any), a name in the train logs, or ``None``.
        smooth: EMA factor in [0, 1) for ``smoothed_loss``.
        diverge: stop once the smoothed loss exceeds this multiple of its minimum (> 1), or
            ``None`` to never stop early.
        validation_data: ``(x_val, y_val)`` — a small fixed held-out subset, scored with
            ``model.evaluate`` every ``val_every`` updates.

    Returns:
        A :class:`cyclr.RangeTestResult` (``result.suggest()`` reads the bounds from it).

    Example::

        model.compile(optimizer=keras.optimizers.SGD(momentum=0.9), loss=..., metrics=["accuracy"])
        result = cyclr.keras.range_test(model, x_train, y_train, start_lr=1e-5, end_lr=1,
                                        num_iter=200, batch_size=64)
        result.save("range_test.json")
    """
    if not isinstance(model, keras.Model):
        raise TypeError(f"model must be a keras.Model, got {model!r} ({type(model).__name__})")
    if not getattr(model, "compiled", False) or getattr(model, "optimizer", None) is None:
        raise ValueError("model must be compiled with an optimizer and a loss first")
    v.choice("mode", mode, MODES)
    lo, hi = DEFAULT_RANGE[mode]
    start = lo if start_lr is None else v.positive("start_lr", start_lr)
    end = hi if end_lr is None else v.positive("end_lr", end_lr)
    if end <= start:
        raise ValueError(f"end_lr ({end!r}) must be > start_lr ({start!r})")
    n_iter = v.integer("num_iter", num_iter, minimum=MIN_ITER)
    bs = v.integer("batch_size", batch_size, minimum=1)
    if not isinstance(shuffle, bool):
        raise TypeError(f"shuffle must be a bool, got {shuffle!r}")
    if seed is not None:
        v.integer("seed", seed)
    if metric is not None and not isinstance(metric, str):
        raise TypeError(f"metric must be 'auto', a metric name or None, got {metric!r}")
    beta = v.fraction("smooth", smooth, high_open=True)
    if diverge is not None and v.finite("diverge", diverge) <= 1:
        raise ValueError(f"diverge must be > 1 or None, got {diverge!r}")
    every = v.integer("val_every", val_every, minimum=1)
    if validation_data is not None and (
        not isinstance(validation_data, (tuple, list)) or not 1 <= len(validation_data) <= 3
    ):
        raise ValueError("validation_data must be a tuple (x_val, y_val[, sample_weight_val])")
    if (x is None) == (dataset is None):
        raise ValueError("pass either x (with y) or dataset, not both and not neither")
    if dataset is not None and (y is not None or sample_weight is not None):
        raise ValueError("y and sample_weight go inside dataset batches, not beside dataset")

    # Data: the first batch now, so an empty source fails before the model is touched.
    if x is not None:
        arrays = _array_batches(x, y, sample_weight, bs, shuffle, seed)
        if _length(x) == 0:
            raise ValueError("x holds no samples")
        next_batch = lambda: next(arrays)  # noqa: E731
    else:
        stream = _DatasetBatches(dataset)  # type: ignore[arg-type]
        next_batch = stream.next
    first = next_batch()
    if first is None:
        raise ValueError("dataset yields no batches")

    opt = model.optimizer
    if not model.built:
        model(first[0])
    if not model.trainable_variables:
        raise ValueError("model has no trainable variables")
    if not opt.built:
        opt.build(model.trainable_variables)
    lr_var = getattr(opt, "_learning_rate", None)
    holder: _SweepLR | None = None
    is_schedule = isinstance(lr_var, keras.optimizers.schedules.LearningRateSchedule)
    if is_schedule or not hasattr(lr_var, "assign"):  # a schedule or callable, not a Variable
        if not _runs_eagerly(model):
            raise ValueError(
                "the optimizer was created with a learning-rate schedule and the train step is "
                "compiled; create the optimizer with a float learning_rate for the range test, "
                "or compile with run_eagerly=True"
            )
        holder = _SweepLR()

    model_vars, opt_vars = list(model.variables), list(opt.variables)
    saved_model, saved_opt = _snapshot(model_vars), _snapshot(opt_vars)
    saved_lr = lr_var
    saved_stop = model.stop_training

    lrs: list[float] = []
    losses: list[float] = []
    smoothed: list[float] = []
    metrics: list[float] = []
    val_step: list[int] = []
    val_loss: list[float] = []
    val_metric: list[float] = []
    metric_name: str | None = None
    stop, message = "end", ""
    tracker = SmoothedLoss(beta, diverge)
    batch: Any = first
    try:
        if holder is not None:
            opt.learning_rate = holder
        for i in range(n_iter):
            lr = sweep_lr(i, start, end, n_iter, mode)
            if holder is not None:
                holder.value = lr
                used = lr
            else:
                lr_var.assign(lr)
                used = float(ops.convert_to_numpy(lr_var))
            if batch is None:
                batch = next_batch()
                if batch is None:
                    stop = "data_exhausted"
                    message = f"the dataset ran out after {i} batches (it cannot be restarted)"
                    break
            bx, by, bw = batch
            batch = None
            model.reset_metrics()
            logs = model.train_on_batch(bx, by, sample_weight=bw, return_dict=True)
            if i == 0:
                metric_name = _pick_metric(metric, logs)
            loss = float(logs["loss"])
            if not math.isfinite(loss):
                stop = "non_finite_loss"
                message = f"the loss was {loss} at update {i} (lr={used:.4g}); not recorded"
                break
            sm = tracker.add(loss)
            lrs.append(used)
            losses.append(loss)
            smoothed.append(sm)
            if metric_name is not None:
                metrics.append(float(logs[metric_name]))
            if validation_data is not None and ((i + 1) % every == 0 or i == n_iter - 1):
                vl, vm = _evaluate(model, validation_data, bs, metric_name)
                val_step.append(i)
                val_loss.append(vl)
                val_metric.append(vm)
            if tracker.diverged(i):
                stop = "diverged"
                message = (
                    f"the smoothed loss {sm:.4g} exceeded {diverge:g} x its minimum "
                    f"{tracker.best:.4g} "
                    f"at update {i} (lr={used:.4g})"
                )
                break
    except KeyboardInterrupt:
        stop = "interrupted"
        message = f"interrupted after {len(lrs)} updates"
    finally:
        _restore(model_vars, saved_model)
        _restore(opt_vars, saved_opt)
        if holder is not None:
            opt.learning_rate = saved_lr
        model.reset_metrics()
        model.stop_training = saved_stop
    if stop == "end":
        message = f"swept {len(lrs)} updates from lr={start:g} to lr={end:g} ({mode})"
    return RangeTestResult(
        lr=np.asarray(lrs, dtype=np.float64),
        loss=np.asarray(losses, dtype=np.float64),
        smoothed_loss=np.asarray(smoothed, dtype=np.float64),
        metric=np.asarray(metrics, dtype=np.float64) if metric_name is not None else None,
        val_step=np.asarray(val_step, dtype=np.int64) if validation_data is not None else None,
        val_loss=np.asarray(val_loss, dtype=np.float64) if validation_data is not None else None,
        val_metric=(
            np.asarray(val_metric, dtype=np.float64)
            if validation_data is not None and metric_name is not None
            else None
        ),
        mode=mode,
        metric_name=metric_name,
        stop_reason=stop,
        message=message,
        config={
            "framework": "keras",
            "start_lr": start,
            "end_lr": end,
            "num_iter": n_iter,
            "mode": mode,
            "batch_size": bs if x is not None else None,
            "shuffle": shuffle if x is not None else None,
            "seed": seed,
            "metric": metric,
            "smooth": beta,
            "diverge": diverge,
            "val_every": every if validation_data is not None else None,
            "optimizer": type(_inner_optimizer(opt)).__name__,
        },
        versions=_versions(),
    )


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
