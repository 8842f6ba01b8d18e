"""Argument checks for :func:`cyclr.torch.range_test`: every error names the argument and value."""

from __future__ import annotations

import math
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from cyclr import _validate as check
from cyclr.range_test.ramp import DEFAULT_RANGE, MIN_ITER, MODES
from cyclr.torch._snapshot import STORAGES

__all__ = ["MAX_SKIPPED", "Config", "callable_name", "check_args", "check_loader"]

#: Consecutive steps a GradScaler may skip (inf/NaN gradients) before the test gives up.
MAX_SKIPPED = 50

_METRICS = ("auto", "accuracy")


@dataclass
class Config:
    """Validated options, resolved defaults, and the JSON-ready copy for the result."""

    start_lr: float
    end_lr: float
    num_iter: int
    mode: str
    metric: Any
    val_every: int
    val_batches: int
    smooth: float
    diverge: float | None
    accumulation_steps: int
    scaler: Any
    autocast_dtype: torch.dtype | None
    device: torch.device
    progress: bool
    seed: int | None
    batch_fn: Callable[[Any], Any] | None
    ratios: list[float]
    world: int
    rank: int
    group: Any
    plain: dict[str, Any] = field(default_factory=dict)


def check_args(a: dict[str, Any]) -> Config:
    """Validate ``range_test``'s arguments (by name) without touching anything."""
    model, optimizer, loss_fn = a["model"], a["optimizer"], a["loss_fn"]
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(
            f"optimizer must be a torch.optim.Optimizer, got {type(optimizer).__name__}"
        )
    if not callable(loss_fn):
        raise TypeError(f"loss_fn must be callable, got {loss_fn!r}")
    for name in ("train_loader", "val_loader"):
        check_loader(name, a[name], optional=name == "val_loader")

    mode = check.choice("mode", a["mode"], MODES)
    lo, hi = DEFAULT_RANGE[mode]
    start = lo if a["start_lr"] is None else check.positive("start_lr", a["start_lr"])
    end = hi if a["end_lr"] is None else check.positive("end_lr", a["end_lr"])
    if start >= end:
        raise ValueError(f"start_lr ({start!r}) must be < end_lr ({end!r})")
    num_iter = check.integer("num_iter", a["num_iter"], minimum=MIN_ITER)
    smooth = check.fraction("smooth", a["smooth"], high_open=True)
    diverge = a["diverge"]
    if diverge is not None:
        diverge = check.finite("diverge", diverge)
        if diverge <= 1:
            raise ValueError(f"diverge must be > 1 (a multiple of the best loss), got {diverge!r}")
    accum = check.integer("accumulation_steps", a["accumulation_steps"], minimum=1)
    val_every = check.integer("val_every", a["val_every"], minimum=1)
    val_batches = check.integer("val_batches", a["val_batches"], minimum=1)

    metric = a["metric"]
    if isinstance(metric, str):
        check.choice("metric", metric, _METRICS)
    elif metric is not None and not callable(metric):
        raise TypeError(f"metric must be 'auto', 'accuracy', a callable or None, got {metric!r}")

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

    device = a["device"]
    if device is None:
        device = trainable[0].device
    else:
        try:
            device = torch.device(device)
        except (RuntimeError, TypeError) as exc:
            raise ValueError(f"device must name a torch device, got {a['device']!r}") from exc
    progress = a["progress"]
    if progress is not None and not isinstance(progress, bool):
        raise TypeError(f"progress must be True, False or None, got {progress!r}")
    seed = a["seed"]
    if seed is not None:
        seed = check.integer("seed", seed, minimum=0)
        if seed >= 2**32:
            raise ValueError(f"seed must be < 2**32, got {seed!r}")
    sched = a["scheduler"]
    if sched is not None and not all(hasattr(sched, m) for m in ("state_dict", "load_state_dict")):
        raise TypeError(f"scheduler must have state_dict() and load_state_dict(), got {sched!r}")
    check.choice("snapshot", a["snapshot"], STORAGES)
    if a["batch_fn"] is not None and not callable(a["batch_fn"]):
        raise TypeError(f"batch_fn must be callable, got {a['batch_fn']!r}")

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
        "start_lr": start,
        "end_lr": end,
        "num_iter": num_iter,
        "mode": mode,
        "metric": metric_label,
        "smooth": smooth,
        "diverge": diverge,
        "accumulation_steps": accum,
        "val_every": val_every if has_val else None,
        "val_batches": val_batches if has_val else None,
        "seed": seed,
        "snapshot": a["snapshot"],
        "scaler": None if scaler is None else type(scaler).__name__,
        "autocast_dtype": None if ac is None else str(ac).replace("torch.", ""),
        "device": device.type,
        "world_size": world,
        "group_lr_ratios": ratios,
        "optimizer": type(optimizer).__name__,
        "model": type(model).__name__,
    }
    return Config(
        start,
        end,
        num_iter,
        mode,
        metric,
        val_every,
        val_batches,
        smooth,
        diverge,
        accum,
        scaler,
        ac,
        device,
        progress,
        seed,
        a["batch_fn"],
        ratios,
        world,
        rank,
        group,
        plain,
    )


def check_loader(name: str, loader: Any, *, optional: bool) -> None:
    if loader is None and optional:
        return
    if not hasattr(loader, "__iter__"):
        raise TypeError(f"{name} must be an iterable of batches, got {loader!r}")
    try:
        n = len(loader)
    except TypeError:
        return
    if n == 0:
        raise ValueError(f"{name} is empty (len({name}) == 0)")


def group_ratios(optimizer: torch.optim.Optimizer) -> list[float]:
    lrs = []
    for g in optimizer.param_groups:
        lr = g.get("lr", float("nan"))
        lrs.append(float(lr) if isinstance(lr, (int, float, torch.Tensor)) else float("nan"))
    base = lrs[0]
    if not (math.isfinite(base) and base > 0):
        return [1.0] * len(lrs)
    return [lr / base if math.isfinite(lr) and lr >= 0 else 1.0 for lr in lrs]


def callable_name(fn: Any) -> str:
    return str(getattr(fn, "__name__", type(fn).__name__))
