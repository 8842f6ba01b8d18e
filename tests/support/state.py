"""Capture everything a range test promises to restore; compare states, or two curves, bit for
bit."""

from __future__ import annotations

import copy
import random
import struct
from typing import Any

import numpy as np
import torch
from torch import nn


def _clone(x: Any) -> Any:
    if isinstance(x, torch.Tensor):
        return x.detach().clone()
    if isinstance(x, dict):
        return {k: _clone(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return type(x)(_clone(v) for v in x)
    return copy.deepcopy(x)


def capture(
    model: nn.Module, opt: torch.optim.Optimizer, scheduler: Any = None, scaler: Any = None
) -> dict[str, Any]:
    """Everything the range test promises to restore, deep-copied."""
    out: dict[str, Any] = {
        "params": {k: _clone(p) for k, p in model.named_parameters()},
        "buffers": {k: _clone(b) for k, b in model.named_buffers()},
        "grads": {
            k: None if p.grad is None else _clone(p.grad) for k, p in model.named_parameters()
        },
        "modes": [m.training for m in model.modules()],
        "opt": _clone(opt.state_dict()),
        "opt_state_keys": [sorted(s) for s in opt.state.values()],
        "rng_python": random.getstate(),
        "rng_numpy": _clone(np.random.get_state()),
        "rng_torch": torch.get_rng_state(),
    }
    if scheduler is not None:
        out["scheduler"] = _clone(scheduler.state_dict())
    if scaler is not None:
        out["scaler"] = _clone(scaler.state_dict())
        out["scaler_vars"] = {
            k: _clone(v) for k, v in vars(scaler).items() if k != "_per_optimizer_states"
        }
    return out


def _float_bits(x: float) -> bytes:
    return struct.pack("<d", x)


def assert_same(a: Any, b: Any, path: str = "state") -> None:
    """Bitwise equality: ``torch.equal`` (plus dtype/device) for tensors, ``==`` elsewhere."""
    if isinstance(a, torch.Tensor):
        assert isinstance(b, torch.Tensor), f"{path}: tensor vs {type(b).__name__}"
        assert a.dtype == b.dtype and a.shape == b.shape and a.device == b.device, path
        assert torch.equal(
            a.view(torch.uint8) if a.dtype == torch.bool else a,
            b.view(torch.uint8) if b.dtype == torch.bool else b,
        ), path
        if a.is_floating_point():  # NaN-safe bitwise check as well
            assert torch.equal(
                a.contiguous().reshape(-1).view(torch.uint8),
                b.contiguous().reshape(-1).view(torch.uint8),
            ), path
        return
    if isinstance(a, np.ndarray):
        assert isinstance(b, np.ndarray) and a.dtype == b.dtype, path
        assert a.tobytes() == b.tobytes(), path
        return
    if isinstance(a, dict):
        assert isinstance(b, dict), f"{path}: dict vs {type(b).__name__}"
        assert list(a) == list(b), f"{path}: keys {list(a)} != {list(b)}"
        for k in a:
            assert_same(a[k], b[k], f"{path}[{k!r}]")
        return
    if isinstance(a, (list, tuple)):
        assert type(a) is type(b) and len(a) == len(b), f"{path}: {a!r} != {b!r}"
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same(x, y, f"{path}[{i}]")
        return
    if isinstance(a, float):
        assert isinstance(b, float) and _float_bits(a) == _float_bits(b), f"{path}: {a} != {b}"
        return
    assert type(a) is type(b) and a == b, f"{path}: {a!r} != {b!r}"


def _bits(a: np.ndarray | None) -> bytes | None:
    return None if a is None else np.ascontiguousarray(a).tobytes()


def assert_same_curve(a: Any, b: Any) -> None:
    """Two range tests recorded the same curve, bit for bit, and stopped the same way."""
    for name in ("lr", "loss", "smoothed_loss", "metric", "val_step", "val_loss", "val_metric"):
        assert _bits(getattr(a, name)) == _bits(getattr(b, name)), name
    assert (a.stop_reason, a.metric_name, len(a)) == (b.stop_reason, b.metric_name, len(b))
