"""Former home of the suggestion engine, kept for old imports: use :mod:`cyclr.suggest`.

Example:
    >>> from cyclr.suggest.rules import blow_up_lr
    >>> import cyclr.suggest
    >>> blow_up_lr is cyclr.suggest.blow_up_lr
    True
"""

from __future__ import annotations

from cyclr.suggest.errors import SuggestionError
from cyclr.suggest.ramp import blow_up_lr

__all__ = ["SuggestionError", "blow_up_lr"]
