"""Reading learning rates off an LR range test: both CLR bounds, and the single-LR rules.

See ``docs/suggest.md`` for how the curves are read and why.
"""

from __future__ import annotations

from cyclr.suggest.bounds import Bounds, Point
from cyclr.suggest.rules import *  # noqa: F403
from cyclr.suggest.rules import __all__ as _rules_all

__all__ = ["Bounds", "Point", *_rules_all]
