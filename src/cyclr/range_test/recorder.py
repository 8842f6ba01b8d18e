"""The per-update recorder of a range test: what each loop records and the result it builds.

At every optimizer update ``i`` the loop hands over the LR it trained with (and the LR of every
param group), the raw loss and the training metric; the recorder keeps the bias-corrected EMA
of the loss (:class:`~cyclr.range_test.smoothing.SmoothedLoss`), the validation points, and why
and how the test ended, in the same words for every framework (Smith 2015, §3.3). A non-finite
loss is never recorded.

Example:
    >>> from cyclr.range_test.checks import check_options
    >>> from cyclr.range_test.recorder import Recorder
    >>> o = check_options(start_lr=1e-3, end_lr=1.0, num_iter=10, mode="linear", smooth=0.0,
    ...                   diverge=4.0, val_every=5, seed=None, metric=None)
    >>> rec = Recorder(o)
    >>> for i in range(10):
    ...     _ = rec.record(o.lr(i), 2.0 - 0.1 * i)
    ...     if rec.check_diverged() or rec.check_end():
    ...         break
    >>> r = rec.result(config={}, versions={})
    >>> len(r), r.stop_reason, r.message
    (10, 'end', 'linear ramp 0.001 -> 1 over 10 updates')
"""

from __future__ import annotations

import math
import platform
from typing import Any

import numpy as np
from numpy.typing import NDArray

from cyclr._version import __version__
from cyclr.range_test.checks import RangeTestOptions
from cyclr.range_test.result import RangeTestResult
from cyclr.range_test.smoothing import SmoothedLoss

__all__ = ["Recorder", "library_versions"]


