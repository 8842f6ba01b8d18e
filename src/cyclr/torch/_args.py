"""Argument checks for :func:`cyclr.torch.range_test`: every error names the argument and value.

The options every range test shares (the ramp, ``smooth``, ``diverge``, ``val_every``, ``seed``,
the metric's type) are checked by :func:`cyclr.range_test.checks.check_options`, with the same
messages as :func:`cyclr.keras.range_test`; the PyTorch-only ones here, into one frozen
:class:`Config`, and the snapshot it says to restore (:func:`training_state`).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from cyclr import _validate as check
from cyclr.range_test.checks import (
    RangeTestOptions,
    check_loader,
    check_options,
)
from cyclr.torch._batches import callable_name
from cyclr.torch._param_groups import group_ratios
from cyclr.torch._snapshot import STORAGES, TrainingState

__all__ = [
    "MAX_SKIPPED",
    "Config",
    "callable_name",
    "check_args",
    "check_device",
    "check_loader",
    "check_loss",
    "training_state",
]

#: Consecutive steps a GradScaler may skip (inf/NaN gradients) before the test gives up.
MAX_SKIPPED = 50

_METRICS = ("auto", "accuracy")


@dataclass(frozen=True, eq=False)
class Config:
    """The checked settings of one PyTorch range test, defaults resolved.

    The options every range test shares are in :attr:`options` (``start_lr``, ``end_lr``,
    ``num_iter``, ``mode``, ``smooth``, ``diverge``, ``val_every``, ``seed``); the other fields
    are PyTorch's own, and the objects the test restores. :meth:`to_dict` is the JSON copy a
    result keeps as its ``config``.
    """

    options: RangeTestOptions
    model: nn.Module
    optimizer: torch.optim.Optimizer
    loss_fn: Callable[[Any, Any], Any] | None
    loss_of_batch: Callable[[Any, Any], Any] | None
    metric: Any
    has_val: bool
    val_batches: int
    accumulation_steps: int
    scaler: Any
    autocast_dtype: torch.dtype | None
    device: torch.device
    progress: bool
    scheduler: Any
    snapshot: str
    snapshot_dir: str | os.PathLike[str] | None
    batch_fn: Callable[[Any], Any] | None
    ratios: list[float]
    world: int
    rank: int
    group: Any

    def to_dict(self) -> dict[str, Any]:
        """The settings as plain JSON data (``val_every`` and ``val_batches`` are ``None``
        without held-out data)."""
        metric = self.metric
        label = metric if metric is None or isinstance(metric, str) else callable_name(metric)
        ac = self.autocast_dtype
        plain = {
            **self.options.to_dict(validates=self.has_val),
            "metric": label,
            "accumulation_steps": self.accumulation_steps,
            "val_batches": self.val_batches if self.has_val else None,
            "snapshot": self.snapshot,
            "scaler": None if self.scaler is None else type(self.scaler).__name__,
            "autocast_dtype": None if ac is None else str(ac).replace("torch.", ""),
            "device": self.device.type,
            "world_size": self.world,
            "group_lr_ratios": self.ratios,
            "optimizer": type(self.optimizer).__name__,
            "model": type(self.model).__name__,
        }
        if self.loss_of_batch is not None:
            plain["loss_of_batch"] = callable_name(self.loss_of_batch)
        return plain


def check_args(
    *,
    model: Any,
    optimizer: Any,
    loss_fn: Any,
    train_loader: Any,
    loss_of_batch: Any,
    start_lr: Any,
    end_lr: Any,
    num_iter: Any,
    mode: Any,
    metric: Any,
    val_loader: Any,
    val_every: Any,
    val_batches: Any,
    smooth: Any,
    diverge: Any,
    accumulation_steps: Any,
    scaler: Any,
    autocast_dtype: Any,
    device: Any,
    progress: Any,
    seed: Any,
    scheduler: Any,
    snapshot: Any,
    snapshot_dir: Any,
    batch_fn: Any,
    process_group: Any,
) -> Config:
    """Check :func:`cyclr.torch.range_test`'s arguments (the same names) without touching
    anything, and resolve their defaults."""
    trainable = _check_model(model, optimizer)
    check_loss(loss_fn, loss_of_batch, batch_fn)
    check_loader("train_loader", train_loader, optional=False)
    check_loader("val_loader", val_loader, optional=True)
    opts = check_options(
        start_lr=start_lr,
        end_lr=end_lr,
        num_iter=num_iter,
        mode=mode,
        smooth=smooth,
        diverge=diverge,
        val_every=val_every,
        seed=seed,
        metric=metric,
    )
    accum = check.integer("accumulation_steps", accumulation_steps, minimum=1)
    val_batches = check.integer("val_batches", val_batches, minimum=1)
    if isinstance(metric, str):
        check.choice("metric", metric, _METRICS)
    autocast_dtype = _check_precision(scaler, autocast_dtype)
    _check_model_state(model, optimizer, trainable)
    device = check_device(device, trainable[0].device)
    if progress is not None and not isinstance(progress, bool):
        raise TypeError(f"progress must be True, False or None, got {progress!r}")
    if scheduler is not None and not all(
        hasattr(scheduler, m) for m in ("state_dict", "load_state_dict")
    ):
        raise TypeError(
            f"scheduler must have state_dict() and load_state_dict(), got {scheduler!r}"
        )
    check.choice("snapshot", snapshot, STORAGES)
    ratios = group_ratios(optimizer)
    world, rank = _world(process_group)
    if progress is None:
        progress = bool(getattr(sys.stderr, "isatty", lambda: False)())
    return Config(
        options=opts,
        model=model,
        optimizer=optimizer,
        loss_fn=loss_fn,
        loss_of_batch=loss_of_batch,
        metric=metric,
        has_val=val_loader is not None,
        val_batches=val_batches,
        accumulation_steps=accum,
        scaler=scaler,
        autocast_dtype=autocast_dtype,
        device=device,
        progress=progress and rank == 0,
        scheduler=scheduler,
        snapshot=snapshot,
        snapshot_dir=snapshot_dir,
        batch_fn=batch_fn,
        ratios=ratios,
        world=world,
        rank=rank,
        group=process_group,
    )


def _world(process_group: Any) -> tuple[int, int]:
    """``(world size, rank)`` in ``process_group`` under ``torch.distributed``, else ``(1, 0)``."""
    dist = torch.distributed
    if dist.is_available() and dist.is_initialized():
        return dist.get_world_size(process_group), dist.get_rank(process_group)
    return 1, 0


def _check_model(model: Any, optimizer: Any) -> list[nn.Parameter]:
    """A module and an optimizer; the module's trainable parameters, at least one."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(
            f"optimizer must be a torch.optim.Optimizer, got {type(optimizer).__name__}"
        )
    return [p for p in model.parameters() if p.requires_grad]


