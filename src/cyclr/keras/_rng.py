"""The global random-number generators a Keras range test may draw from, put back bitwise.

The range test (Smith 2015, §3.3) is a probe, so it must not shift the random streams the
training that follows it draws from. Its data and model can draw from global generators that
Keras' own variables do not hold:

- Python's ``random`` (Keras' default seeds, a user's ``PyDataset`` or generator);
- numpy's legacy ``np.random`` (a user's data pipeline);
- on the torch backend, torch's default generator (a torch ``DataLoader`` with
  ``shuffle=True`` given as ``dataset``; ``Dropout`` without a ``seed``) and, once CUDA is in
  use, the CUDA generators.

torch is read only if it is already imported (the torch backend imports it); nothing here
imports a framework.

Example:
    >>> import random
    >>> from cyclr.keras._rng import global_rng_restored
    >>> python, numpy = random.getstate(), np.random.get_state()[1].copy()
    >>> with global_rng_restored():
    ...     _ = random.random(), np.random.rand(3)
    >>> random.getstate() == python, bool((np.random.get_state()[1] == numpy).all())
    (True, True)
    >>> with global_rng_restored() as rng:
    ...     rng.seed(0)
    ...     first = np.random.rand()
    >>> first == np.random.RandomState(0).rand()
    True
"""

from __future__ import annotations

import random
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

__all__ = ["GlobalRNG", "global_rng_restored"]


class GlobalRNG:
    """The states of Python's, numpy's and (when imported) torch's global generators, taken
    when created; :meth:`restore` puts them back."""

    def __init__(self) -> None:
        self._python = random.getstate()
        self._numpy = np.random.get_state()
        self._torch: Any = None
        self._cuda: Any = None
        torch = sys.modules.get("torch")
        if torch is not None:
            self._torch = torch.get_rng_state()
            if torch.cuda.is_available() and torch.cuda.is_initialized():
                self._cuda = torch.cuda.get_rng_state_all()

    def seed(self, seed: int) -> None:
        """Seed every generator it holds with ``seed`` (as ``cyclr.torch.range_test(seed=)``
        does); :meth:`restore` still puts back the states taken before."""
        random.seed(seed)
        np.random.seed(seed)
        torch = sys.modules.get("torch")
        if torch is not None:
            torch.default_generator.manual_seed(seed)
            if self._cuda is not None:
                torch.cuda.manual_seed_all(seed)

    def restore(self) -> None:
        """Put every captured state back."""
        random.setstate(self._python)
        np.random.set_state(self._numpy)
        torch = sys.modules.get("torch")
        if torch is not None and self._torch is not None:
            torch.set_rng_state(self._torch)
            if self._cuda is not None:
                torch.cuda.set_rng_state_all(self._cuda)


@contextmanager
def global_rng_restored() -> Iterator[GlobalRNG]:
    """Capture the global generators on entry and restore them on exit, exception or not."""
    state = GlobalRNG()
    try:
        yield state
    finally:
        state.restore()