class Recorder:
    """Records one range test update by update and builds its :class:`RangeTestResult`.

    Args:
        options: the checked options (ramp, ``smooth``, ``diverge``).
        has_val: whether validation points are recorded (settable until the result is built).
        groups: number of param groups whose LRs are recorded, or ``None`` for none.
        source: the argument that holds the training batches, for the messages.
        loss_name: what computes the loss, for the message on a non-finite first loss.

    Set :attr:`metric_name` before the first :meth:`record` when a training metric is kept.
    """

    def __init__(
        self,
        options: RangeTestOptions,
        *,
        has_val: bool = False,
        groups: int | None = None,
        source: str = "train_loader",
        loss_name: str = "loss_fn",
    ) -> None:
        self.options = options
        self.has_val = has_val
        self.groups = groups
        self.source = source
        self.loss_name = loss_name
        self.metric_name: str | None = None
        self.lrs: list[float] = []
        self.group_lrs: list[list[float]] = []
        self.losses: list[float] = []
        self.smoothed: list[float] = []
        self.metrics: list[float] = []
        self.val_step: list[int] = []
        self.val_loss: list[float] = []
        self.val_metric: list[float] = []
        self.stop_reason = "end"
        self.message = ""
        self.smoother = SmoothedLoss(options.smooth, options.diverge)

    @property
    def n(self) -> int:
        """Updates recorded so far (the index of the next one)."""
        return len(self.lrs)

    # -- recording ---------------------------------------------------------------------------
    def record(
        self,
        lr: float,
        loss: float,
        *,
        metric: float | None = None,
        group_lrs: list[float] | None = None,
    ) -> float:
        """Record one update and return the smoothed loss."""
        self.lrs.append(lr)
        if self.groups is not None:
            self.group_lrs.append(list(group_lrs) if group_lrs is not None else [lr] * self.groups)
        self.losses.append(loss)
        smoothed = self.smoother.add(loss)
        self.smoothed.append(smoothed)
        if self.metric_name is not None:
            self.metrics.append(math.nan if metric is None else metric)
        return smoothed

    def record_validation(self, step: int, loss: float, metric: float = math.nan) -> None:
        """Record the held-out loss and metric scored after update ``step``."""
        self.val_step.append(step)
        self.val_loss.append(loss)
        self.val_metric.append(metric)

    # -- stopping ----------------------------------------------------------------------------
    def stop(self, reason: str, message: str) -> None:
        """End the test with ``reason`` (one of :data:`cyclr.STOP_REASONS`) and ``message``."""
        self.stop_reason, self.message = reason, message

    def check_diverged(self) -> bool:
        """Stop with ``"diverged"`` if the last recorded smoothed loss blew up."""
        i = self.n - 1
        if not self.smoother.diverged(i):
            return False
        s = self.smoother
        self.stop(
            "diverged",
            f"smoothed loss {s.last:.4g} > {s.diverge:g} x best {s.best:.4g} at update {i} "
            f"(lr={self.lrs[-1]:.3g})",
        )
        return True

    def check_end(self) -> bool:
        """Stop with ``"end"`` once ``num_iter`` updates are recorded."""
        o = self.options
        if self.n < o.num_iter:
            return False
        self.stop(
            "end",
            f"{o.mode} ramp {o.start_lr:.3g} -> {o.end_lr:.3g} over {o.num_iter} updates",
        )
        return True

    def stop_non_finite(self, loss: float, lr: float) -> None:
        """Stop with ``"non_finite_loss"``: the update that gave ``loss`` is not recorded."""
        i = self.n
        if i == 0:
            message = (
                f"the loss was {loss} at the first update (lr={lr:.3g}), before the LR could "
                f"matter: check the model, the data and {self.loss_name}"
            )
        else:
            message = f"the loss became {loss} at update {i} (lr={lr:.3g})"
        self.stop("non_finite_loss", message)

    def stop_skipped(self, count: int, lr: float) -> None:
        """Stop with ``"non_finite_loss"`` after a gradient scaler skipped ``count`` steps in a
        row at ``lr`` (inf/NaN gradients while the losses were finite); the message blames the
        gradients, and when nothing was recorded says what to try."""
        i = self.n
        if i == 0:
            message = (
                f"the GradScaler skipped every step ({count} in a row from the first update, "
                f"lr={lr:.3g}) because of inf/NaN gradients; the losses were finite. Nothing was "
                "recorded: start at a smaller start_lr, or give the GradScaler a smaller "
                "init_scale"
            )
        else:
            message = (
                f"the GradScaler skipped {count} steps in a row at update {i} (lr={lr:.3g}) "
                "because of inf/NaN gradients; the losses were finite"
            )
        self.stop("non_finite_loss", message)

    def stop_exhausted(self) -> None:
        """Stop with ``"data_exhausted"``: the batch source cannot yield another update."""
        self.stop(
            "data_exhausted",
            f"{self.source} ran out of batches after {self.n} of {self.options.num_iter} updates",
        )

    def error_message(self, exc: BaseException) -> str:
        """How an exception (or Ctrl-C) ended the test."""
        return f"{type(exc).__name__} at update {self.n}: {exc}"

    # -- result ------------------------------------------------------------------------------
    def result(
        self,
        config: dict[str, Any],
        versions: dict[str, str],
        stop_reason: str | None = None,
        message: str | None = None,
    ) -> RangeTestResult:
        """The recorded curves as a :class:`RangeTestResult` (stop reason and message: the
        recorder's own unless given)."""
        has_metric = self.metric_name is not None
        has_val = self.has_val

        def floats(values: Any) -> NDArray[np.float64]:
            return np.asarray(values, dtype=np.float64)

        return RangeTestResult(
            lr=floats(self.lrs),
            loss=floats(self.losses),
            smoothed_loss=floats(self.smoothed),
            metric=floats(self.metrics) if has_metric else None,
            group_lrs=(
                None if self.groups is None else floats(self.group_lrs).reshape(-1, self.groups)
            ),
            val_step=np.asarray(self.val_step, dtype=np.int64) if has_val else None,
            val_loss=floats(self.val_loss) if has_val else None,
            val_metric=floats(self.val_metric) if has_val and has_metric else None,
            mode=self.options.mode,
            metric_name=self.metric_name,
            stop_reason=self.stop_reason if stop_reason is None else stop_reason,
            message=self.message if message is None else message,
            config=dict(config),
            versions=versions,
        )


def library_versions(**frameworks: str) -> dict[str, str]:
    """``{"cyclr": …, **frameworks, "python": …, "numpy": …}`` for a result's ``versions``."""
    return {
        "cyclr": __version__,
        **frameworks,
        "python": platform.python_version(),
        "numpy": np.__version__,
    }
