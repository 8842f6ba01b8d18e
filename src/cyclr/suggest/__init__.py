"""Reading learning rates off an LR range test: both CLR bounds, and the single-LR rules.

``suggest(result, method)`` reads :class:`Bounds` with a registered rule (``"auto"``,
``"accuracy"``, ``"loss"`` of Smith 2015, §3.3; ``"steepest"``, ``"minimum"``, ``"valley"``,
``"slide"`` of other LR finders) or with a function ``method(result, **options) -> Bounds``.
``result`` is a :class:`cyclr.RangeTestResult`, or any object with its curve's fields
(:class:`RangeCurve`).
A two-bound rule's :attr:`Bounds.reading` says how it read the curve (:class:`Reading`).
See ``docs/suggest.md`` for how the curves are read and why, and :func:`suggest` for an example.
"""

from __future__ import annotations

from cyclr.suggest import single_lr, two_bounds  # noqa: F401  (the rules register on import)
from cyclr.suggest._curve import smooth
from cyclr.suggest._usable import blow_up_lr
from cyclr.suggest.bounds import Bounds
from cyclr.suggest.errors import SuggestionError
from cyclr.suggest.range_curve import RangeCurve
from cyclr.suggest.reading import Point, Reading
from cyclr.suggest.registry import check_method, methods, register, suggest, unregister

__all__ = [
    "Bounds",
    "Point",
    "RangeCurve",
    "Reading",
    "SuggestionError",
    "blow_up_lr",
    "check_method",
    "methods",
    "register",
    "smooth",
    "suggest",
    "unregister",
]
