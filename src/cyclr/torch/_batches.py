"""Batches for the PyTorch range test: unpacking, device moves, the loss, and the metric.

The loss of one (micro-)batch comes one of two ways (:func:`batch_loss`):

- ``loss_fn(model(inputs), targets)``, with ``(inputs, targets)`` unpacked from the batch;
- ``loss_of_batch(model, batch)``, for models that compute their own loss (a Lightning
  ``training_step``, a Hugging Face model called with ``labels``): it returns the scalar loss, or
  ``(loss, output, target)`` so that a metric can still be computed.

A short loader is cycled by the shared :class:`cyclr.range_test.batch_stream.BatchStream`;
:func:`rebatch` rebuilds a ``DataLoader`` with another batch size (for batch-size sweeps).
"""

from __future__ import annotations

import contextlib
import math
import numbers
from collections.abc import Callable, Mapping
from typing import Any

import torch

from cyclr import _validate

__all__ = [
    "accuracy_counts",
    "batch_loss",
    "call_model",
    "callable_name",
    "describe",
    "host_floats",
    "looks_like_classification",
    "metric_value",
    "rebatch",
    "resolve_metric",
    "split_batch",
    "to_device",
]


def to_device(x: Any, device: torch.device) -> Any:
    """Move tensors (also inside tuples, lists and dicts) to ``device``."""
    if isinstance(x, torch.Tensor):
        return x.to(device, non_blocking=device.type != "cpu")
    if isinstance(x, Mapping):
        return {k: to_device(v, device) for k, v in x.items()}
    if isinstance(x, tuple) and hasattr(x, "_fields"):  # a namedtuple takes its fields as args
        return type(x)(*(to_device(v, device) for v in x))
    if isinstance(x, (tuple, list)):
        return type(x)(to_device(v, device) for v in x)
    return x


def split_batch(batch: Any, batch_fn: Callable[[Any], Any] | None) -> tuple[Any, Any]:
    """``(inputs, targets)`` from a batch: ``batch_fn(batch)`` or a pair ``(inputs, targets)``."""
    if batch_fn is not None:
        pair = batch_fn(batch)
        if not (isinstance(pair, (tuple, list)) and len(pair) == 2):
            raise TypeError(f"batch_fn must return (inputs, targets), got {type(pair).__name__}")
        return pair[0], pair[1]
    if isinstance(batch, (tuple, list)) and len(batch) == 2:
        return batch[0], batch[1]
    what = f"a {type(batch).__name__}"
    if isinstance(batch, (tuple, list)):
        what += f" of length {len(batch)}"
    raise TypeError(
        f"train_loader must yield (inputs, targets) pairs, got {what}; pass "
        "batch_fn=lambda batch: (inputs, targets) to unpack other batches"
    )


def call_model(model: Callable[..., Any], inputs: Any) -> Any:
    """``model(inputs)``; a tuple/list is spread as positional args, a dict as keywords."""
    if isinstance(inputs, Mapping):
        return model(**inputs)
    if isinstance(inputs, (tuple, list)):
        return model(*inputs)
    return model(inputs)


