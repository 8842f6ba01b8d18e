"""Batches for the Keras range test: arrays cut into shuffled batches, or a dataset, through
the shared :class:`cyclr.range_test.batch_stream.BatchStream` (a pass that ends restarts; a
one-shot iterator ends the test; a ``keras.utils.PyDataset`` is restarted by index)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import keras
import numpy as np

from cyclr.range_test.batch_stream import BatchStream

__all__ = ["KerasBatches", "array_batches", "pydataset_pass"]


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


def array_batches(
    x: Any, y: Any, sample_weight: Any, batch_size: int, shuffle: bool
) -> Iterator[tuple[Any, Any, Any]]:
    """Endless ``(x, y, sample_weight)`` batches of ``batch_size`` rows, reshuffled every pass
    when ``shuffle`` (``numpy.random.permutation``: numpy's global generator, which the range
    test seeds with its ``seed`` and puts back after); the sizes are checked now."""
    n = _length(x)
    for name, other in (("y", y), ("sample_weight", sample_weight)):
        if other is not None and _length(other) != n:
            raise ValueError(f"{name} has {_length(other)} samples but x has {n}")
    if n == 0:
        raise ValueError("x holds no samples")

    def passes() -> Iterator[tuple[Any, Any, Any]]:
        while True:
            order = np.random.permutation(n) if shuffle else np.arange(n)
            for start in range(0, n, batch_size):
                idx = order[start : start + batch_size]
                yield (
                    _take(x, idx),
                    None if y is None else _take(y, idx),
                    None if sample_weight is None else _take(sample_weight, idx),
                )

    return passes()


def pydataset_pass(dataset: Any) -> Iterator[Any]:
    """One pass over a ``keras.utils.PyDataset``: ``dataset[i]`` for each of its batches."""
    n = getattr(dataset, "num_batches", None)
    n = len(dataset) if n is None else n
    return (dataset[i] for i in range(n))


class KerasBatches:
    """``(x, y, sample_weight)`` batches from arrays or from ``dataset``, or ``None`` once a
    one-shot ``dataset`` has run out."""

    def __init__(
        self,
        x: Any,
        y: Any,
        sample_weight: Any,
        dataset: Iterable[Any] | None,
        batch_size: int,
        shuffle: bool,
    ) -> None:
        self._unpack = dataset is not None
        if dataset is None:
            self.stream = BatchStream(array_batches(x, y, sample_weight, batch_size, shuffle))
        elif isinstance(dataset, keras.utils.PyDataset):
            self.stream = BatchStream(dataset, restart=pydataset_pass)
        else:
            self.stream = BatchStream(dataset)

    def next(self) -> tuple[Any, Any, Any] | None:
        batch = self.stream.next()
        if batch is None or not self._unpack:
            return batch
        return keras.utils.unpack_x_y_sample_weight(batch)
