"""The rollback copy of an online schedule: the weights, the model's buffers and the
optimizer's state at one update, taken, saved, loaded and put back."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

import torch

__all__ = ["clone", "load", "put_back", "take"]


def take(
    step: int,
    params: list[torch.Tensor],
    buffers: list[torch.Tensor],
    optimizer: torch.optim.Optimizer,
) -> dict[str, Any]:
    """A copy of ``params``, ``buffers`` and each parameter's optimizer state, at ``step``."""
    return {
        "step": step,
        "params": [p.detach().clone() for p in params],
        "buffers": [b.detach().clone() for b in buffers],
        # per parameter (None: no state yet); the param groups are the schedule's to set
        "optimizer": [_copy_state(optimizer.state.get(p)) for p in params],
    }


def put_back(
    snap: Mapping[str, Any],
    params: list[torch.Tensor],
    buffers: list[torch.Tensor],
    optimizer: torch.optim.Optimizer,
) -> None:
    """Write the copy ``snap`` back into ``params``, ``buffers`` and the optimizer's state."""
    with torch.no_grad():
        for p, saved in zip(params, snap["params"]):
            p.copy_(saved)
        for b, saved in zip(buffers, snap["buffers"]):
            b.copy_(saved)
    # In place: code holding the optimizer's param groups keeps seeing the live ones.
    for p, saved in zip(params, snap["optimizer"]):
        if saved is None:
            optimizer.state.pop(p, None)
        else:
            optimizer.state[p] = saved


def clone(snap: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of a rollback snapshot that shares no tensor with it."""
    return {
        "step": snap["step"],
        "params": [t.detach().clone() for t in snap["params"]],
        "buffers": [t.detach().clone() for t in snap["buffers"]],
        "optimizer": [_copy_state(st) for st in snap["optimizer"]],
    }


def load(snap: Any, params: list[torch.Tensor], buffers: list[torch.Tensor]) -> dict[str, Any]:
    """A copy of a saved rollback snapshot, on the devices of the live tensors."""
    keys = {"step", "params", "buffers", "optimizer"}
    if not isinstance(snap, Mapping) or not keys <= set(snap):
        raise ValueError("rollback_snapshot must hold step, params, buffers and optimizer")
    saved_params = _loaded_tensors("params", snap["params"], params, "the optimizer")
    saved_buffers = _loaded_tensors("buffers", snap["buffers"], buffers, "the model")
    states = snap["optimizer"]
    if not isinstance(states, (list, tuple)) or len(states) != len(params):
        raise ValueError(
            f"rollback_snapshot['optimizer'] must hold one state per parameter ({len(params)})"
        )
    if not all(st is None or isinstance(st, Mapping) for st in states):
        raise ValueError("rollback_snapshot['optimizer'] must hold a mapping or None each")
    return {
        "step": int(snap["step"]),
        "params": saved_params,
        "buffers": saved_buffers,
        "optimizer": [
            None if not st else {k: _copy_to(x, p.device) for k, x in st.items()}
            for st, p in zip(states, params)
        ],
    }


def _copy_state(state: dict[str, Any] | None) -> dict[str, Any] | None:
    """A copy of one parameter's optimizer state (tensors cloned), ``None`` if it has none."""
    if not state:
        return None
    return {
        k: v.detach().clone() if isinstance(v, torch.Tensor) else copy.deepcopy(v)
        for k, v in state.items()
    }


def _copy_to(value: Any, device: torch.device) -> Any:
    """A copy of a loaded state value, on the device of its parameter (a scalar step stays
    where it is)."""
    if isinstance(value, torch.Tensor):
        if value.dim() > 0:
            return value.detach().to(device, copy=True)
        return value.detach().clone()
    return copy.deepcopy(value)


def _loaded_tensors(
    name: str, saved: Any, live: list[torch.Tensor], what: str
) -> list[torch.Tensor]:
    """Copies of the snapshot's ``saved`` tensors, each on the device of its ``live`` one."""
    if not isinstance(saved, (list, tuple)) or len(saved) != len(live):
        n = len(saved) if isinstance(saved, (list, tuple)) else type(saved).__name__
        raise ValueError(f"rollback_snapshot[{name!r}] holds {n} tensors, {what} has {len(live)}")
    out = []
    for i, (s, t) in enumerate(zip(saved, live)):
        if not isinstance(s, torch.Tensor) or s.shape != t.shape:
            got = tuple(s.shape) if isinstance(s, torch.Tensor) else type(s).__name__
            raise ValueError(
                f"rollback_snapshot[{name!r}][{i}] is {got}, {what}'s tensor {i} has shape "
                f"{tuple(t.shape)}"
            )
        out.append(s.detach().to(t.device, copy=True))
    return out
