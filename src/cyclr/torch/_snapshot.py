"""Snapshot and bitwise restore of everything an LR range test touches.

:class:`TrainingState` captures, before the test:

- the parameters and buffers of the given modules (BatchNorm running statistics included) and of
  every parameter the optimizer holds, plus their ``.grad``;
- the optimizer's per-parameter state (momentum buffers, Adam moments, step counts) and every
  ``param_groups`` entry except ``params`` (a tensor LR, and the tensors of a ``betas`` tuple,
  are written back in place);
- an attached LR scheduler and a GradScaler;
- the Python, numpy and torch (CPU and initialised CUDA) RNG states;
- every submodule's ``training`` flag, and which tensor it holds under each parameter and buffer
  name (a module that rebinds a buffer in ``forward`` gets the original back);
- the data loaders' own shuffling state: the ``torch.Generator`` of a ``DataLoader``, of its
  sampler and of its batch sampler's sampler, and ``state_dict()`` of a loader that has one
  (``torchdata``'s ``StatefulDataLoader``, cyclr's MNIST-1D loader).

Tensor copies live on the CPU (``storage="cpu"``, never doubling accelerator memory) or in a file
(``storage="disk"``). :meth:`TrainingState.restore` writes them back in place with ``copy_``,
so tensor identity (and therefore the optimizer's references to its parameters) is preserved and
the values are bitwise identical to the snapshot.
"""

from __future__ import annotations

import contextlib
import copy
import os
import signal
import tempfile
import threading
from collections.abc import Iterable, Iterator
from typing import Any

import torch
from torch import nn

from cyclr.torch._randomness import LoaderState, RngState

__all__ = ["TrainingState"]

STORAGES = ("cpu", "disk")


class _Blob:
    """Placeholder for a snapshotted tensor: its index in the blob list and where it lived."""

    __slots__ = ("device", "key")

    def __init__(self, key: int, device: torch.device) -> None:
        self.key = key
        self.device = device


def _unique(tensors: Iterable[torch.Tensor]) -> list[torch.Tensor]:
    seen: set[int] = set()
    out = []
    for t in tensors:
        if id(t) not in seen:
            seen.add(id(t))
            out.append(t)
    return out


