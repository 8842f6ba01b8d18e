"""The LR range test for PyTorch (Smith 2015, "Cyclical Learning Rates", §3.3).

Train for a while as the LR rises from ``start_lr`` to ``end_lr``, once per optimizer update
``i = 0 … num_iter - 1``::

    linear (the paper):  lr_i = start_lr + (end_lr - start_lr) * i / (num_iter - 1)
    exp (modern tools):  lr_i = start_lr * (end_lr / start_lr) ** (i / (num_iter - 1))

record the loss and metric at every update, then put everything back exactly as it was. One
call runs one ramp; :func:`cyclr.torch.find_bounds` runs the two-stage recipe
(:mod:`cyclr.range_test.recipe`): two such tests, and the bounds read off them.

Only the update itself is PyTorch's here; the ramp, the argument checks shared with
:func:`cyclr.keras.range_test`, the batch stream, the smoothed loss and the recording are the
framework-free parts in :mod:`cyclr.range_test`.
"""

from __future__ import annotations

import contextlib
import inspect
import math
import os
import random
import sys
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np
import torch
from torch import nn

from cyclr.range_test.batch_stream import BatchStream
from cyclr.range_test.ramp import NUM_ITER
from cyclr.range_test.recorder import Recorder, library_versions
from cyclr.range_test.result import RangeTestResult
from cyclr.torch._args import MAX_SKIPPED, Config, check_args, training_state
from cyclr.torch._batches import batch_loss, host_floats, resolve_metric
from cyclr.torch._param_groups import write
from cyclr.torch._scheduler import CyclicScheduler

__all__ = ["checked_arguments", "range_test"]


