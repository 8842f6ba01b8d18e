"""Fixtures for the ``cyclr`` command-line tests: run it in-process or in a fresh interpreter,
and small targets for ``cyclr find`` / ``cyclr sweep`` written to a temporary folder."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from cyclr.cli import main

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "MPLBACKEND": "Agg", "PYTHONPATH": str(ROOT / "src"), "OMP_NUM_THREADS": "1"}


@dataclass
class Ran:
    """What one ``cyclr`` run gave: the exit status, stdout and stderr."""

    rc: int
    out: str
    err: str

    @property
    def error_line(self) -> str:
        """The one ``cyclr: error: ...`` line on stderr (fails if there is anything else)."""
        lines = self.err.strip().splitlines()
        assert len(lines) == 1, self.err
        assert lines[0].startswith("cyclr: error: "), self.err
        assert "Traceback" not in self.err
        return lines[0]


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., Ran]:
    """``cli(*args)``: ``cyclr.cli.main(args)`` with its output captured."""

    def run(*args: object) -> Ran:
        capsys.readouterr()
        rc = main([str(a) for a in args])
        captured = capsys.readouterr()
        return Ran(rc, captured.out, captured.err)

    return run


@pytest.fixture
def cli_process() -> Callable[..., Ran]:
    """``cli_process(*args, stdout=..., module=..., **env)``: ``python -m cyclr.cli ARGS`` in a
    fresh interpreter."""

    def run(
        *args: object,
        stdout: int | None = None,
        timeout: float = 120,
        module: str = "cyclr.cli",
        **env: str | None,
    ) -> Ran:
        """``env``: variables to set (a string) or unset (``None``); ``module``: what
        ``python -m`` runs."""
        environ = {k: v for k, v in {**ENV, **env}.items() if v is not None}
        proc = subprocess.run(
            [sys.executable, "-m", module, *map(str, args)],
            stdout=subprocess.PIPE if stdout is None else stdout,
            stderr=subprocess.PIPE,
            text=True,
            env=environ,
            timeout=timeout,
            cwd=ROOT,
        )
        return Ran(proc.returncode, proc.stdout or "", proc.stderr)

    return run


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


@pytest.fixture
def tiny_target(tmp_path: Path) -> Callable[..., str]:
    """``tiny_target(limit=None, extra="")``: the TARGET spec of :data:`TINY_TARGET` (with
    ``extra`` source appended) in ``tmp_path``."""

    def write(limit: int | None = None, extra: str = "", name: str = "tiny.py") -> str:
        path = tmp_path / name
        path.write_text(TINY_TARGET.format(limit=limit) + textwrap.dedent(extra))
        return f"{path}:setup"

    return write
