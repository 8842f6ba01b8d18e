"""Imports point one way: the import contracts hold, and the core loads no framework.

The contracts live in pyproject.toml (``[tool.importlinter]``): the layers (app over adapters
over the numpy-only core) and the core's ban on frameworks. import-linter reads the import
statements, including those inside functions, so it cannot tell a lazy import from an eager one;
the second test imports the packages in a fresh interpreter and looks at what got loaded.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"

HEAVY = {
    "torch",
    "matplotlib",
    "keras",
    "jax",
    "optax",
    "lightning",
    "pytorch_lightning",
    "mnist1d",
    "tqdm",
    "sklearn",
}
CORE = ("cyclr.schedules", "cyclr.range_test", "cyclr.suggest", "cyclr.sweep")


def _env() -> dict[str, str]:
    """This checkout's src/ first on the path, whatever cyclr is installed."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SRC), env.get("PYTHONPATH")]))
    return env


def test_import_contracts_hold() -> None:
    from importlinter.api import read_configuration

    contracts = [
        c["name"] for c in read_configuration(str(ROOT / "pyproject.toml"))["contracts_options"]
    ]
    assert len(contracts) >= 2, contracts
    code = "from importlinter.cli import lint_imports_command; lint_imports_command()"
    out = subprocess.run(
        [sys.executable, "-c", code, "--no-cache"],
        cwd=ROOT,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    report = out.stdout + out.stderr
    assert out.returncode == 0, f"lint-imports failed:\n{report}"
    for name in contracts:
        assert f"{name} KEPT" in report, f"contract {name!r} not reported as kept:\n{report}"


def test_core_and_lazy_packages_import_no_framework() -> None:
    # Every module of the core, and the packages that import their framework lazily.
    code = f"""
import importlib, pkgutil, sys
import cyclr, cyclr.torch, cyclr.plot
for pkg in {CORE!r}:
    mod = importlib.import_module(pkg)
    for info in pkgutil.walk_packages(mod.__path__, pkg + "."):
        importlib.import_module(info.name)
print(sorted({HEAVY!r} & {{m.split(".")[0] for m in sys.modules}}))
"""
    out = subprocess.run(
        [sys.executable, "-c", code], env=_env(), capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]", f"frameworks loaded: {out.stdout.strip()}"