def batch_loss(
    model: Callable[..., Any],
    batch: Any,
    *,
    loss_fn: Callable[[Any, Any], Any] | None,
    loss_of_batch: Callable[[Any, Any], Any] | None,
    batch_fn: Callable[[Any], Any] | None,
    device: torch.device,
    autocast_dtype: torch.dtype | None,
) -> tuple[torch.Tensor, Any, Any]:
    """One forward pass: ``(loss, output, target)`` with ``loss`` a 0-d tensor.

    With ``loss_fn`` the batch is split into ``(inputs, targets)`` (:func:`split_batch`), moved
    to ``device`` and ``loss = loss_fn(model(inputs), targets)``. With ``loss_of_batch`` the whole
    batch is moved to ``device`` and ``loss_of_batch(model, batch)`` returns the loss, or
    ``(loss, output, target)``; ``output`` and ``target`` are ``None`` for a bare loss. Either
    runs inside ``torch.autocast(device.type, dtype=autocast_dtype)`` when that is not ``None``.

    Example:
        >>> model = torch.nn.Linear(2, 3)
        >>> batch = {"x": torch.ones(4, 2), "y": torch.zeros(4, dtype=torch.long)}
        >>> def loss_of_batch(m, b):
        ...     out = m(b["x"])
        ...     return torch.nn.functional.cross_entropy(out, b["y"]), out, b["y"]
        >>> loss, out, target = batch_loss(model, batch, loss_fn=None,
        ...     loss_of_batch=loss_of_batch, batch_fn=None, device=torch.device("cpu"),
        ...     autocast_dtype=None)
        >>> loss.ndim, tuple(out.shape), target.tolist()
        (0, (4, 3), [0, 0, 0, 0])
    """
    ctx = (
        torch.autocast(device.type, dtype=autocast_dtype)
        if autocast_dtype is not None
        else contextlib.nullcontext()
    )
    if loss_of_batch is not None:
        batch = to_device(batch, device)
        with ctx:
            returned = loss_of_batch(model, batch)
        return _loss_parts(returned, callable_name(loss_of_batch))
    assert loss_fn is not None
    inputs, target = split_batch(batch, batch_fn)
    inputs, target = to_device(inputs, device), to_device(target, device)
    with ctx:
        out = call_model(model, inputs)
        loss = loss_fn(out, target)
    return _scalar(loss, "loss_fn"), out, target


def _loss_parts(returned: Any, name: str) -> tuple[torch.Tensor, Any, Any]:
    """``loss_of_batch``'s return value as ``(loss, output, target)``."""
    who = f"loss_of_batch ({name})"
    if isinstance(returned, torch.Tensor):
        return _scalar(returned, who), None, None
    if isinstance(returned, (tuple, list)):
        if len(returned) == 3:
            loss, out, target = returned
            return _scalar(loss, who, " as the loss of (loss, output, target)"), out, target
        raise TypeError(
            f"{who} must return a scalar loss tensor or (loss, output, target), got a "
            f"{type(returned).__name__} of length {len(returned)}"
        )
    raise TypeError(
        f"{who} must return a scalar loss tensor or (loss, output, target), got "
        f"{type(returned).__name__}"
    )


def _scalar(loss: Any, who: str, role: str = "") -> torch.Tensor:
    """``loss`` as a 0-d tensor; a ``TypeError`` naming ``who`` unless it holds one number."""
    if not isinstance(loss, torch.Tensor) or loss.numel() != 1:
        what = (
            f"a tensor of shape {tuple(loss.shape)}"
            if isinstance(loss, torch.Tensor)
            else type(loss).__name__
        )
        raise TypeError(f"{who} must return a scalar tensor{role}, got {what}")
    return loss if loss.ndim == 0 else loss.reshape(())


def callable_name(fn: Any) -> str:
    """A callable's ``__name__`` (its type's name when it has none)."""
    return str(getattr(fn, "__name__", type(fn).__name__))


