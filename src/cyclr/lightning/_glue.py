"""What cyclr's range test takes from a LightningModule and its Trainer.

The loss of a batch is ``training_step(batch, batch_idx)`` (a tensor, or a dict with ``"loss"``);
the optimizer comes from ``configure_optimizers()`` in any of the forms Lightning accepts; the
device, precision and ``accumulate_grad_batches`` from the Trainer. The range test itself is
:func:`cyclr.torch.range_test` (Smith 2015, §3.3), run with ``loss_of_batch``.
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import lightning.pytorch as pl
import torch
from lightning.pytorch.utilities.model_helpers import is_overridden

__all__ = [
    "ADAPTER_OPTIONS",
    "Schedulers",
    "TrainingStepLoss",
    "attached",
    "batch_hooks",
    "check_module",
    "check_options",
    "one_loader",
    "one_scheduler",
    "precision_settings",
    "quiet_logging",
    "split_optimizers",
    "step_loss",
]

#: range_test options the adapter sets from the Trainer and the module, so they cannot be given.
ADAPTER_OPTIONS = {
    "loss_fn": "the loss comes from the module's training_step (or loss_of_batch=)",
    "train_loader": "pass train_dataloaders= or datamodule=",
    "val_loader": "pass val_dataloaders= or datamodule=",
    "device": "the device is the Trainer's (accelerator=, devices=)",
    "accumulation_steps": "set accumulate_grad_batches on the Trainer",
    "scaler": "the GradScaler is the Trainer's (precision='16-mixed')",
    "autocast_dtype": "autocast follows the Trainer's precision",
    "scheduler": "the LR schedulers come from configure_optimizers()",
    "batch_fn": "training_step gets each batch as the loader yields it",
}


def check_module(trainer: Any, model: Any) -> pl.LightningModule:
    """``model`` as a LightningModule with automatic optimization, and ``trainer`` a Trainer."""
    if not isinstance(trainer, pl.Trainer):
        raise TypeError(
            f"trainer must be a lightning.pytorch.Trainer, got {type(trainer).__name__}"
        )
    if not isinstance(model, pl.LightningModule):
        raise TypeError(
            f"model must be a lightning.pytorch.LightningModule, got {type(model).__name__}"
        )
    if not model.automatic_optimization:
        raise ValueError(
            f"{type(model).__name__} uses manual optimization (automatic_optimization=False): its "
            "training_step steps the optimizer itself, so the range test cannot set the LR of "
            "each update; pass loss_of_batch=fn(module, batch) returning the loss instead"
        )
    return model


def check_options(options: Mapping[str, Any], where: str) -> None:
    """Refuse the range-test options the adapter sets itself, naming where they come from."""
    for name, instead in ADAPTER_OPTIONS.items():
        if name in options:
            raise TypeError(f"{where} does not take {name}={options[name]!r}: {instead}")


def split_optimizers(returned: Any, owner: str = "configure_optimizers()") -> tuple[Any, list[Any]]:
    """The optimizer and the LR schedulers in what ``configure_optimizers()`` returned.

    The forms Lightning accepts: an optimizer; a list or tuple of optimizers; a pair of lists
    ``([optimizers], [schedulers])``; a dict ``{"optimizer": ..., "lr_scheduler": ...}`` (a
    scheduler, or a dict with ``"scheduler"``); a list of such dicts. There must be exactly one
    optimizer (Lightning's automatic optimization steps one).

    Example:
        >>> opt = torch.optim.SGD(torch.nn.Linear(2, 1).parameters(), lr=0.1)
        >>> sched = torch.optim.lr_scheduler.StepLR(opt, 10)
        >>> for returned in (opt, [opt], ([opt], [sched]), {"optimizer": opt},
        ...                  {"optimizer": opt, "lr_scheduler": {"scheduler": sched}}):
        ...     got, schedulers = split_optimizers(returned)
        ...     assert got is opt and schedulers in ([], [sched])
    """

    def scheduler(x: Any) -> Any:
        if isinstance(x, Mapping):
            if "scheduler" not in x:
                raise TypeError(
                    f"{owner} returned an lr_scheduler dict without 'scheduler': {sorted(x)}"
                )
            return x["scheduler"]
        return x

    optimizers: list[Any]
    schedulers: list[Any] = []
    if isinstance(returned, Mapping):
        optimizers = [returned.get("optimizer")]
        if returned.get("lr_scheduler") is not None:
            schedulers = [scheduler(returned["lr_scheduler"])]
    elif (
        isinstance(returned, (list, tuple))
        and len(returned) == 2
        and isinstance(returned[0], (list, tuple))
    ):
        optimizers = list(returned[0])
        second = returned[1]
        schedulers = [
            scheduler(s) for s in (second if isinstance(second, (list, tuple)) else [second])
        ]
    elif (
        isinstance(returned, (list, tuple))
        and returned
        and all(isinstance(x, Mapping) for x in returned)
    ):
        optimizers, schedulers = [], []
        for d in returned:
            opt, found = split_optimizers(d, owner)
            optimizers.append(opt)
            schedulers += found
    elif isinstance(returned, (list, tuple)):
        optimizers = list(returned)
    else:
        optimizers = [returned]
    optimizers = [getattr(o, "_optimizer", o) for o in optimizers]  # a LightningOptimizer's own
    if len(optimizers) != 1:
        raise ValueError(
            f"{owner} returned {len(optimizers)} optimizers; the range test drives one "
            "(Lightning's automatic optimization steps one optimizer)"
        )
    if not isinstance(optimizers[0], torch.optim.Optimizer):
        raise TypeError(
            f"{owner} must return a torch.optim.Optimizer (or a list, tuple or dict holding one), "
            f"got {type(optimizers[0]).__name__}"
        )
    return optimizers[0], [s for s in schedulers if s is not None]


class Schedulers:
    """Several LR schedulers saved and restored as one (``state_dict``/``load_state_dict``)."""

    def __init__(self, schedulers: list[Any]) -> None:
        self.schedulers = schedulers

    def state_dict(self) -> list[Any]:
        return [s.state_dict() for s in self.schedulers]

    def load_state_dict(self, states: list[Any]) -> None:
        for s, state in zip(self.schedulers, states):
            s.load_state_dict(state)


def one_scheduler(schedulers: list[Any]) -> Any:
    """What ``range_test(scheduler=)`` takes: ``None``, the scheduler, or :class:`Schedulers`."""
    if not schedulers:
        return None
    return schedulers[0] if len(schedulers) == 1 else Schedulers(schedulers)


#: Trainer precisions the range test reproduces itself: autocast dtype, and whether to scale.
_PRECISIONS: dict[str, tuple[torch.dtype | None, bool]] = {
    "32-true": (None, False),
    "16-mixed": (torch.float16, True),
    "bf16-mixed": (torch.bfloat16, False),
}


def precision_settings(trainer: pl.Trainer) -> tuple[torch.dtype | bool, Any]:
    """``(autocast_dtype, scaler)`` for :func:`cyclr.torch.range_test` from the Trainer's
    precision: ``"16-mixed"`` autocasts to float16 and uses the Trainer's GradScaler,
    ``"bf16-mixed"`` autocasts to bfloat16, ``"32-true"`` neither."""
    name = str(trainer.precision)
    if name not in _PRECISIONS:
        raise ValueError(
            f"Trainer(precision={name!r}) is not supported outside trainer.fit(): the range test "
            f"reproduces {', '.join(map(repr, _PRECISIONS))}; use the AutoScheduleCallback, "
            "which runs inside fit with the Trainer's own precision plugin"
        )
    dtype, scaled = _PRECISIONS[name]
    return (False if dtype is None else dtype), (trainer.scaler if scaled else None)


def _takes_batch_idx(step: Callable[..., Any]) -> bool:
    """Whether ``training_step`` takes ``batch_idx`` (Lightning passes it when it does)."""
    try:
        params = list(inspect.signature(step).parameters.values())
    except (TypeError, ValueError):
        return True
    if any(p.kind is p.VAR_POSITIONAL for p in params) or any(
        p.name == "batch_idx" for p in params
    ):
        return True
    return len([p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]) >= 2


def step_loss(output: Any, batch_idx: int) -> torch.Tensor:
    """The loss in what ``training_step`` returned: a tensor, or a dict's ``"loss"``.

    Example:
        >>> step_loss({"loss": torch.tensor(0.5), "logits": None}, 0)
        tensor(0.5000)
        >>> step_loss(None, 3)
        Traceback (most recent call last):
        ...
        TypeError: training_step returned None for batch_idx=3 (Lightning skips such a batch); \
the range test needs a loss for every update
    """
    if output is None:
        raise TypeError(
            f"training_step returned None for batch_idx={batch_idx} (Lightning skips such a "
            "batch); the range test needs a loss for every update"
        )
    loss = output.get("loss") if isinstance(output, Mapping) else output
    if not isinstance(loss, torch.Tensor):
        what = "a dict without 'loss'" if isinstance(output, Mapping) else type(output).__name__
        raise TypeError(
            f"training_step must return the loss tensor or a dict with 'loss', got {what}"
        )
    return loss


class TrainingStepLoss:
    """``loss_of_batch`` for :func:`cyclr.torch.range_test`: Lightning's batch transfer hooks,
    then ``step(batch, batch_idx)`` (the module's ``training_step``, or the strategy's inside
    ``fit``), and the loss in what it returned.

    ``batch_idx`` counts the calls (0, 1, ...), micro-batches and validation batches included.
    With ``user`` (the ``loss_of_batch=`` option) that is called instead, ``user(module, batch)``,
    inside ``context()`` when given (the precision plugin's, inside ``fit``).
    """

    def __init__(
        self,
        module: pl.LightningModule,
        step: Callable[..., Any],
        transfer: Callable[[Any], Any],
        user: Callable[[Any, Any], Any] | None = None,
        context: Callable[[], contextlib.AbstractContextManager[Any]] | None = None,
    ) -> None:
        self.module = module
        self.step = step
        self.transfer = transfer
        self.user = user
        self.context = context if context is not None else contextlib.nullcontext
        self.calls = 0
        self.takes_idx = _takes_batch_idx(module.training_step)
        if user is None:
            self.__name__ = f"{type(module).__name__}.training_step"
        else:
            self.__name__ = str(getattr(user, "__name__", type(user).__name__))

    def __call__(self, model: Any, batch: Any) -> Any:
        batch = self.transfer(batch)
        i = self.calls
        self.calls += 1
        if self.user is not None:
            with self.context():
                return self.user(self.module, batch)
        output = self.step(batch, i) if self.takes_idx else self.step(batch)
        return step_loss(output, i)


def batch_hooks(
    module: pl.LightningModule, datamodule: Any, device: torch.device
) -> Callable[[Any], Any]:
    """Lightning's batch transfer: ``on_before_batch_transfer``, ``transfer_batch_to_device``,
    ``on_after_batch_transfer``, each the datamodule's where it overrides it, else the
    module's."""

    def owner(name: str) -> Any:
        if datamodule is not None and is_overridden(name, datamodule, pl.LightningDataModule):
            return datamodule
        return module

    before = owner("on_before_batch_transfer").on_before_batch_transfer
    move = owner("transfer_batch_to_device").transfer_batch_to_device
    after = owner("on_after_batch_transfer").on_after_batch_transfer

    def transfer(batch: Any) -> Any:
        return after(move(before(batch, 0), device, 0), 0)

    return transfer


def one_loader(loaders: Any, name: str) -> Any:
    """A single dataloader; several (a list, tuple or dict of them) are refused."""
    if isinstance(loaders, (list, tuple, Mapping)):
        if len(loaders) == 1:
            return next(iter(loaders.values())) if isinstance(loaders, Mapping) else loaders[0]
        raise TypeError(
            f"{name} holds {len(loaders)} dataloaders; the range test draws from one: pass that one"
        )
    return loaders


def _ignore(*_: Any, **__: Any) -> None:
    """Stands in for ``LightningModule.log`` during the range test."""


@contextlib.contextmanager
def quiet_logging(module: pl.LightningModule) -> Iterator[None]:
    """``self.log`` and ``self.log_dict`` do nothing meanwhile (the range test records its own
    curve; outside the fit loop Lightning would refuse them)."""
    modules = [m for m in module.modules() if isinstance(m, pl.LightningModule)]
    for m in modules:
        m.__dict__["log"] = _ignore
        m.__dict__["log_dict"] = _ignore
    try:
        yield
    finally:
        for m in modules:
            m.__dict__.pop("log", None)
            m.__dict__.pop("log_dict", None)


@contextlib.contextmanager
def attached(trainer: pl.Trainer, module: pl.LightningModule, optimizer: Any) -> Iterator[None]:
    """Outside ``fit``: ``module.trainer`` is ``trainer`` and ``module.optimizers()`` returns
    ``optimizer`` meanwhile; both as they were after."""
    previous = module._trainer
    strategy = trainer.strategy
    optimizers = list(strategy.optimizers)
    module.trainer = trainer
    strategy.optimizers = [optimizer]
    try:
        yield
    finally:
        strategy.optimizers = optimizers
        module.trainer = previous