def _check_model_state(
    model: nn.Module, optimizer: torch.optim.Optimizer, trainable: list[nn.Parameter]
) -> None:
    """Something to train, initialised, and held by the optimizer."""
    if not trainable:
        raise ValueError(
            f"model has no trainable parameters (requires_grad=True): {type(model).__name__}"
        )
    if any(nn.parameter.is_lazy(t) for t in (*model.parameters(), *model.buffers())):
        raise ValueError("model has uninitialized lazy parameters; run one forward pass first")
    held = {id(p) for g in optimizer.param_groups for p in g["params"]}
    if not any(id(p) in held for p in trainable):
        raise ValueError("optimizer holds none of the model's trainable parameters")


def _check_precision(scaler: Any, autocast_dtype: Any) -> torch.dtype | None:
    """A GradScaler or ``None``; the autocast dtype: ``None`` means float16 under an enabled
    scaler, ``False`` none."""
    if scaler is not None and not all(hasattr(scaler, m) for m in ("scale", "step", "update")):
        raise TypeError(f"scaler must be a torch.amp.GradScaler, got {type(scaler).__name__}")
    scaler_on = scaler is not None and (not hasattr(scaler, "is_enabled") or scaler.is_enabled())
    if autocast_dtype is None:
        return torch.float16 if scaler_on else None
    if autocast_dtype is False:
        return None
    if not isinstance(autocast_dtype, torch.dtype):
        raise TypeError(
            f"autocast_dtype must be a torch.dtype, None or False, got {autocast_dtype!r}"
        )
    return autocast_dtype


def training_state(cfg: Config, loaders: Iterable[Any]) -> TrainingState:
    """The snapshot a range test with the settings ``cfg`` puts back: the model (and a loss
    that is a module), the optimizer, ``scheduler``, ``scaler`` and the shuffling of
    ``loaders``, held in ``snapshot`` storage."""
    losses = (cfg.loss_fn, cfg.loss_of_batch)
    return TrainingState(
        [cfg.model, *(f for f in losses if isinstance(f, nn.Module))],
        cfg.optimizer,
        scheduler=cfg.scheduler,
        scaler=cfg.scaler,
        storage=cfg.snapshot,
        directory=cfg.snapshot_dir,
        loaders=loaders,
    )