class TrainingState:
    """A restorable snapshot of a training setup (see the module docstring for what it holds).

    Args:
        modules: the model (and, e.g., a loss function that is an ``nn.Module``).
        optimizer: the optimizer; its parameters are snapshotted even if outside ``modules``.
        scheduler: an LR scheduler (anything with ``state_dict``/``load_state_dict``), or None.
        scaler: a ``torch.amp.GradScaler`` (or any object with ``state_dict``/
            ``load_state_dict``), or None.
        storage: ``"cpu"`` (default) keeps tensor copies in host memory; ``"disk"`` writes them
            to a temporary file in ``directory`` and reads them back (memory-mapped) on restore.
        directory: where the ``"disk"`` snapshot file goes (default: the system temp dir).
        loaders: data loaders whose shuffling state is restored too (``None`` entries are
            skipped).

    Example:
        >>> from cyclr.torch._snapshot import TrainingState
        >>> model = torch.nn.Linear(3, 1)
        >>> opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        >>> before = model.weight.clone()
        >>> state = TrainingState([model], opt)
        >>> model(torch.randn(4, 3)).sum().backward(); opt.step()
        >>> state.restore(); state.close()
        >>> torch.equal(model.weight, before), len(opt.state)
        (True, 0)
    """

    def __init__(
        self,
        modules: Iterable[nn.Module],
        optimizer: torch.optim.Optimizer,
        *,
        scheduler: Any = None,
        scaler: Any = None,
        storage: str = "cpu",
        directory: str | os.PathLike[str] | None = None,
        loaders: Iterable[Any] = (),
    ) -> None:
        if storage not in STORAGES:
            raise ValueError(f"snapshot must be one of {STORAGES}, got {storage!r}")
        self._storage = storage
        self._blobs: list[torch.Tensor] | None = []
        self._path: str | None = None
        modules = list(modules)
        self._optimizer = optimizer
        self._scheduler = scheduler
        self._scaler = scaler

        # RNG first: nothing below draws random numbers, but keep the order obvious.
        self._rng = RngState()
        self._loaders = LoaderState(loaders)

        self._modes = [(m, m.training) for root in modules for m in root.modules()]
        # Which tensor each module holds under each name, so that a buffer or parameter the
        # module rebinds (``self.steps = self.steps + 1``) or adds gets its original back.
        self._slots = [
            (m, dict(m._parameters), dict(m._buffers)) for root in modules for m in root.modules()
        ]

        opt_params = [p for g in optimizer.param_groups for p in g["params"]]
        params = _unique([p for m in modules for p in m.parameters()] + opt_params)
        buffers = _unique(b for m in modules for b in m.buffers())
        self._tensors = [(t, self._keep(t)) for t in params + buffers]
        self._grads = [(p, None if p.grad is None else self._keep(p.grad)) for p in params]

        self._opt_params = opt_params
        index = {id(p): i for i, p in enumerate(opt_params)}
        self._opt_state: dict[int, dict[str, Any]] = {}
        self._foreign_state_keys = [k for k in optimizer.state if id(k) not in index]
        for p, st in optimizer.state.items():
            if id(p) in index:
                self._opt_state[index[id(p)]] = {k: self._value(v) for k, v in st.items()}
        self._groups = [
            {k: self._value(v) for k, v in g.items() if k != "params"}
            for g in optimizer.param_groups
        ]
        self._opt_extra = {
            k: optimizer.__dict__[k] for k in ("_opt_called",) if k in optimizer.__dict__
        }

        self._sched = None if scheduler is None else copy.deepcopy(scheduler.state_dict())
        self._scaler_attrs: dict[str, Any] | None = None
        self._scaler_sd: dict[str, Any] | None = None
        if scaler is not None:
            if isinstance(scaler, torch.amp.GradScaler):
                self._scaler_attrs = {k: self._value(v) for k, v in vars(scaler).items()}
            else:
                self._scaler_sd = copy.deepcopy(scaler.state_dict())

        if storage == "disk":
            fd, self._path = tempfile.mkstemp(prefix="cyclr-snapshot-", suffix=".pt", dir=directory)
            os.close(fd)
            torch.save(self._blobs, self._path)
            self._blobs = None

    # -- capture -----------------------------------------------------------------------------
    def _keep(self, t: torch.Tensor) -> _Blob:
        if self._blobs is None:
            raise RuntimeError("snapshot is already stored")
        t = t.detach()
        # On disk, torch.save copies device storages itself: no host copy of the whole model.
        kept = t if self._storage == "disk" else t.to("cpu", copy=True)
        self._blobs.append(kept)
        return _Blob(len(self._blobs) - 1, t.device)

    def _value(self, v: Any) -> Any:
        if isinstance(v, torch.Tensor):
            return self._keep(v)
        if isinstance(v, dict):
            return _MappedDict(v, self._value)
        if type(v) in (tuple, list) and any(isinstance(x, torch.Tensor) for x in v):
            return _Items(v, self._value)
        return copy.deepcopy(v)

    # -- restore -----------------------------------------------------------------------------
    def restore(self) -> None:
        """Write the snapshot back (bitwise), in place where shapes and dtypes allow.

        On the main thread a Ctrl-C that arrives meanwhile waits until everything is back,
        then raises ``KeyboardInterrupt``: a second interrupt never leaves a half-restored model.
        """
        with _sigint_deferred():
            self.restore_tensors(self._load_blobs())

    def restore_tensors(self, blobs: list[torch.Tensor]) -> None:
        """The restore itself (see :meth:`restore`), from the snapshot's tensor copies."""
        put = _Writer(blobs)
        self._restore_slots()
        with torch.no_grad():
            for t, b in self._tensors:
                t.copy_(blobs[b.key])
        for p, g in self._grads:
            if g is None:
                p.grad = None
            else:
                p.grad = put(p.grad, g)
        # The scheduler first: loading its state may write its LR into the optimizer, and the
        # param groups restored next must have the last word (an LR set by hand stays).
        if self._scheduler is not None:
            self._scheduler.load_state_dict(copy.deepcopy(self._sched))
        self._restore_optimizer(put)
        self._restore_scaler(put)
        for m, mode in self._modes:
            m.training = mode
        self._loaders.restore()
        self._rng.restore()

    def _restore_slots(self) -> None:
        """Give every module back the tensor it held under each parameter and buffer name."""
        for m, params, buffers in self._slots:
            slots: tuple[tuple[dict[str, Any], dict[str, Any]], ...] = (
                (m._parameters, params),
                (m._buffers, buffers),
            )
            for held, kept in slots:
                for name in [name for name in held if name not in kept]:
                    del held[name]
                for name, tensor in kept.items():
                    if held.get(name) is not tensor:
                        held[name] = tensor

    def _restore_optimizer(self, put: _Writer) -> None:
        """The param groups, the per-parameter state and the optimizer's own flags."""
        opt = self._optimizer
        groups = opt.param_groups
        del groups[len(self._groups) :]
        for live, saved in zip(groups, self._groups):
            for k in [k for k in live if k != "params" and k not in saved]:
                del live[k]
            for k, v in saved.items():
                live[k] = put(live.get(k), v)
        opt_params = self._opt_params
        keep = {id(opt_params[i]) for i in self._opt_state}
        keep |= {id(k) for k in self._foreign_state_keys}
        for key in [key for key in opt.state if id(key) not in keep]:
            del opt.state[key]
        for i, saved_st in self._opt_state.items():
            p = opt_params[i]
            live_st = opt.state[p] if p in opt.state else {}
            new_st = {k: put(live_st.get(k), v) for k, v in saved_st.items()}
            live_st.clear()
            live_st.update(new_st)
            opt.state[p] = live_st
        for k in ("_opt_called",):
            if k in self._opt_extra:
                opt.__dict__[k] = self._opt_extra[k]
            else:
                opt.__dict__.pop(k, None)

    def _restore_scaler(self, put: _Writer) -> None:
        if self._scaler_attrs is not None:
            live_attrs = vars(self._scaler)
            for k in [k for k in live_attrs if k not in self._scaler_attrs]:
                del live_attrs[k]
            for k, v in self._scaler_attrs.items():
                live_attrs[k] = put(live_attrs.get(k), v)
        elif self._scaler_sd is not None:
            self._scaler.load_state_dict(copy.deepcopy(self._scaler_sd))

    def _load_blobs(self) -> list[torch.Tensor]:
        if self._blobs is not None:
            return self._blobs
        if self._path is None:
            raise RuntimeError("snapshot was closed")
        return torch.load(self._path, map_location="cpu", weights_only=True, mmap=True)

    def close(self) -> None:
        """Free the snapshot (and delete its file, if any)."""
        self._blobs = None
        if self._path is not None:
            try:
                os.remove(self._path)
            except FileNotFoundError:
                pass
            self._path = None

    def __enter__(self) -> TrainingState:
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self.restore()
        finally:
            self.close()


