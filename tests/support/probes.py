"""Wrappers that count what a run drew from its loader and which optimizer steps it took, and
the error a test raises on purpose."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import torch


class Counting:
    """A re-iterable loader wrapper that counts passes and batches drawn."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.passes = 0
        self.batches = 0
        self.seen: list[torch.Tensor] = []

    def __len__(self) -> int:
        return len(self.inner)

    def __iter__(self) -> Iterator[Any]:
        self.passes += 1
        for b in self.inner:
            self.batches += 1
            self.seen.append(b[0])
            yield b


class StepCounter:
    """Counts optimizer steps that really ran, and the LR of every group at each of them."""

    def __init__(self, opt: torch.optim.Optimizer) -> None:
        self.lrs: list[list[float]] = []
        self.handle = opt.register_step_pre_hook(self._pre)
        self.steps = 0
        self.post = opt.register_step_post_hook(self._post)
        self._pending: list[float] | None = None

    def _pre(self, opt: torch.optim.Optimizer, *_: Any) -> None:
        self._pending = [float(g["lr"]) for g in opt.param_groups]

    def _post(self, *_: Any) -> None:
        self.steps += 1
        assert self._pending is not None
        self.lrs.append(self._pending)

    def remove(self) -> None:
        self.handle.remove()
        self.post.remove()


class Boom(RuntimeError):
    """The error a test raises on purpose, in a loss, a loader or a training step."""
