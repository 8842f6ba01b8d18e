"""Fixtures shared by the test modules."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture(scope="module")
def one_torch_thread() -> Iterator[None]:
    """Tiny models run fastest on one thread, and do not stall when the CPUs are shared.

    The folders whose tests run torch use it in every module (their conftest.py); the numpy-only
    tests never import torch."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def suggest_without_torch() -> Any:
    """Re-read a saved range test in a fresh interpreter and return ``{method: bounds dict}``;
    fails if reading it imported torch."""

    def run(path: Path, methods: list[str]) -> dict[str, Any]:
        code = textwrap.dedent(f"""
            import json, sys
            import cyclr
            r = cyclr.RangeTestResult.load({str(path)!r})
            out = {{m: r.suggest(m).to_dict() for m in {methods!r}}}
            assert "torch" not in sys.modules, "torch was imported"
            print(json.dumps(out))
        """)
        proc = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
        )
        assert proc.returncode == 0, proc.stderr
        return json.loads(proc.stdout)  # type: ignore[no-any-return]

    return run
