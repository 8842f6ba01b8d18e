"""A sample target for ``cyclr find``: a small MLP on scikit-learn's bundled digits (no download).

Run the LR range test on it and get CLR bounds plus ready-to-paste scheduler code::

    cyclr find examples/find_target.py:setup
    cyclr find examples/find_target.py:setup --mode linear --start-lr 0.001 --end-lr 1 \\
        --num-iter 300
    cyclr find examples/find_target.py:setup_with_dataclass --num-iter 100

A target is any function that takes no arguments and returns the model, the optimizer, the loss
function, the training loader and, optionally, a validation loader: as a dict with those keys
(``setup``), or as a ``cyclr.cli.FindTarget`` (``setup_with_dataclass``). ``cyclr find`` restores
the model and optimizer after the test, so the same function can feed your real training.
"""

from __future__ import annotations

import torch
from sklearn.datasets import load_digits
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from cyclr.cli import FindTarget


def _data(seed: int = 0) -> tuple[TensorDataset, TensorDataset]:
    """Digits 8x8 as 64 features in [0, 1]; 1500 training and 297 validation images."""
    x, y = load_digits(return_X_y=True)
    g = torch.Generator().manual_seed(seed)
    order = torch.randperm(len(x), generator=g)
    x = torch.as_tensor(x, dtype=torch.float32)[order] / 16.0
    y = torch.as_tensor(y, dtype=torch.int64)[order]
    return TensorDataset(x[:1500], y[:1500]), TensorDataset(x[1500:], y[1500:])


def _model(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10))


def setup() -> dict[str, object]:
    """The training setup as a dict: model, optimizer, loss_fn, train_loader, val_loader."""
    train, val = _data()
    model = _model()
    return {
        "model": model,
        "optimizer": torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9),
        "loss_fn": nn.CrossEntropyLoss(),
        "train_loader": DataLoader(
            train, batch_size=50, shuffle=True, generator=torch.Generator().manual_seed(0)
        ),
        "val_loader": DataLoader(val, batch_size=100),
    }


def setup_with_dataclass() -> FindTarget:
    """The same setup as a ``FindTarget`` (no validation loader)."""
    train, _ = _data()
    model = _model()
    return FindTarget(
        model=model,
        optimizer=torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9),
        loss_fn=nn.CrossEntropyLoss(),
        train_loader=DataLoader(
            train, batch_size=50, shuffle=True, generator=torch.Generator().manual_seed(0)
        ),
    )