def resolve_metric(
    metric: Any, out: Any, target: Any, *, from_loss_of_batch: bool
) -> tuple[Callable[[Any, Any], tuple[Any, Any]] | None, str | None]:
    """The per-batch metric ``(numerator, denominator)`` function and its name, chosen on the
    first batch's ``output`` and ``target``.

    ``"auto"``: accuracy when they look like class logits and integer classes (see
    :func:`looks_like_classification`), else no metric; ``"accuracy"``: accuracy or a
    ``ValueError``; a callable: ``metric(output, target)`` per batch (:func:`metric_value`);
    ``None``: no metric. A ``loss_of_batch`` that returns only the loss gives no output and
    target: ``"auto"`` then records no metric, and the others raise.

    Example:
        >>> fn, name = resolve_metric("auto", torch.zeros(4, 3), torch.zeros(4, dtype=torch.long),
        ...                           from_loss_of_batch=False)
        >>> name, [int(x) for x in fn(torch.eye(4, 3), torch.tensor([0, 1, 2, 0]))]
        ('accuracy', [4, 4])
    """
    if metric is None or (metric == "auto" and out is None and target is None):
        return None, None
    if from_loss_of_batch and out is None and target is None:
        label = metric if isinstance(metric, str) else callable_name(metric)
        raise ValueError(
            f"metric={label!r} needs output and target: make loss_of_batch return "
            "(loss, output, target), or pass metric=None"
        )
    if metric in ("auto", "accuracy"):
        if looks_like_classification(out, target):
            return accuracy_counts, "accuracy"
        if metric == "accuracy":
            shapes = f"output {describe(out)} and target {describe(target)}"
            raise ValueError(
                f"metric='accuracy' needs class logits (N, C, ...) and integer "
                f"targets (N, ...); got {shapes}"
            )
        return None, None
    fn, name = metric, callable_name(metric)

    def user_metric(o: Any, t: Any) -> tuple[Any, int]:
        value = fn(o.detach() if isinstance(o, torch.Tensor) else o, t)
        return metric_value(name, value), 1

    return user_metric, name


def looks_like_classification(output: Any, target: Any) -> bool:
    """Logits ``(N, C, ...)`` with ``C >= 2`` and integer class targets ``(N, ...)``."""
    return (
        isinstance(output, torch.Tensor)
        and isinstance(target, torch.Tensor)
        and output.is_floating_point()
        and output.ndim >= 2
        and output.shape[1] >= 2
        and not target.is_floating_point()
        and not target.is_complex()
        and target.dtype != torch.bool
        and tuple(target.shape) == (output.shape[0], *output.shape[2:])
    )


def accuracy_counts(output: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, int]:
    """``(correct, count)``: how many argmax predictions match, without a host sync."""
    correct = (output.detach().argmax(1) == target).sum()
    return correct, target.numel()


def metric_value(name: str, value: Any) -> torch.Tensor | float:
    """A user metric's value for one batch, ready to be summed and averaged.

    A real number or a 0-d/1-element real tensor is the value (a tensor stays on its device,
    detached, as float32 or wider, so no host sync is forced); ``None`` means "undefined for
    this batch" and becomes NaN, so the update's recorded metric is NaN. Anything else is a
    ``TypeError`` naming the metric and what it returned.

    Example:
        >>> metric_value("top5", None), metric_value("top5", 3)
        (nan, 3.0)
        >>> metric_value("top5", torch.tensor([0.25]))
        tensor(0.2500)
        >>> metric_value("top5", "high")
        Traceback (most recent call last):
        ...
        TypeError: metric top5 must return a number, a 0-d or 1-element tensor or None (undefined \
here), got 'high' (str)
    """
    if value is None:
        return math.nan
    if isinstance(value, torch.Tensor):
        if value.numel() == 1 and not value.is_complex() and value.dtype != torch.bool:
            v = value.detach().reshape(())
            return v if v.dtype in (torch.float32, torch.float64) else v.float()
        what = f"a tensor of shape {tuple(value.shape)} {str(value.dtype).replace('torch.', '')}"
    elif isinstance(value, numbers.Real) and not isinstance(value, bool):
        return float(value)
    else:
        what = f"{value!r} ({type(value).__name__})"
    raise TypeError(
        f"metric {name} must return a number, a 0-d or 1-element tensor or None (undefined "
        f"here), got {what}"
    )


def describe(x: Any) -> str:
    """A tensor's shape and dtype (another value's type), for error messages."""
    if isinstance(x, torch.Tensor):
        return f"{tuple(x.shape)} {str(x.dtype).replace('torch.', '')}"
    return type(x).__name__


