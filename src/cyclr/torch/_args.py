"""Argument checks for :func:`cyclr.torch.range_test`: every error names the argument and value.

The options every range test shares (the ramp, ``smooth``, ``diverge``, ``val_every``, ``seed``,
the metric's type) are checked by :func:`cyclr.range_test.checks.check_options_in`, with the same
messages as :func:`cyclr.keras.range_test`; the PyTorch-only ones here, and the snapshot the
arguments say to restore (:func:`training_state`).
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from cyclr import _validate as check
from cyclr.range_test.checks import (
    RangeTestOptions,
    check_loader,
    check_options_in,
    group_lr_ratios,
)
from cyclr.torch._batches import callable_name
from cyclr.torch._snapshot import STORAGES, TrainingState

__all__ = [
    "MAX_SKIPPED",
    "Config",
    "callable_name",
    "check_args",
    "check_device",
    "check_loader",
    "check_loss",
    "group_ratios",
    "training_state",
]

#: Consecutive steps a GradScaler may skip (inf/NaN gradients) before the test gives up.
MAX_SKIPPED = 50

_METRICS = ("auto", "accuracy")


@dataclass
class Config:
    """Validated options, resolved defaults, and the JSON-ready copy for the result.

    The options every range test shares are in :attr:`options` (``start_lr``, ``end_lr``,
    ``num_iter``, ``mode``, ``smooth``, ``diverge``, ``val_every``, ``seed``); the other fields
    are PyTorch's own.
    """

    options: RangeTestOptions
    metric: Any
    val_batches: int
    accumulation_steps: int
    scaler: Any
    autocast_dtype: torch.dtype | None
    device: torch.device
    progress: bool
    batch_fn: Callable[[Any], Any] | None
    ratios: list[float]
    world: int
    rank: int
    group: Any
    plain: dict[str, Any] = field(default_factory=dict)


def check_args(a: dict[str, Any]) -> Config:
    """Validate ``range_test``'s arguments (by name) without touching anything."""
    model, optimizer = a["model"], a["optimizer"]
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(
            f"optimizer must be a torch.optim.Optimizer, got {type(optimizer).__name__}"
        )
    check_loss(a["loss_fn"], a.get("loss_of_batch"), a["batch_fn"])
    for name in ("train_loader", "val_loader"):
        check_loader(name, a[name], optional=name == "val_loader")

    opts = check_options_in(a)
    accum = check.integer("accumulation_steps", a["accumulation_steps"], minimum=1)
    val_batches = check.integer("val_batches", a["val_batches"], minimum=1)
    metric = a["metric"]
    if isinstance(metric, str):
        check.choice("metric", metric, _METRICS)

    scaler = a["scaler"]
    if scaler is not None and not all(hasattr(scaler, m) for m in ("scale", "step", "update")):
        raise TypeError(f"scaler must be a torch.amp.GradScaler, got {type(scaler).__name__}")
    scaler_on = scaler is not None and (not hasattr(scaler, "is_enabled") or scaler.is_enabled())
    ac = a["autocast_dtype"]
    if ac is None:
        ac = torch.float16 if scaler_on else None
    elif ac is False:
        ac = None
    elif not isinstance(ac, torch.dtype):
        raise TypeError(f"autocast_dtype must be a torch.dtype, None or False, got {ac!r}")

    trainable = [p for p in model.parameters() if p.requires_grad]
    if not trainable:
        raise ValueError(
            f"model has no trainable parameters (requires_grad=True): {type(model).__name__}"
        )
    if any(nn.parameter.is_lazy(t) for t in (*model.parameters(), *model.buffers())):
        raise ValueError("model has uninitialized lazy parameters; run one forward pass first")
    held = {id(p) for g in optimizer.param_groups for p in g["params"]}
    if not any(id(p) in held for p in trainable):
        raise ValueError("optimizer holds none of the model's trainable parameters")

    device = check_device(a["device"], trainable[0].device)
    progress = a["progress"]
    if progress is not None and not isinstance(progress, bool):
        raise TypeError(f"progress must be True, False or None, got {progress!r}")
    sched = a["scheduler"]
    if sched is not None and not all(hasattr(sched, m) for m in ("state_dict", "load_state_dict")):
        raise TypeError(f"scheduler must have state_dict() and load_state_dict(), got {sched!r}")
    check.choice("snapshot", a["snapshot"], STORAGES)

    ratios = group_ratios(optimizer)
    world, rank, group = 1, 0, a["process_group"]
    dist = torch.distributed
    if dist.is_available() and dist.is_initialized():
        world, rank = dist.get_world_size(group), dist.get_rank(group)
    if progress is None:
        progress = bool(getattr(sys.stderr, "isatty", lambda: False)())
    progress = progress and rank == 0

    has_val = a["val_loader"] is not None
    metric_label = metric if metric is None or isinstance(metric, str) else callable_name(metric)
    plain = {
        "start_lr": opts.start_lr,
        "end_lr": opts.end_lr,
        "num_iter": opts.num_iter,
        "mode": opts.mode,
        "metric": metric_label,
        "smooth": opts.smooth,
        "diverge": opts.diverge,
        "accumulation_steps": accum,
        "val_every": opts.val_every if has_val else None,
        "val_batches": val_batches if has_val else None,
        "seed": opts.seed,
        "snapshot": a["snapshot"],
        "scaler": None if scaler is None else type(scaler).__name__,
        "autocast_dtype": None if ac is None else str(ac).replace("torch.", ""),
        "device": device.type,
        "world_size": world,
        "group_lr_ratios": ratios,
        "optimizer": type(optimizer).__name__,
        "model": type(model).__name__,
    }
    if a.get("loss_of_batch") is not None:
        plain["loss_of_batch"] = callable_name(a["loss_of_batch"])
    return Config(
        options=opts,
        metric=metric,
        val_batches=val_batches,
        accumulation_steps=accum,
        scaler=scaler,
        autocast_dtype=ac,
        device=device,
        progress=progress,
        batch_fn=a["batch_fn"],
        ratios=ratios,
        world=world,
        rank=rank,
        group=group,
        plain=plain,
    )


def training_state(args: Mapping[str, Any], loaders: Iterable[Any]) -> TrainingState:
    """The snapshot a range test with the arguments ``args`` (by name) puts back: the model (and
    a loss that is a module), the optimizer, ``scheduler``, ``scaler`` and the shuffling of
    ``loaders``, held in ``snapshot`` storage."""
    losses = (args["loss_fn"], args["loss_of_batch"])
    return TrainingState(
        [args["model"], *(f for f in losses if isinstance(f, nn.Module))],
        args["optimizer"],
        scheduler=args["scheduler"],
        scaler=args["scaler"],
        storage=args["snapshot"],
        directory=args["snapshot_dir"],
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


def group_ratios(optimizer: torch.optim.Optimizer) -> list[float]:
    """Each param group's LR ratio (:func:`cyclr.range_test.checks.group_lr_ratios`): over the
    first group with a positive LR; a group at LR 0 keeps 0."""
    return group_lr_ratios(g.get("lr", math.nan) for g in optimizer.param_groups)
