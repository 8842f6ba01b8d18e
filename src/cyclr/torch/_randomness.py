"""What decides a test's random draws: the global RNGs and the data loaders' shuffling,
each captured and put back bitwise."""

from __future__ import annotations

import copy
import random
from collections.abc import Iterable
from typing import Any

import numpy as np
import torch

__all__ = ["LoaderState", "RngState"]


class LoaderState:
    """The shuffling state of data loaders, restorable: each loader draws the same batches again.

    Captures ``state_dict()`` of a loader that has ``state_dict``/``load_state_dict``, else the
    ``torch.Generator`` of a ``DataLoader``, of its sampler and of its batch sampler's sampler
    (each generator once, even when loaders share it).

    Example:
        >>> from cyclr.torch._randomness import LoaderState
        >>> g = torch.Generator().manual_seed(0)
        >>> data = torch.utils.data.TensorDataset(torch.arange(6.0))
        >>> loader = torch.utils.data.DataLoader(data, 3, shuffle=True, generator=g)
        >>> state = LoaderState([loader])
        >>> first = [b[0].tolist() for b in loader]
        >>> state.restore()
        >>> [b[0].tolist() for b in loader] == first
        True
    """

    def __init__(self, loaders: Iterable[Any]) -> None:
        self._stateful: list[tuple[Any, Any]] = []
        self._generators: list[tuple[torch.Generator, torch.Tensor]] = []
        for loader in loaders:
            if loader is None:
                continue
            if callable(getattr(loader, "state_dict", None)) and callable(
                getattr(loader, "load_state_dict", None)
            ):
                if all(loader is not known for known, _ in self._stateful):
                    self._stateful.append((loader, copy.deepcopy(loader.state_dict())))
                continue
            for obj in (
                loader,
                getattr(loader, "sampler", None),
                getattr(getattr(loader, "batch_sampler", None), "sampler", None),
            ):
                g = getattr(obj, "generator", None)
                if isinstance(g, torch.Generator) and all(g is not k for k, _ in self._generators):
                    self._generators.append((g, g.get_state()))

    def restore(self) -> None:
        """Put every captured loader state back."""
        for loader, state in self._stateful:
            loader.load_state_dict(copy.deepcopy(state))
        for g, state in self._generators:
            g.set_state(state)


class RngState:
    """The global RNG states: Python's, numpy's, torch's and (once initialized) CUDA's.

    Example:
        >>> from cyclr.torch import RngState
        >>> saved = RngState()
        >>> first = torch.rand(3)
        >>> saved.restore()
        >>> bool((torch.rand(3) == first).all())
        True
    """

    def __init__(self) -> None:
        self.python = random.getstate()
        self.numpy = np.random.get_state()
        self.torch = torch.get_rng_state()
        self.cuda: list[torch.Tensor] | None = None
        if torch.cuda.is_available() and torch.cuda.is_initialized():
            self.cuda = torch.cuda.get_rng_state_all()

    def restore(self) -> None:
        """Put every global RNG back to the state it had when this was taken."""
        random.setstate(self.python)
        np.random.set_state(self.numpy)
        torch.set_rng_state(self.torch)
        if self.cuda is not None:
            torch.cuda.set_rng_state_all(self.cuda)
