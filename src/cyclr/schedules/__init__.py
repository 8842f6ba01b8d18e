"""Learning-rate and momentum schedules: frozen, picklable, JSON-serialisable functions of the step.

- :mod:`cyclr.schedules.base`: the :class:`Schedule` base class, whose formulas are written
  once against an array namespace (numpy, ``jax.numpy``, ``keras.ops``), and the JSON registry;
- :mod:`cyclr.schedules.cyclical`: CLR (Smith 2015, §3.1): triangular, triangular2, exp_range;
- :mod:`cyclr.schedules.one_cycle`: 1cycle (Smith 2018, §4.1) and its PyTorch/fastai presets;
- :mod:`cyclr.schedules.compose`: constants and chains;
- :mod:`cyclr.schedules.policies`: the policy names every caller builds schedules by.
"""

from __future__ import annotations

from cyclr.schedules.base import Schedule, schedule_from_dict
from cyclr.schedules.compose import Chain, Constant
from cyclr.schedules.cyclical import CyclicMomentum, ExpRange, Triangular, Triangular2
from cyclr.schedules.one_cycle import OneCycle, Piecewise

__all__ = [
    "Chain",
    "Constant",
    "CyclicMomentum",
    "ExpRange",
    "OneCycle",
    "Piecewise",
    "Schedule",
    "Triangular",
    "Triangular2",
    "schedule_from_dict",
]
