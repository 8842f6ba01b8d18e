"""The range test's batch stream: endless batches from a source that may be short or one-shot.

A range test needs ``num_iter`` updates whatever the size of the data: when a pass over a
re-iterable source (a list, a ``DataLoader``, a dataset) ends, a new pass starts. An iterator
or generator cannot be restarted, so when it runs dry the test ends (``"data_exhausted"``).

Example:
    >>> from cyclr.range_test.batch_stream import BatchStream
    >>> s = BatchStream([1, 2, 3])
    >>> s.take(5), s.passes
    ([1, 2, 3, 1, 2], 2)
    >>> one_shot = BatchStream(iter([1, 2]))
    >>> one_shot.take(2), one_shot.next(), one_shot.exhausted
    ([1, 2], None, True)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

__all__ = ["BatchStream"]


class BatchStream:
    """Endless batches from ``source``: when a pass ends, ``restart(source)`` starts another.

    ``restart`` is ``iter`` unless given (an adapter passes its own for sources that iterate
    some other way, e.g. by index). The stream is exhausted only when a fresh pass yields
    nothing at all, or when ``restart(source)`` is ``source`` itself (an iterator).
    """

    def __init__(
        self,
        source: Iterable[Any],
        restart: Callable[[Any], Iterator[Any]] = iter,
    ) -> None:
        self._source = source
        self._restart = restart
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
                if self._it is self._source:  # a one-shot iterator: no second pass
                    self.exhausted = True
                    return None
        self._it = self._restart(self._source)
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
