"""Fixtures for the ``cyclr`` command-line tests: run it in-process or in a fresh interpreter,
and small targets for ``cyclr find`` / ``cyclr sweep`` written to a temporary folder; torch on
one thread."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
from tests.support import ROOT
from tests.support.cli import ENV, TINY_TARGET, Ran

from cyclr.cli import main


@pytest.fixture(autouse=True, scope="module")
def _one_thread(one_torch_thread: None) -> None:
    """Every test here runs torch on one thread."""


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


@pytest.fixture
def tiny_target(tmp_path: Path) -> Callable[..., str]:
    """``tiny_target(limit=None, extra="")``: the TARGET spec of ``TINY_TARGET`` (with
    ``extra`` source appended) in ``tmp_path``."""

    def write(limit: int | None = None, extra: str = "", name: str = "tiny.py") -> str:
        path = tmp_path / name
        path.write_text(TINY_TARGET.format(limit=limit) + textwrap.dedent(extra))
        return f"{path}:setup"

    return write
