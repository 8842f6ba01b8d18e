"""Shared helpers for the range-test tests: small real data sets, small models, state capture.

Holds no tests itself. Data: scikit-learn's bundled digits and locally generated MNIST-1D.
"""

from __future__ import annotations

import copy
import functools
import random
import struct
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch
from torch import nn

TensorPair = tuple[torch.Tensor, torch.Tensor]


@functools.lru_cache(maxsize=1)
def digits() -> TensorPair:
    """sklearn digits: 1797 x 64 features in [0, 1], 10 classes."""
    from sklearn.datasets import load_digits

    d = load_digits()
    x = torch.tensor(d.data, dtype=torch.float32) / 16.0
    return x, torch.tensor(d.target, dtype=torch.int64)


@functools.lru_cache(maxsize=1)
def mnist1d(n: int = 2000) -> TensorPair:
    """A subset of MNIST-1D (generated locally), shaped (N, 1, 40) for 1-D convolutions."""
    from mnist1d.data import get_dataset_args, make_dataset

    state = np.random.get_state()
    try:
        d = make_dataset(get_dataset_args())
    finally:
        np.random.set_state(state)
    x = torch.tensor(d["x"][:n], dtype=torch.float32).unsqueeze(1)
    return x, torch.tensor(d["y"][:n], dtype=torch.int64)


def loader(
    data: TensorPair, batch_size: int = 64, shuffle: bool = True, n: int | None = None
) -> torch.utils.data.DataLoader:
    """DataLoader over (a prefix of) ``data``; shuffling draws from torch's global RNG."""
    x, y = data
    if n is not None:
        x, y = x[:n], y[:n]
    ds = torch.utils.data.TensorDataset(x, y)
    return torch.utils.data.DataLoader(ds, batch_size=batch_size, shuffle=shuffle)


def mlp(
    seed: int = 0, n_in: int = 64, hidden: int = 32, n_out: int = 10, dropout: float = 0.1
) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Linear(n_in, hidden), nn.ReLU(), nn.Dropout(dropout), nn.Linear(hidden, n_out)
    )


def bn_cnn(seed: int = 0, channels: int = 8) -> nn.Module:
    """A small 1-D CNN with BatchNorm and dropout, for MNIST-1D (N, 1, 40)."""
    torch.manual_seed(seed)
    c = channels
    return nn.Sequential(
        nn.Conv1d(1, c, 5, padding=2),
        nn.BatchNorm1d(c),
        nn.ReLU(),
        nn.Conv1d(c, c, 3, padding=1, stride=2),
        nn.BatchNorm1d(c),
        nn.ReLU(),
        nn.AdaptiveAvgPool1d(5),
        nn.Flatten(),
        nn.Dropout(0.1),
        nn.Linear(5 * c, 10),
    )


def warm_up(
    model: nn.Module,
    opt: torch.optim.Optimizer,
    data: TensorPair,
    steps: int = 5,
    scaler: Any = None,
) -> None:
    """A few real training steps, so the optimizer (and scaler) hold state: 'mid-training'."""
    x, y = data
    model.train()
    for i in range(steps):
        xb, yb = x[i * 32 : (i + 1) * 32], y[i * 32 : (i + 1) * 32]
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(xb), yb)
        if scaler is None:
            loss.backward()
            opt.step()
        else:
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()
    # Leave some gradients behind, as a paused training loop would.
    nn.functional.cross_entropy(model(x[:16]), y[:16]).backward()


# -- state capture -----------------------------------------------------------------------------
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


class Counting:
    """A re-iterable loader wrapper that counts passes and batches drawn."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.passes = 0
        self.batches = 0
        self.seen: list[torch.Tensor] = []

    def __len__(self) -> int:
        return len(self.inner)

    def __iter__(self) -> Iterator[Any]:
        self.passes += 1
        for b in self.inner:
            self.batches += 1
            self.seen.append(b[0])
            yield b


class StepCounter:
    """Counts optimizer steps that really ran, and the LR of every group at each of them."""

    def __init__(self, opt: torch.optim.Optimizer) -> None:
        self.lrs: list[list[float]] = []
        self.handle = opt.register_step_pre_hook(self._pre)
        self.steps = 0
        self.post = opt.register_step_post_hook(self._post)
        self._pending: list[float] | None = None

    def _pre(self, opt: torch.optim.Optimizer, *_: Any) -> None:
        self._pending = [float(g["lr"]) for g in opt.param_groups]

    def _post(self, *_: Any) -> None:
        self.steps += 1
        assert self._pending is not None
        self.lrs.append(self._pending)

    def remove(self) -> None:
        self.handle.remove()
        self.post.remove()


# -- torch.distributed: worker processes on localhost ------------------------------------------
def free_port() -> int:
    """A free TCP port on the loopback address."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def leave_group(rank: int, world: int, out: Any, timeout_s: float = 60.0) -> None:
    """End a worker's ``torch.distributed`` group so that no rank aborts on the way out.

    Every rank meets at a barrier and destroys the group, then marks ``out/left_RANK``. Rank 0,
    whose process holds the rendezvous store, waits (at most ``timeout_s``) for every other
    rank's mark before it exits: a rank still tearing gloo down when the store disappears can
    die with ``terminate called without an active exception``.
    """
    import time
    from pathlib import Path

    import torch.distributed as dist

    dist.barrier()
    dist.destroy_process_group()
    folder = Path(out)
    (folder / f"left_{rank}").write_text("")
    if rank == 0:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if all((folder / f"left_{r}").exists() for r in range(1, world)):
                return
            time.sleep(0.05)


def run_ranks(script: str, world: int, out: Any, timeout_s: float) -> None:
    """Run ``python script RANK WORLD PORT OUT`` for every rank (gloo on 127.0.0.1, one thread
    each) from the repository root; fail the test if one fails or any outlives ``timeout_s``."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    import pytest

    root = Path(__file__).resolve().parents[2]
    path = os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")])
    env = dict(os.environ, PYTHONPATH=path, GLOO_SOCKET_IFNAME="lo", OMP_NUM_THREADS="1")
    port = free_port()
    procs = [
        subprocess.Popen(
            [sys.executable, script, str(rank), str(world), str(port), str(out)],
            env=env,
            cwd=root,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        for rank in range(world)
    ]
    logs = []
    try:
        for p in procs:
            logs.append(p.communicate(timeout=timeout_s)[0].decode(errors="replace"))
    except subprocess.TimeoutExpired:
        for p in procs:
            p.kill()
        for p in procs:
            p.wait()
        pytest.fail(f"distributed workers did not finish within {timeout_s} s")
    for rank, (p, log) in enumerate(zip(procs, logs)):
        assert p.returncode == 0, f"rank {rank} failed:\n{log[-4000:]}"
