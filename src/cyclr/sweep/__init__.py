"""Hyper-parameter sweeps (Smith 2018): one LR range test per value, and which value to pick."""

from __future__ import annotations

from cyclr.sweep.result import *  # noqa: F403
from cyclr.sweep.result import __all__  # noqa: F401