def range_test(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    loss_fn: Callable[[Any, Any], torch.Tensor] | None,
    train_loader: Iterable[Any],
    *,
    loss_of_batch: Callable[[Any, Any], Any] | None = None,
    start_lr: float | None = None,
    end_lr: float | None = None,
    num_iter: int = NUM_ITER,
    mode: str = "exp",
    metric: str | Callable[[Any, Any], Any] | None = "auto",
    val_loader: Iterable[Any] | None = None,
    val_every: int = 10,
    val_batches: int = 4,
    smooth: float = 0.98,
    diverge: float | None = 4.0,
    accumulation_steps: int = 1,
    scaler: Any = None,
    autocast_dtype: torch.dtype | bool | None = None,
    device: str | torch.device | None = None,
    progress: bool | None = None,
    seed: int | None = None,
    scheduler: Any = None,
    snapshot: str = "cpu",
    snapshot_dir: str | os.PathLike[str] | None = None,
    batch_fn: Callable[[Any], tuple[Any, Any]] | None = None,
    process_group: Any = None,
) -> RangeTestResult:
    """Run an LR range test (Smith 2015, §3.3) and restore the model, optimizer and RNGs after.

    At update ``i`` the first param group with a positive LR gets the ramp's LR (the module
    docstring); the others keep their LR ratio to it. Afterwards the model, optimizer,
    ``scheduler``, ``scaler``, modes, RNGs and loaders' shuffling are bitwise as they were.
    docs/range_test.md has the details of each option.

    Args:
        model, optimizer: the training setup; ``model`` is put in ``train()`` mode for the test.
        loss_fn: ``loss_fn(model(inputs), targets)`` -> a scalar tensor; ``None`` with
            ``loss_of_batch``.
        train_loader: yields ``(inputs, targets)``; restarted when a pass ends.
        loss_of_batch: ``loss_of_batch(model, batch)`` -> the loss, or ``(loss, output,
            target)``, for a model that computes its own loss (instead of ``loss_fn``).
        start_lr, end_lr: the ramp's ends; default exp ``1e-7 → 10``, linear ``1e-3 → 1``.
        num_iter: optimizer updates in the ramp (>= :data:`cyclr.range_test.ramp.MIN_ITER`).
        mode: ``"exp"`` or ``"linear"`` (the paper); the two-stage test is
            :func:`cyclr.torch.find_bounds`.
        metric: ``"auto"`` (accuracy for logits and class targets), ``"accuracy"``, ``None``,
            or ``metric(output, target)`` -> a number (``None``: NaN for that update).
        val_loader: its first ``val_batches`` batches are scored (eval mode, no gradients)
            every ``val_every`` updates.
        smooth: the bias-corrected EMA factor of the smoothed loss; 0 records the raw loss.
        diverge: stop once ``smoothed > diverge * min(smoothed so far)``; ``None`` disables.
        accumulation_steps: micro-batches per optimizer update.
        scaler: a ``torch.amp.GradScaler``; skipped steps do not advance the ramp.
        autocast_dtype: ``torch.autocast`` dtype; ``None``: float16 under an enabled
            ``scaler``, else none; ``False``: none.
        device: where batches go (default: the device of the model's first parameter).
        progress: a tqdm bar on stderr; default on when stderr is a terminal.
        seed: seeds Python, numpy and torch for the test (restored after); in ``[0, 2**32)``.
        scheduler: an LR scheduler attached to ``optimizer``; not stepped, but restored.
        snapshot: ``"cpu"`` (host memory) or ``"disk"`` (a temporary file in ``snapshot_dir``).
        batch_fn: ``batch -> (inputs, targets)`` for loaders yielding something else.
        process_group: the ``torch.distributed`` group whose ranks average the loss.

    Returns:
        A :class:`cyclr.RangeTestResult`; ``stop_reason`` is ``"end"``, ``"diverged"``,
        ``"non_finite_loss"`` or ``"data_exhausted"``.

    Raises:
        TypeError, ValueError: bad arguments, before anything changes. An exception from the
            model, loss or loader propagates after the restore, with the curve so far as
            ``exc.range_test_result``.

    Example:
        >>> from cyclr.torch import range_test
        >>> g = torch.Generator().manual_seed(0)
        >>> x, y = torch.randn(256, 20, generator=g), torch.randint(0, 3, (256,), generator=g)
        >>> loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), 32)
        >>> model = torch.nn.Sequential(torch.nn.Linear(20, 32), torch.nn.ReLU(),
        ...                             torch.nn.Linear(32, 3))
        >>> opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        >>> result = range_test(model, opt, torch.nn.functional.cross_entropy, loader,
        ...                     num_iter=30, progress=False, seed=0)
        >>> result.mode, result.metric_name, result.stop_reason in ("end", "diverged")
        ('exp', 'accuracy', True)
        >>> float(result.lr[0]), opt.param_groups[0]["lr"]  # the optimizer is as it was
        (1e-07, 0.1)

        A model that computes its own loss, and gives back its output and target for the metric:

        >>> def loss_of_batch(model, batch):
        ...     x, y = batch
        ...     out = model(x)
        ...     return torch.nn.functional.cross_entropy(out, y), out, y
        >>> r = range_test(model, opt, None, loader, loss_of_batch=loss_of_batch, num_iter=30,
        ...                progress=False, seed=0)
        >>> r.metric_name, bool((r.loss == result.loss).all())  # the same curve, bit for bit
        ('accuracy', True)
    """
    cfg = check_args(
        model=model,
        optimizer=optimizer,
        loss_fn=loss_fn,
        train_loader=train_loader,
        loss_of_batch=loss_of_batch,
        start_lr=start_lr,
        end_lr=end_lr,
        num_iter=num_iter,
        mode=mode,
        metric=metric,
        val_loader=val_loader,
        val_every=val_every,
        val_batches=val_batches,
        smooth=smooth,
        diverge=diverge,
        accumulation_steps=accumulation_steps,
        scaler=scaler,
        autocast_dtype=autocast_dtype,
        device=device,
        progress=progress,
        seed=seed,
        scheduler=scheduler,
        snapshot=snapshot,
        snapshot_dir=snapshot_dir,
        batch_fn=batch_fn,
        process_group=process_group,
    )
    run = _Run(cfg)
    with training_state(cfg, [train_loader, val_loader]):  # put back however the test ends
        try:
            run.execute(train_loader, val_loader)
        except BaseException as exc:
            if not isinstance(exc, _InputError):
                reason = "interrupted" if isinstance(exc, KeyboardInterrupt) else "error"
                with contextlib.suppress(Exception):
                    exc.range_test_result = run.result(  # type: ignore[attr-defined]
                        reason, run.rec.error_message(exc)
                    )
            raise
    return run.result()


