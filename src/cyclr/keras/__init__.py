"""Keras 3 adapter: cyclr schedules as Keras LR schedules, momentum cycling and the LR range test.

Requires the ``keras`` extra (from a clone: ``pip install -e '.[keras]'``) and one Keras backend
(PyTorch, JAX or TensorFlow, installed separately), chosen with ``KERAS_BACKEND`` before Keras is
first imported: ``os.environ.setdefault("KERAS_BACKEND", "torch")``.

- :class:`Schedule` wraps any :class:`cyclr.Schedule` as a
  ``keras.optimizers.schedules.LearningRateSchedule``. It evaluates the schedule's formula with
  ``keras.ops`` (no Python branching on the step, so it traces and compiles), and saves and loads
  with the model: import ``cyclr.keras`` before ``keras.saving.load_model``.
- :class:`MomentumCallback` cycles SGD's ``momentum`` or the Adam family's ``beta_1`` once per
  batch (Smith 2018, §4.3).
- :func:`range_test` runs the LR range test (Smith 2015, §3.3) on a compiled model and restores
  it bitwise (docs/range_test.md); :func:`find_bounds` runs the two-stage test and reads both
  bounds.

Example::

    import keras, cyclr
    from cyclr.keras import MomentumCallback, Schedule

    s = cyclr.OneCycle(max_lr=0.1, total_steps=epochs * steps_per_epoch)
    model.compile(optimizer=keras.optimizers.SGD(Schedule(s), momentum=0.9), loss=...)
    model.fit(x, y, epochs=epochs, callbacks=[MomentumCallback(s.momentum())])
"""

from __future__ import annotations

import importlib.util
import os

try:
    import keras
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    if importlib.util.find_spec("keras") is None:
        raise ImportError(
            "cyclr.keras needs Keras 3; install it from a clone with: pip install -e '.[keras]'"
        ) from exc
    backend = os.environ.get("KERAS_BACKEND", "the one in ~/.keras/keras.json")
    raise ImportError(
        f"Keras is installed but failed to import with backend {backend!r} ({exc}). cyclr.keras "
        "works with the torch, jax and tensorflow backends: install one and select it before "
        "Keras is imported, e.g. KERAS_BACKEND=torch (os.environ.setdefault('KERAS_BACKEND', "
        "'torch') at the top of your script)."
    ) from exc

if int(keras.__version__.split(".")[0]) < 3:  # pragma: no cover - Keras 2 installs only
    raise ImportError(
        f"cyclr.keras needs Keras 3, found keras {keras.__version__}; "
        "install it from a clone with: pip install -e '.[keras]'"
    )

from cyclr.keras._momentum import MomentumCallback
from cyclr.keras._range_test import find_bounds, range_test
from cyclr.keras._schedule import Schedule

__all__ = ["MomentumCallback", "Schedule", "find_bounds", "range_test"]
