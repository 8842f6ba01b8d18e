"""Batches for the range test: a cycling stream, device moves, and the default metric."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

import torch

__all__ = [
    "BatchStream",
    "accuracy_counts",
    "call_model",
    "looks_like_classification",
    "split_batch",
    "to_device",
]


class BatchStream:
    """Endless batches from ``loader``: when a pass ends, a new one starts with ``iter(loader)``.

    The stream is exhausted only when a fresh pass yields nothing at all, or when ``loader`` is
    itself an iterator (a generator, ``iter(dataloader)``), which cannot be restarted.
    """

    def __init__(self, loader: Iterable[Any]) -> None:
        self._loader = loader
        self._it: Iterator[Any] | None = None
        self.passes = 0
        self.exhausted = False

    def next(self) -> Any | None:
        """The next batch, or ``None`` once the stream is exhausted."""
        if self.exhausted:
            return None
        if self._it is not None:
            try:
                return next(self._it)
            except StopIteration:
                if self._it is self._loader:  # a one-shot iterator: no second pass
                    self.exhausted = True
                    return None
        self._it = iter(self._loader)
        self.passes += 1
        try:
            return next(self._it)
        except StopIteration:
            self.exhausted = True
            return None

    def take(self, n: int) -> list[Any] | None:
        """``n`` batches, or ``None`` if the stream ran out before ``n``."""
        out = []
        for _ in range(n):
            b = self.next()
            if b is None:
                return None
            out.append(b)
        return out


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
