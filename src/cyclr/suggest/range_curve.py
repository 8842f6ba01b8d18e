"""``RangeCurve``: what the rules read off a range test, whatever object holds it.

The rules need the curve's fields only, so they read any object that has them;
:class:`cyclr.RangeTestResult` is the one the loops return.

Example:
    >>> from cyclr.suggest import RangeCurve
    >>> r = cyclr.RangeTestResult(lr=[0.1, 0.2], loss=[2.0, 1.5], smoothed_loss=[2.0, 1.7])
    >>> isinstance(r, RangeCurve), isinstance("curve", RangeCurve)
    (True, False)
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from numpy.typing import NDArray

__all__ = ["RangeCurve"]


@runtime_checkable
class RangeCurve(Protocol):
    """The fields of a range test the rules read (those of :class:`cyclr.RangeTestResult`).

    ``lr`` rises over the ramp (``mode`` ``"exp"`` or ``"linear"``); ``loss`` and
    ``smoothed_loss`` are recorded at each LR; ``metric`` too when one was recorded; the
    validation curves at the updates ``val_step``; ``stop_reason`` and ``message`` say how the
    test ended, ``config`` how it ran.
    """

    @property
    def lr(self) -> NDArray[Any]: ...
    @property
    def loss(self) -> NDArray[Any]: ...
    @property
    def smoothed_loss(self) -> NDArray[Any]: ...
    @property
    def metric(self) -> NDArray[Any] | None: ...
    @property
    def metric_name(self) -> str | None: ...
    @property
    def val_step(self) -> NDArray[Any] | None: ...
    @property
    def val_loss(self) -> NDArray[Any] | None: ...
    @property
    def val_metric(self) -> NDArray[Any] | None: ...
    @property
    def mode(self) -> str: ...
    @property
    def stop_reason(self) -> str: ...
    @property
    def message(self) -> str: ...
    @property
    def config(self) -> dict[str, Any]: ...