class _MappedDict:
    """A dict snapshot whose values may hold tensor blobs (e.g. GradScaler's per-device state)."""

    __slots__ = ("factory", "items")

    def __init__(self, d: dict[Any, Any], keep: Any) -> None:
        self.factory = d.default_factory if hasattr(d, "default_factory") else None
        self.items = [(k, keep(v)) for k, v in d.items()]

    def rebuild(self, value: Any) -> dict[Any, Any]:
        from collections import defaultdict

        out: dict[Any, Any] = defaultdict(self.factory) if self.factory else {}
        for k, v in self.items:
            out[k] = value(v)
        return out


class _Items:
    """A tuple or list snapshot that holds tensors (Adam's tensor ``betas``), item by item."""

    __slots__ = ("items", "kind")

    def __init__(self, seq: tuple[Any, ...] | list[Any], keep: Any) -> None:
        self.kind = type(seq)
        self.items = [keep(x) for x in seq]

    def rebuild(self, value: Any) -> tuple[Any, ...] | list[Any]:
        return self.kind(value(x) for x in self.items)


class _Writer:
    """Writes snapshot values back: ``writer(live, v)`` restores ``v`` into ``live`` in place
    when possible and returns the value to store."""

    __slots__ = ("blobs",)

    def __init__(self, blobs: list[torch.Tensor]) -> None:
        self.blobs = blobs

    def value(self, v: Any) -> Any:
        """A fresh copy of the snapshot value ``v``."""
        if isinstance(v, _Blob):
            return self.blobs[v.key].to(v.device, copy=True)
        if isinstance(v, (_MappedDict, _Items)):
            return v.rebuild(self.value)
        return copy.deepcopy(v)

    def __call__(self, live: Any, v: Any) -> Any:
        blobs = self.blobs
        if (
            isinstance(v, _Blob)
            and isinstance(live, torch.Tensor)
            and live.shape == blobs[v.key].shape
            and live.dtype == blobs[v.key].dtype
            and live.device == v.device
        ):
            with torch.no_grad():
                live.copy_(blobs[v.key])
            return live
        if isinstance(v, _Items) and type(live) is v.kind and len(live) == len(v.items):
            items = [self(x, y) for x, y in zip(live, v.items)]
            same = all(a is b for a, b in zip(items, live))
            return live if same else v.kind(items)
        return self.value(v)


@contextlib.contextmanager
def _sigint_deferred() -> Iterator[None]:
    """Hold back SIGINT (on the main thread) until the block ends, then raise it."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[object] = []
    try:
        previous = signal.signal(signal.SIGINT, lambda *args: received.append(args))
    except ValueError:  # not the main interpreter
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if received:
        raise KeyboardInterrupt
