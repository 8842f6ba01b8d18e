"""Small real data sets and small torch models, for the torch, Lightning and HF tests.

Data: scikit-learn's bundled digits and locally generated MNIST-1D.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
import torch
from torch import nn

TensorPair = tuple[torch.Tensor, torch.Tensor]


@functools.lru_cache(maxsize=1)
def digits() -> TensorPair:
    """sklearn digits: 1797 x 64 features in [0, 1], 10 classes."""
    from sklearn.datasets import load_digits  # type: ignore[import-untyped]

    d = load_digits()
    x = torch.tensor(d.data, dtype=torch.float32) / 16.0
    return x, torch.tensor(d.target, dtype=torch.int64)


@functools.lru_cache(maxsize=1)
def mnist1d(n: int = 2000) -> TensorPair:
    """A subset of MNIST-1D (generated locally), shaped (N, 1, 40) for 1-D convolutions."""
    from mnist1d.data import get_dataset_args, make_dataset

    state = np.random.get_state()
    try:
        d = make_dataset(get_dataset_args())
    finally:
        np.random.set_state(state)
    x = torch.tensor(d["x"][:n], dtype=torch.float32).unsqueeze(1)
    return x, torch.tensor(d["y"][:n], dtype=torch.int64)


def loader(
    data: TensorPair, batch_size: int = 64, shuffle: bool = True, n: int | None = None
) -> torch.utils.data.DataLoader[tuple[torch.Tensor, ...]]:
    """DataLoader over (a prefix of) ``data``; shuffling draws from torch's global RNG."""
    x, y = data
    if n is not None:
        x, y = x[:n], y[:n]
    ds = torch.utils.data.TensorDataset(x, y)
    return torch.utils.data.DataLoader(ds, batch_size=batch_size, shuffle=shuffle)


def mlp(
    seed: int = 0, n_in: int = 64, hidden: int = 32, n_out: int = 10, dropout: float = 0.1
) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Linear(n_in, hidden), nn.ReLU(), nn.Dropout(dropout), nn.Linear(hidden, n_out)
    )


def bn_cnn(seed: int = 0, channels: int = 8) -> nn.Module:
    """A small 1-D CNN with BatchNorm and dropout, for MNIST-1D (N, 1, 40)."""
    torch.manual_seed(seed)
    c = channels
    return nn.Sequential(
        nn.Conv1d(1, c, 5, padding=2),
        nn.BatchNorm1d(c),
        nn.ReLU(),
        nn.Conv1d(c, c, 3, padding=1, stride=2),
        nn.BatchNorm1d(c),
        nn.ReLU(),
        nn.AdaptiveAvgPool1d(5),
        nn.Flatten(),
        nn.Dropout(0.1),
        nn.Linear(5 * c, 10),
    )


def warm_up(
    model: nn.Module,
    opt: torch.optim.Optimizer,
    data: TensorPair,
    steps: int = 5,
    scaler: Any = None,
) -> None:
    """A few real training steps, so the optimizer (and scaler) hold state: 'mid-training'."""
    x, y = data
    model.train()
    for i in range(steps):
        xb, yb = x[i * 32 : (i + 1) * 32], y[i * 32 : (i + 1) * 32]
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(xb), yb)
        if scaler is None:
            loss.backward()
            opt.step()
        else:
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()
    # Leave some gradients behind, as a paused training loop would.
    nn.functional.cross_entropy(model(x[:16]), y[:16]).backward()
