"""Lightning adapter: cyclr's LR range test, bounds and schedules for a LightningModule.

Requires the ``lightning`` extra (from a clone: ``pip install -e '.[lightning]'``).

- :func:`range_test` and :func:`find_bounds`: the LR range test (Smith 2015, §3.3) and the
  two-stage bounds, with the module's ``training_step`` as the loss, its
  ``configure_optimizers()`` as the optimizer, and the Trainer's device, precision and
  ``accumulate_grad_batches``; the module, optimizer and RNGs are restored bitwise.
- :class:`AutoScheduleCallback`: finds the bounds at fit start and trains on a 1cycle
  (Smith 2018) or CLR schedule between them, stepped after every update.
- :class:`OnlineScheduleCallback`: runs no range test and reads the bounds from the fit's own
  warm-up (:class:`cyclr.torch.OnlineScheduler`, fed the training loss of every update).

Example:
    >>> import cyclr.lightning
    >>> sorted(cyclr.lightning.__all__)
    ['AutoScheduleCallback', 'OnlineScheduleCallback', 'find_bounds', 'range_test']
"""

from __future__ import annotations

from cyclr.lightning._auto import AutoScheduleCallback
from cyclr.lightning._online import OnlineScheduleCallback
from cyclr.lightning._range_test import find_bounds, range_test

__all__ = ["AutoScheduleCallback", "OnlineScheduleCallback", "find_bounds", "range_test"]