def host_floats(values: list[Any], world: int, group: Any, device: torch.device) -> list[float]:
    """``values`` (tensors, numbers or ``None`` for 0) as floats with one host sync; summed
    over the ``world`` ranks of ``group`` when distributed."""
    tensors = [i for i, x in enumerate(values) if isinstance(x, torch.Tensor)]
    ref = values[tensors[0]] if tensors else None
    out = [0.0 if x is None else x for x in values]
    if world == 1:
        if len(tensors) == 1 or (ref is not None and ref.device.type == "cpu"):
            for i in tensors:  # nothing to wait for on the CPU: item() is cheapest
                out[i] = values[i].item()
        elif ref is not None:  # one device sync; float32 counts are exact below 2**24
            dtype = ref.dtype if ref.dtype in (torch.float32, torch.float64) else torch.float32
            stacked = torch.stack([values[i].to(dtype) for i in tensors]).tolist()
            for i, x in zip(tensors, stacked):
                out[i] = x
        return [float(x) for x in out]
    dtype = torch.float32 if ref is not None and ref.device.type == "mps" else torch.float64
    dev = ref.device if ref is not None else device
    vec = torch.stack(
        [
            x.to(dtype)
            if isinstance(x, torch.Tensor)
            else torch.tensor(float(x), dtype=dtype, device=dev)
            for x in out
        ]
    )
    torch.distributed.all_reduce(vec, group=group)
    return [float(x) for x in vec.tolist()]


def rebatch(loader: Any, batch_size: int) -> Any:
    """A copy of a ``torch.utils.data.DataLoader`` with another batch size.

    Keeps the dataset, shuffling (and its generator), ``collate_fn``, workers, ``drop_last`` and
    the other loading options. Raises ``TypeError`` for other loaders and ``ValueError`` for a
    custom sampler or batch sampler (pass ``loader_factory`` to :func:`sweep` instead).

    Example:
        >>> from cyclr.torch._batches import rebatch
        >>> data = torch.utils.data.TensorDataset(torch.arange(10.0))
        >>> len(rebatch(torch.utils.data.DataLoader(data, 2, shuffle=True), 5))
        2
    """
    from torch.utils.data import (
        BatchSampler,
        DataLoader,
        IterableDataset,
        RandomSampler,
        SequentialSampler,
    )

    if not isinstance(loader, DataLoader):
        raise TypeError(
            f"param='batch_size' without loader_factory needs a torch DataLoader as "
            f"train_loader, got {type(loader).__name__}"
        )
    batch_size = _validate.integer("batch_size", batch_size, minimum=1)
    if loader.batch_size is None:
        raise ValueError(
            "train_loader has batch_size=None (it batches itself); pass loader_factory"
        )
    sampler = loader.sampler
    shuffle = False
    generator = loader.generator
    if not isinstance(loader.dataset, IterableDataset):
        if isinstance(sampler, RandomSampler):
            if sampler.replacement or sampler._num_samples is not None:
                raise ValueError(
                    "train_loader samples with replacement or a fixed count; pass loader_factory"
                )
            shuffle = True
            generator = sampler.generator if sampler.generator is not None else generator
        elif not isinstance(sampler, SequentialSampler):
            raise ValueError(
                f"train_loader uses a custom sampler ({type(sampler).__name__}); "
                "pass loader_factory to build a loader per batch size"
            )
        if type(loader.batch_sampler) is not BatchSampler:
            raise ValueError(
                f"train_loader uses a custom batch sampler "
                f"({type(loader.batch_sampler).__name__}); pass loader_factory"
            )
    workers = loader.num_workers
    options: dict[str, Any] = {
        "batch_size": batch_size,
        "shuffle": shuffle,
        "num_workers": workers,
        "collate_fn": loader.collate_fn,
        "pin_memory": loader.pin_memory,
        "drop_last": loader.drop_last,
        "timeout": loader.timeout,
        "worker_init_fn": loader.worker_init_fn,
        "generator": generator,
    }
    if workers > 0:
        options.update(
            multiprocessing_context=loader.multiprocessing_context,
            prefetch_factor=loader.prefetch_factor,
            persistent_workers=loader.persistent_workers,
        )
    return DataLoader(loader.dataset, **options)
