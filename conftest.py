"""Test-session setup shared by the doctests in src/ and the tests in tests/."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import numpy as np
import pytest

# Keras 3 runs on the PyTorch backend here, so TensorFlow is never needed.
os.environ.setdefault("KERAS_BACKEND", "torch")
os.environ.setdefault("MPLBACKEND", "Agg")
# Small models on 2 cores: one intra-op thread per process avoids oversubscription.
os.environ.setdefault("OMP_NUM_THREADS", "1")

# Adapter modules whose framework is an optional extra: skip their doctests when it is missing
# (their tests in tests/ skip themselves with a visible reason).
_OPTIONAL = {"src/cyclr/keras": "keras", "src/cyclr/optax.py": "optax"}
collect_ignore = [path for path, mod in _OPTIONAL.items() if importlib.util.find_spec(mod) is None]


def _import_package() -> None:
    """Import every module of cyclr once, by its real name, before pytest collects doctests.

    pytest's importlib mode reuses a module already in ``sys.modules``; a module it had to
    import from its file path would otherwise be a second copy, whose classes differ from the
    package's own (``isinstance`` fails, registries see each class twice).
    """
    import pkgutil

    import cyclr

    skip = {f"cyclr.{Path(p).stem}" for p in collect_ignore}
    for info in pkgutil.walk_packages(cyclr.__path__, "cyclr."):
        if info.name in skip or any(info.name.startswith(s + ".") for s in skip):
            continue
        if info.name == "cyclr.cli.__main__":
            continue
        importlib.import_module(info.name)


_import_package()


SRC = Path(__file__).resolve().parent / "src" / "cyclr"
#: The folders of src/cyclr whose examples use torch.
TORCH_EXAMPLES = {"torch", "lightning", "cli"}


@pytest.fixture(autouse=True)
def _doctest_names(request: pytest.FixtureRequest) -> None:
    """The names a docstring example uses without importing them: ``np`` and ``cyclr``, and
    ``torch`` in the examples of :data:`TORCH_EXAMPLES`."""
    if not request.path.is_relative_to(SRC):
        return
    import cyclr

    names = request.getfixturevalue("doctest_namespace")
    names.update(np=np, cyclr=cyclr)
    if request.path.relative_to(SRC).parts[0] in TORCH_EXAMPLES:
        import torch

        names["torch"] = torch
    else:
        names.pop("torch", None)
