"""The batch stream: a short re-iterable source cycles, a one-shot iterator ends the test."""

from __future__ import annotations

import math
from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cyclr.range_test.batch_stream import BatchStream


@given(st.lists(st.integers(), min_size=1, max_size=10), st.integers(1, 50))
def test_a_re_iterable_source_cycles(items: list[int], n: int) -> None:
    s = BatchStream(items)
    assert [s.next() for _ in range(n)] == [items[i % len(items)] for i in range(n)]
    assert s.passes == math.ceil(n / len(items)) and not s.exhausted


@given(st.lists(st.integers(), max_size=10), st.integers(1, 20))
def test_a_one_shot_iterator_ends_after_its_batches(items: list[int], extra: int) -> None:
    s = BatchStream(iter(items))
    assert [s.next() for _ in items] == items
    assert all(s.next() is None for _ in range(extra))
    assert s.exhausted and s.passes == 1


def test_an_empty_source_is_exhausted_at_once() -> None:
    for source in ([], iter([]), (b for b in [])):
        s = BatchStream(source)
        assert s.next() is None and s.exhausted
        assert s.take(1) is None


def test_take_gives_n_batches_or_none() -> None:
    s = BatchStream(iter([1, 2, 3, 4, 5]))
    assert s.take(2) == [1, 2] and s.take(2) == [3, 4]
    assert s.take(2) is None  # one left: not enough for an update
    assert BatchStream([1, 2]).take(5) == [1, 2, 1, 2, 1]


def test_a_source_that_ends_empty_on_a_later_pass_exhausts() -> None:
    class Shrinking:
        def __init__(self) -> None:
            self.passes = [[1, 2], []]

        def __iter__(self) -> Iterator[int]:
            return iter(self.passes.pop(0))

    s = BatchStream(Shrinking())
    assert s.take(2) == [1, 2] and s.next() is None and s.exhausted


def test_a_custom_restart_iterates_an_indexed_source() -> None:
    class Indexed:
        """Batches by index only, as a keras PyDataset."""

        def __len__(self) -> int:
            return 3

        def __getitem__(self, i: int) -> str:
            return "abc"[i]

    def by_index(source: Indexed) -> Iterator[str]:
        return (source[i] for i in range(len(source)))

    s = BatchStream(Indexed(), restart=by_index)
    assert s.take(7) == list("abcabca") and s.passes == 3


def test_an_error_in_the_source_propagates() -> None:
    def failing() -> Iterator[int]:
        yield 1
        raise RuntimeError("bad batch")

    s = BatchStream(failing())
    assert s.next() == 1
    with pytest.raises(RuntimeError, match="bad batch"):
        s.next()
