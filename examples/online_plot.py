"""An online 1cycle on a small MLP, and the plot of what it read (docs/images/online.png).

Trains a 64-64-10 MLP on scikit-learn's bundled digits (no download) for 600 updates with
``cyclr.torch.online_schedule``: no range test, the bounds are read from the
run's own warm-up. Then draws ``cyclr.plot.online`` (a few seconds on a CPU)::

    python examples/online_plot.py docs/images/online.png
"""

from __future__ import annotations

import sys

import torch
from sklearn.datasets import load_digits
from torch import nn

import cyclr.plot
from cyclr.torch import online_schedule

STEPS = 600
BATCH = 32


def main(path: str = "online.png") -> None:
    x, y = load_digits(return_X_y=True)
    x = torch.tensor(x, dtype=torch.float32) / 16.0
    y = torch.tensor(y, dtype=torch.int64)
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
    sched = online_schedule(model, opt, total_steps=STEPS)
    g = torch.Generator().manual_seed(0)
    for _ in range(STEPS):
        idx = torch.randint(0, len(x), (BATCH,), generator=g)
        loss = nn.functional.cross_entropy(model(x[idx]), y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step(loss)
    with torch.no_grad():
        acc = (model(x).argmax(1) == y).float().mean().item()
    print(f"bounds read at update {sched.decided_at}: {sched.bounds}")
    print(f"training accuracy after {STEPS} updates: {acc:.3f}")
    for line in sched.log:
        print(" ", line)
    drawn = cyclr.plot.online(sched)
    drawn.figure.savefig(path, dpi=110)
    print(f"saved {path}")


if __name__ == "__main__":
    main(*sys.argv[1:])
