"""Running the ``cyclr`` command: the environment of a fresh interpreter, what a run gave, and a
tiny target for ``cyclr find`` / ``cyclr sweep``."""

from __future__ import annotations

import os
from dataclasses import dataclass

from tests.support import ROOT

#: The environment of a fresh interpreter that imports cyclr from ``src/``.
ENV = {**os.environ, "MPLBACKEND": "Agg", "PYTHONPATH": str(ROOT / "src"), "OMP_NUM_THREADS": "1"}


def error_line(err: str) -> str:
    """The one ``cyclr: error: ...`` line of ``err`` (fails if there is anything else)."""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("cyclr: error: "), err
    assert "Traceback" not in err
    return lines[0]


@dataclass
class Ran:
    """What one ``cyclr`` run gave: the exit status, stdout and stderr."""

    rc: int
    out: str
    err: str

    @property
    def error_line(self) -> str:
        """The one ``cyclr: error: ...`` line on stderr (fails if there is anything else)."""
        return error_line(self.err)


#: A linear classifier on 64 points, 4 batches; ``LIMIT`` (``None``: no limit) loss calls after
#: which the loss raises ``KeyboardInterrupt``, as Ctrl-C would.
TINY_TARGET = """
import torch
LIMIT = {limit}
calls = [0]

def loss(out, y):
    calls[0] += 1
    if LIMIT is not None and calls[0] > LIMIT:
        raise KeyboardInterrupt
    return torch.nn.functional.cross_entropy(out, y)

def data():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(64, 4, generator=g)
    y = (x[:, 0] > 0).long()
    return x, y

def setup():
    x, y = data()
    torch.manual_seed(0)
    m = torch.nn.Linear(4, 2)
    batches = [(x[i:i + 16], y[i:i + 16]) for i in range(0, 64, 16)]
    return {{"model": m, "optimizer": torch.optim.SGD(m.parameters(), lr=0.1, momentum=0.9),
             "loss_fn": loss, "train_loader": batches}}
"""
