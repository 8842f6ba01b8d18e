"""Imports point one way: the core and the lazy adapter packages load no framework."""

from __future__ import annotations

import subprocess
import sys

HEAVY = {
    "torch",
    "matplotlib",
    "keras",
    "jax",
    "optax",
    "lightning",
    "pytorch_lightning",
    "mnist1d",
}


def test_core_and_lazy_packages_import_no_framework() -> None:
    modules = (
        "cyclr, cyclr.torch, cyclr.plot, cyclr.suggest, cyclr.sweep.result, cyclr.range_test.ramp"
    )
    code = f"import {modules}, sys; print(sorted({HEAVY!r} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