def check_loss(loss_fn: Any, loss_of_batch: Any, batch_fn: Any) -> None:
    """Exactly one of ``loss_fn`` and ``loss_of_batch``, callable; ``batch_fn`` only with
    ``loss_fn`` (``loss_of_batch`` gets the whole batch).

    Example:
        >>> check_loss(None, lambda model, batch: model(batch), None)
        >>> check_loss(None, None, None)
        Traceback (most recent call last):
        ...
        TypeError: range_test needs loss_fn (called as loss_fn(model(inputs), targets)) or \
loss_of_batch (called as loss_of_batch(model, batch)); both are None
    """
    if loss_fn is None and loss_of_batch is None:
        raise TypeError(
            "range_test needs loss_fn (called as loss_fn(model(inputs), targets)) or "
            "loss_of_batch (called as loss_of_batch(model, batch)); both are None"
        )
    if loss_fn is not None and loss_of_batch is not None:
        raise TypeError(
            f"give loss_fn or loss_of_batch, not both: got loss_fn={loss_fn!r} and "
            f"loss_of_batch={loss_of_batch!r} (pass loss_fn=None with loss_of_batch)"
        )
    if loss_fn is not None and not callable(loss_fn):
        raise TypeError(f"loss_fn must be callable, got {loss_fn!r}")
    if loss_of_batch is not None and not callable(loss_of_batch):
        raise TypeError(
            f"loss_of_batch must be callable as loss_of_batch(model, batch), got {loss_of_batch!r}"
        )
    if batch_fn is not None:
        if not callable(batch_fn):
            raise TypeError(f"batch_fn must be callable, got {batch_fn!r}")
        if loss_of_batch is not None:
            raise TypeError(
                f"batch_fn={batch_fn!r} is not used with loss_of_batch, which gets each batch "
                "as the loader yields it (moved to the device); unpack it there"
            )


def check_device(given: Any, model_device: torch.device) -> torch.device:
    """The device batches go to: ``given``, or ``model_device`` (that of the model's first
    trainable parameter) when ``None``; it must exist on this machine.

    ``cuda`` needs ``torch.cuda.is_available()`` and an index below ``torch.cuda.device_count()``,
    ``mps`` needs ``torch.backends.mps.is_available()``, another accelerator ``torch.<type>``'s
    ``is_available()``/``device_count()`` where it has them; ``meta`` holds no data and is refused.

    Example:
        >>> check_device("cpu", torch.device("cpu"))
        device(type='cpu')
        >>> check_device("meta", torch.device("cpu"))
        Traceback (most recent call last):
        ...
        ValueError: device='meta' cannot run a range test: meta tensors hold no data; pass a \
real device such as 'cpu' or 'cuda'
    """
    if given is None:
        if model_device.type == "meta":
            raise ValueError(
                "the model's parameters are on the meta device, which holds no data: move the "
                "model to a real device (or pass device=) first"
            )
        return model_device
    try:
        device = torch.device(given)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(f"device must name a torch device, got {given!r}") from exc
    name, kind = str(device), device.type
    if kind == "meta":
        raise ValueError(
            f"device={name!r} cannot run a range test: meta tensors hold no data; pass a real "
            "device such as 'cpu' or 'cuda'"
        )
    if kind == "cpu":
        return device
    if kind == "mps":
        available, where, count = torch.backends.mps.is_available(), "torch.backends.mps", 1
    else:
        module = getattr(torch, kind, None)
        if module is None or not callable(getattr(module, "is_available", None)):
            return device  # an accelerator torch cannot query: let it fail where it is used
        available, where = bool(module.is_available()), f"torch.{kind}"
        counter = getattr(module, "device_count", None)
        count = int(counter()) if available and callable(counter) else 1
    if not available:
        raise ValueError(
            f"device={name!r} is not available on this machine ({where}.is_available() is False)"
        )
    if device.index is not None and device.index >= count:
        label = kind.upper() if kind in ("cuda", "xpu", "mps") else kind
        which = f"{kind}:0" if count == 1 else f"{kind}:0 to {kind}:{count - 1}"
        plural = "" if count == 1 else "s"
        raise ValueError(
            f"device={name!r} is not available on this machine (it has {count} {label} "
            f"device{plural}, {which})"
        )
    return device
