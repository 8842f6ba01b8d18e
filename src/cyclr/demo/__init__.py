"""``cyclr demo``: cyclical learning rates and super-convergence end to end, on MNIST-1D."""

from __future__ import annotations

from cyclr.demo.experiment import *  # noqa: F403
from cyclr.demo.experiment import __all__  # noqa: F401
