"""MNIST-1D (Greydanus 2020): a tiny, local, non-trivial classification task.

The data is generated on the fly by the ``mnist1d`` package (4000 train / 1000 test sequences of
length 40, 10 classes; about 2 s), so nothing is downloaded. A small 1D CNN trained with SGD and
momentum reaches about 94% test accuracy; the choice of learning rate decides almost everything,
which makes it an honest test bed for LR schedules.

Example:
    >>> from cyclr.demo import mnist1d
    >>> data = mnist1d.load(n_train=500)
    >>> tuple(data.x_train.shape), tuple(data.x_test.shape)
    ((500, 1, 40), (1000, 1, 40))
"""

from __future__ import annotations

import contextlib
import functools
import io
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

__all__ = ["Data", "TrainResult", "cnn", "evaluate", "load", "loader", "mlp", "train"]


@dataclass(frozen=True)
class Data:
    """MNIST-1D tensors: inputs ``(N, 1, 40)`` float32, labels ``(N,)`` int64."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor

    @property
    def iters_per_epoch(self) -> int:
        """Updates per epoch at the default batch size of 100."""
        return max(1, len(self.x_train) // 100)


@functools.lru_cache(maxsize=4)
def _generate(seed: int) -> tuple[np.ndarray, ...]:
    try:
        from mnist1d.data import get_dataset_args, make_dataset
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "the MNIST-1D task needs the 'mnist1d' package: pip install -e '.[demo]' (from a clone)"
        ) from exc
    args = get_dataset_args()
    args.seed = seed
    with contextlib.redirect_stdout(io.StringIO()):  # the generator may print progress
        d = make_dataset(args)
    return d["x"], d["y"], d["x_test"], d["y_test"]


def load(n_train: int | None = None, seed: int = 42) -> Data:
    """Generate MNIST-1D locally (``seed`` 42 is the published data set).

    ``n_train`` keeps only the first ``n_train`` training examples (for small-data studies and
    fast tests); the test set is always the full 1000 examples.
    """
    x, y, xt, yt = _generate(seed)
    if n_train is not None:
        if not 1 <= n_train <= len(x):
            raise ValueError(f"n_train must be in [1, {len(x)}], got {n_train!r}")
        x, y = x[:n_train], y[:n_train]

    def tensor(a: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(np.asarray(a, dtype=np.float32)).unsqueeze(1)

    return Data(
        tensor(x),
        torch.as_tensor(y, dtype=torch.int64),
        tensor(xt),
        torch.as_tensor(yt, dtype=torch.int64),
    )


def cnn(seed: int = 0, channels: int = 25) -> nn.Module:
    """The MNIST-1D paper's small 1D CNN: three strided convolutions and a linear read-out."""
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Conv1d(1, channels, 5, stride=2, padding=1),
        nn.ReLU(),
        nn.Conv1d(channels, channels, 3, stride=2, padding=1),
        nn.ReLU(),
        nn.Conv1d(channels, channels, 3, stride=2, padding=1),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(channels * 5, 10),
    )


def mlp(seed: int = 0, hidden: int = 100) -> nn.Module:
    """A two-hidden-layer MLP on the flattened sequence."""
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Flatten(),
        nn.Linear(40, hidden),
        nn.ReLU(),
        nn.Linear(hidden, hidden),
        nn.ReLU(),
        nn.Linear(hidden, 10),
    )


class _Batches:
    """Endless shuffled mini-batches (a fresh permutation every epoch), reproducible by seed."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor, batch_size: int, seed: int) -> None:
        self.x, self.y, self.batch_size = x, y, batch_size
        self.seed = seed

    def __len__(self) -> int:
        return max(1, len(self.x) // self.batch_size)

    def state_dict(self) -> dict[str, int]:
        """Where the shuffling stands: the seed of the next pass."""
        return {"seed": self.seed}

    def load_state_dict(self, state: dict[str, int]) -> None:
        """Rewind (or advance) to a state from :meth:`state_dict`."""
        self.seed = int(state["seed"])

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        g = torch.Generator().manual_seed(self.seed)
        self.seed += 1
        perm = torch.randperm(len(self.x), generator=g)
        for i in range(len(self)):
            idx = perm[i * self.batch_size : (i + 1) * self.batch_size]
            yield self.x[idx], self.y[idx]


def loader(data: Data, batch_size: int = 100, seed: int = 0) -> Any:
    """A re-iterable loader over the training set (each pass is one shuffled epoch)."""
    return _Batches(data.x_train, data.y_train, batch_size, seed)


@torch.no_grad()
def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """Classification accuracy of ``model`` on ``(x, y)``, in [0, 1]."""
    was_training = model.training
    model.eval()
    acc = (model(x).argmax(1) == y).float().mean().item()
    model.train(was_training)
    return float(acc)


@dataclass
class TrainResult:
    """Test accuracy along training."""

    iters: list[int] = field(default_factory=list)
    test_acc: list[float] = field(default_factory=list)
    final_acc: float = float("nan")
    seconds: float = 0.0
    diverged: bool = False

    def iters_to_reach(self, target: float) -> int | None:
        """First evaluated iteration whose test accuracy is >= ``target`` (None if never)."""
        for it, acc in zip(self.iters, self.test_acc):
            if acc >= target:
                return it
        return None


def train(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    data: Data,
    iters: int,
    scheduler: Any = None,
    batch_size: int = 100,
    eval_every: int = 100,
    seed: int = 0,
    on_step: Callable[[int], None] | None = None,
) -> TrainResult:
    """Train for ``iters`` updates (cross-entropy), stepping ``scheduler`` after each update, and
    record test accuracy every ``eval_every`` updates and at the end."""
    from cyclr.torch import OnlineScheduler

    online = isinstance(scheduler, OnlineScheduler)  # reads the batch loss: step(loss)
    loss_fn = nn.CrossEntropyLoss()
    batches = loader(data, batch_size, seed)
    out = TrainResult()
    start = time.perf_counter()
    it = 0
    model.train()
    while it < iters:
        for xb, yb in batches:
            optimizer.zero_grad(set_to_none=True)
            loss = loss_fn(model(xb), yb)
            if not torch.isfinite(loss):
                out.diverged = True
                break
            loss.backward()
            optimizer.step()
            if scheduler is not None:
                if online:
                    scheduler.step(loss.detach())
                else:
                    scheduler.step()
            it += 1
            if on_step is not None:
                on_step(it)
            if it % eval_every == 0 or it == iters:
                out.iters.append(it)
                out.test_acc.append(evaluate(model, data.x_test, data.y_test))
            if it >= iters:
                break
        if out.diverged:
            out.iters.append(it)
            out.test_acc.append(evaluate(model, data.x_test, data.y_test))
            break
    out.final_acc = out.test_acc[-1] if out.test_acc else float("nan")
    out.seconds = time.perf_counter() - start
    return out
