"""Batches for the PyTorch range test: unpacking, device moves, and the default metric.

A short loader is cycled by the shared :class:`cyclr.range_test.batch_stream.BatchStream`.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Mapping
from typing import Any

import torch

__all__ = [
    "accuracy_counts",
    "call_model",
    "describe",
    "host_floats",
    "looks_like_classification",
    "metric_value",
    "split_batch",
    "to_device",
]


def to_device(x: Any, device: torch.device) -> Any:
    """Move tensors (also inside tuples, lists and dicts) to ``device``."""
    if isinstance(x, torch.Tensor):
        return x.to(device, non_blocking=device.type != "cpu")
    if isinstance(x, Mapping):
        return {k: to_device(v, device) for k, v in x.items()}
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