def checked_arguments(
    model: Any,
    optimizer: Any,
    loss_fn: Any,
    train_loader: Any,
    kwargs: Mapping[str, Any],
    refused: str,
) -> tuple[Config, dict[str, Any]]:
    """:func:`range_test`'s arguments for these (by name, defaults filled in) and their checked
    :class:`Config`, before any test runs; an argument it does not take is a ``TypeError``
    ``"<refused>: <what bind() says>"``."""
    try:
        bound = inspect.signature(range_test).bind(
            model, optimizer, loss_fn, train_loader, **kwargs
        )
    except TypeError as exc:
        raise TypeError(f"{refused}: {exc}") from None
    bound.apply_defaults()
    args = dict(bound.arguments)
    return check_args(**args), args


class _InputError(ValueError):
    """Bad input found only once data is drawn (e.g. an empty loader)."""


# -- the loop --------------------------------------------------------------------------------
class _Run:
    """One range test: the loop over the ramp, and its :class:`Recorder`."""

    def __init__(self, cfg: Config) -> None:
        self.cfg = cfg
        self.model = cfg.model
        self.optimizer = cfg.optimizer
        self.loss_fn = cfg.loss_fn
        self.loss_of_batch = cfg.loss_of_batch
        self.val_batches = cfg.val_batches
        self.rec = Recorder(cfg.options, groups=len(cfg.ratios))
        self.metric_fn: Callable[[Any, Any], tuple[Any, Any]] | None = None
        self._metric_ready = False
        self.skipped = 0
        self.passes = 0
        self._stepped = False
        self._modes: list[tuple[nn.Module, bool]] = []

    # -- driver ------------------------------------------------------------------------------
    def execute(self, train_loader: Iterable[Any], val_loader: Iterable[Any] | None) -> None:
        cfg, seed = self.cfg, self.cfg.options.seed
        if seed is not None:
            random.seed(seed)
            np.random.seed(seed)
            torch.default_generator.manual_seed(seed)
            if torch.cuda.is_available() and torch.cuda.is_initialized():
                torch.cuda.manual_seed_all(seed)
        stream = BatchStream(train_loader)
        pending = stream.take(cfg.accumulation_steps)
        if pending is None:
            raise _InputError(
                f"train_loader yielded fewer than accumulation_steps="
                f"{cfg.accumulation_steps} batches (it is empty or too short)"
            )
        val_subset = None
        if val_loader is not None:
            val_subset = []
            for batch in val_loader:
                val_subset.append(batch)
                if len(val_subset) == cfg.val_batches:
                    break
            if not val_subset:
                raise _InputError("val_loader is empty: it yielded no batches")
            self.rec.has_val = True
            self.val_batches = len(val_subset)

        self.model.train()
        self._modes = [(m, m.training) for m in self.model.modules()]
        hook = None
        if cfg.scaler is not None:
            hook = self.optimizer.register_step_post_hook(self._on_step)
        bar = _progress_bar(cfg.options.num_iter) if cfg.progress else None
        try:
            with torch.enable_grad(), CyclicScheduler.pause_counting(self.optimizer):
                self._loop(stream, pending, val_subset, bar)
        finally:
            self.passes = stream.passes
            if hook is not None:
                hook.remove()
            if bar is not None:
                bar.close()

    def _on_step(self, *_: Any) -> None:
        self._stepped = True

    def _loop(
        self, stream: BatchStream, pending: list[Any] | None, val_subset: list[Any] | None, bar: Any
    ) -> None:
        """Ramp the LR until the end, a stop condition or an exception.

        Batches are drawn just before the update that uses them. Under ``torch.distributed`` the
        next update's batches are drawn one update early instead, so that a rank whose loader
        ran dry can tell the others in the same all-reduce as the loss (with a GradScaler the
        last update also draws ahead, in case that step is skipped).
        """
        cfg, rec = self.cfg, self.rec
        accum, world = cfg.accumulation_steps, cfg.world
        groups = self.optimizer.param_groups
        consecutive_skips = 0
        while True:
            i = rec.n
            lr = cfg.options.lr(i)
            group_lrs = [lr * r for r in cfg.ratios]
            write(groups, "lr", group_lrs)
            if pending is None:
                pending = stream.take(accum)
                if pending is None:
                    rec.stop_exhausted()
                    return
            loss_sum, num, den, skipped = self._update(pending)
            pending, exhausted = None, False
            if world > 1 and (i + 1 < cfg.options.num_iter or cfg.scaler is not None):
                pending = stream.take(accum)
                exhausted = pending is None
            vals = self._reduce([loss_sum, num, den, float(skipped), float(exhausted)])
            loss = vals[0] / (accum * world)
            skipped, exhausted = vals[3] > 0, vals[4] > 0
            if not math.isfinite(loss):
                rec.stop_non_finite(loss, lr)
                return
            if skipped:
                self.skipped += 1
                consecutive_skips += 1
                if consecutive_skips > MAX_SKIPPED:
                    rec.stop_skipped(consecutive_skips, lr)
                    return
            else:
                consecutive_skips = 0
                num, den = vals[1], vals[2]
                metric = None if self.metric_fn is None else (num / den if den else math.nan)
                smoothed = rec.record(lr, loss, metric=metric, group_lrs=group_lrs)
                if val_subset is not None and cfg.options.validates_after(i):
                    self._validate(i, val_subset)
                if bar is not None:
                    bar.set_postfix(lr=f"{lr:.2e}", loss=f"{smoothed:.4g}", refresh=False)
                    bar.update(1)
                if rec.check_diverged() or rec.check_end():
                    return
            if exhausted:
                rec.stop_exhausted()
                return

    def _update(self, batches: list[Any]) -> tuple[torch.Tensor, Any, Any, bool]:
        """One optimizer update over ``batches`` (micro-batches when accumulating)."""
        cfg = self.cfg
        opt, scaler, accum = self.optimizer, cfg.scaler, cfg.accumulation_steps
        opt.zero_grad(set_to_none=True)
        loss_sum: Any = None
        num: Any = None
        den: Any = 0
        for batch in batches:
            loss, out, target = self._forward(batch)
            scaled = loss / accum if accum > 1 else loss
            if scaler is not None:
                scaled = scaler.scale(scaled)
            scaled.backward()
            d = loss.detach()
            loss_sum = d if loss_sum is None else loss_sum + d
            num, den = self._metric(out, target, num, den)
        if scaler is not None:
            self._stepped = False
            scaler.step(opt)
            scaler.update()
            return loss_sum, num, den, not self._stepped
        opt.step()
        return loss_sum, num, den, False

    def _forward(self, batch: Any) -> tuple[torch.Tensor, Any, Any]:
        cfg = self.cfg
        return batch_loss(
            self.model,
            batch,
            loss_fn=self.loss_fn,
            loss_of_batch=self.loss_of_batch,
            batch_fn=cfg.batch_fn,
            device=cfg.device,
            autocast_dtype=cfg.autocast_dtype,
        )

    def _metric(self, out: Any, target: Any, num: Any, den: Any) -> tuple[Any, Any]:
        if not self._metric_ready:
            self._metric_ready = True
            self.metric_fn, name = resolve_metric(
                self.cfg.metric, out, target, from_loss_of_batch=self.loss_of_batch is not None
            )
            if name is not None:
                self.rec.metric_name = name
        if self.metric_fn is None:
            return None, 0
        n, d = self.metric_fn(out, target)
        return (n if num is None else num + n), den + d

    def _reduce(self, values: list[Any]) -> list[float]:
        return host_floats(values, self.cfg.world, self.cfg.group, self.cfg.device)

    def _validate(self, i: int, val_subset: list[Any]) -> None:
        cfg = self.cfg
        self.model.eval()
        try:
            loss_sum: Any = None
            num: Any = None
            den: Any = 0
            with torch.no_grad():
                for batch in val_subset:
                    loss, out, target = self._forward(batch)
                    loss_sum = loss if loss_sum is None else loss_sum + loss
                    if self.metric_fn is not None:
                        n, d = self.metric_fn(out, target)
                        num, den = (n if num is None else num + n), den + d
            vals = self._reduce([loss_sum, num, den])
        finally:
            for m, mode in self._modes:
                m.training = mode
        self.rec.record_validation(
            i, vals[0] / (len(val_subset) * cfg.world), vals[1] / vals[2] if vals[2] else math.nan
        )

    # -- result ------------------------------------------------------------------------------
    def result(self, stop_reason: str | None = None, message: str | None = None) -> RangeTestResult:
        """What was recorded (stop reason and message: the recorder's own unless given)."""
        plain = self.cfg.to_dict()
        if self.cfg.has_val:
            plain["val_batches"] = self.val_batches
        plain.update(skipped_steps=self.skipped, data_passes=self.passes)
        versions = library_versions(torch=str(torch.__version__))  # not TorchVersion
        return self.rec.result(plain, versions, stop_reason, message)


def _progress_bar(total: int) -> Any:
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="range test", unit="update", leave=False, file=sys.stderr)
