"""``SuggestionError``: a range-test curve that cannot support a reading, and why.

Example:
    >>> from cyclr.suggest import SuggestionError
    >>> e = SuggestionError("the loss is flat", "flat")
    >>> e.kind, isinstance(e, ValueError)
    ('flat', True)
"""

from __future__ import annotations

__all__ = ["SuggestionError"]


class SuggestionError(ValueError):
    """The range-test curve cannot support a suggestion; the message says why.

    ``kind`` is one of ``"all_nan"``, ``"too_short"``, ``"diverged_at_once"``, ``"flat"``,
    ``"no_metric"`` or ``"unknown_method"`` (``docs/suggest.md`` says what each means).
    """

    KINDS = ("all_nan", "too_short", "diverged_at_once", "flat", "no_metric", "unknown_method")

    def __init__(self, message: str, kind: str) -> None:
        if kind not in self.KINDS:
            raise ValueError(f"kind must be one of {self.KINDS}, got {kind!r}")
        super().__init__(message)
        self.kind = kind

    def __reduce__(self) -> tuple[type[SuggestionError], tuple[str, str]]:
        """Pickle with its kind, so it crosses process boundaries (multiprocessing pools)."""
        return type(self), (str(self), self.kind)
