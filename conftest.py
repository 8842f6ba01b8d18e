"""Test-session setup shared by the doctests in src/ and the tests in tests/."""

from __future__ import annotations

import importlib.util
import os

# Keras 3 runs on the PyTorch backend here, so TensorFlow is never needed.
os.environ.setdefault("KERAS_BACKEND", "torch")
os.environ.setdefault("MPLBACKEND", "Agg")
# Small models on 2 cores: one intra-op thread per process avoids oversubscription.
os.environ.setdefault("OMP_NUM_THREADS", "1")

# Adapter modules whose framework is an optional extra: skip their doctests when it is missing
# (their tests in tests/ skip themselves with a visible reason).
_OPTIONAL = {"src/cyclr/keras.py": "keras", "src/cyclr/optax.py": "optax"}
collect_ignore = [path for path, mod in _OPTIONAL.items() if importlib.util.find_spec(mod) is None]
