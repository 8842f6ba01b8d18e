"""The LR range test (Smith 2015, §3.3) and the two-stage bounds on a LightningModule.

:func:`range_test` and :func:`find_bounds` run :func:`cyclr.torch.range_test` (and
:func:`cyclr.torch.find_bounds`) outside ``trainer.fit``, with ``loss_of_batch`` calling the
module's ``training_step``; :func:`fit_arguments` gives the same arguments inside ``fit`` (for
:class:`cyclr.lightning.AutoScheduleCallback`), where the Trainer's strategy runs ``training_step``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import lightning.pytorch as pl
from lightning.pytorch.utilities.model_helpers import is_overridden

from cyclr.lightning._glue import (
    TrainingStepLoss,
    attached,
    batch_hooks,
    check_module,
    check_options,
    one_loader,
    one_scheduler,
    precision_settings,
    quiet_logging,
    split_optimizers,
)
from cyclr.range_test.recipe import refuse_single_ramp
from cyclr.range_test.result import RangeTestResult
from cyclr.torch import FoundBounds, RngState
from cyclr.torch import find_bounds as torch_find_bounds
from cyclr.torch import range_test as torch_range_test

__all__ = ["find_bounds", "fit_arguments", "range_test"]

Arguments = tuple[tuple[Any, ...], dict[str, Any]]
_T = TypeVar("_T")
#: What range_test and find_bounds are given: ``(trainer, model, datamodule, train, val)``.
_Setup = tuple[Any, Any, Any, Any, Any]


def range_test(
    trainer: pl.Trainer,
    model: pl.LightningModule,
    *,
    datamodule: pl.LightningDataModule | None = None,
    train_dataloaders: Any = None,
    val_dataloaders: Any = None,
    **options: Any,
) -> RangeTestResult:
    """Run cyclr's LR range test on a LightningModule; restore it, its optimizer and the RNGs.

    One ramp of :func:`cyclr.torch.range_test` (by default exponential, 100 updates over
    ``1e-7 → 10``), the loss of each batch being what ``model.training_step(batch, batch_idx)``
    returns (a tensor, or a dict's ``"loss"``). The optimizer comes from
    ``configure_optimizers()`` (or the Trainer's, after ``fit``); the device, accumulation and
    precision from the Trainer; the data as ``trainer.fit`` picks it. docs/range_test.md says
    what is taken from where. The two-stage test is :func:`find_bounds`.

    Args:
        trainer: a ``lightning.pytorch.Trainer``.
        model: a ``LightningModule`` with automatic optimization.
        datamodule, train_dataloaders, val_dataloaders: the data, as for ``trainer.fit``.
        **options: :func:`cyclr.torch.range_test`'s options (``num_iter``, ``start_lr``,
            ``end_lr``, ``mode``, ``metric``, ``seed``, ``val_every``, ``diverge``, ...), and
            ``loss_of_batch=fn(module, batch)`` to use instead of ``training_step`` (e.g. one
            that returns ``(loss, output, target)`` so accuracy is recorded).

    Returns:
        A :class:`cyclr.RangeTestResult`.

    Raises:
        TypeError, ValueError: a bad argument, an option the Trainer or module sets (``device``,
            ``accumulation_steps``, ...), manual optimization, or a precision other than
            ``"bf16-mixed"``, ``"16-mixed"`` and ``"32-true"``; before the first update.

    Example:
        >>> import lightning.pytorch as pl, cyclr.lightning
        >>> class Net(pl.LightningModule):
        ...     def __init__(self):
        ...         super().__init__()
        ...         self.layer = torch.nn.Linear(4, 2)
        ...     def training_step(self, batch, batch_idx):
        ...         x, y = batch
        ...         return torch.nn.functional.cross_entropy(self.layer(x), y)
        ...     def configure_optimizers(self):
        ...         return torch.optim.SGD(self.parameters(), lr=0.1, momentum=0.9)
        >>> g = torch.Generator().manual_seed(0)
        >>> x = torch.randn(128, 4, generator=g)
        >>> data = torch.utils.data.TensorDataset(x, (x[:, 0] > 0).long())
        >>> loader = torch.utils.data.DataLoader(data, batch_size=16)
        >>> trainer = pl.Trainer(accelerator="cpu", logger=False, enable_progress_bar=False,
        ...                      enable_model_summary=False, enable_checkpointing=False)
        >>> r = cyclr.lightning.range_test(trainer, Net(), train_dataloaders=loader,
        ...                                num_iter=20, progress=False, seed=0)
        >>> len(r), r.config["loss_of_batch"]
        (20, 'Net.training_step')
    """
    return _run_outside_fit(
        torch_range_test,
        "cyclr.lightning.range_test",
        (trainer, model, datamodule, train_dataloaders, val_dataloaders),
        options,
    )


def find_bounds(
    trainer: pl.Trainer,
    model: pl.LightningModule,
    *,
    datamodule: pl.LightningDataModule | None = None,
    train_dataloaders: Any = None,
    val_dataloaders: Any = None,
    **options: Any,
) -> FoundBounds:
    """The two-stage range test (Smith 2015, §3.3) and both CLR bounds, on a LightningModule.

    :func:`cyclr.torch.find_bounds` (a coarse exponential ramp, then the paper's linear ramp up
    to where the loss blew up, read by :func:`cyclr.suggest.suggest`) with the module, data and
    Trainer settings of :func:`range_test`; everything is restored after each test.

    Args:
        trainer, model, datamodule, train_dataloaders, val_dataloaders: as for
            :func:`range_test`.
        **options: :func:`cyclr.torch.find_bounds`'s (``method``, ``coarse_iter``,
            ``linear_iter``, ``suggest_kwargs``, ``on_test``) and
            :func:`cyclr.torch.range_test`'s options, but not the ramp's (``num_iter``,
            ``start_lr``, ``end_lr``, ``mode``: a ``TypeError``).

    Returns:
        A :class:`cyclr.torch.FoundBounds`: ``.bounds`` and ``.tests``.

    Example:
        >>> import lightning.pytorch as pl, cyclr.lightning
        >>> class Net(pl.LightningModule):
        ...     def __init__(self):
        ...         super().__init__()
        ...         torch.manual_seed(0)
        ...         self.layer = torch.nn.Sequential(torch.nn.Linear(4, 16), torch.nn.ReLU(),
        ...                                          torch.nn.Linear(16, 2))
        ...     def training_step(self, batch, batch_idx):
        ...         x, y = batch
        ...         return torch.nn.functional.cross_entropy(self.layer(x), y)
        ...     def configure_optimizers(self):
        ...         return torch.optim.SGD(self.parameters(), lr=0.1, momentum=0.9)
        >>> g = torch.Generator().manual_seed(0)
        >>> x = torch.randn(512, 4, generator=g)
        >>> data = torch.utils.data.TensorDataset(x, (x[:, 0] + x[:, 1] > 0).long())
        >>> loader = torch.utils.data.DataLoader(data, batch_size=32)
        >>> trainer = pl.Trainer(accelerator="cpu", logger=False, enable_progress_bar=False,
        ...                      enable_model_summary=False, enable_checkpointing=False)
        >>> found = cyclr.lightning.find_bounds(trainer, Net(), train_dataloaders=loader,
        ...                                    coarse_iter=40, linear_iter=100, progress=False,
        ...                                    seed=0)
        >>> [t.mode for t in found.tests], 0 < found.bounds.base_lr < found.bounds.max_lr
        (['exp', 'linear'], True)
    """
    refuse_single_ramp(options, "cyclr.lightning.find_bounds()", "cyclr.lightning.range_test()")
    return _run_outside_fit(
        torch_find_bounds,
        "cyclr.lightning.find_bounds",
        (trainer, model, datamodule, train_dataloaders, val_dataloaders),
        options,
    )


def _run_outside_fit(
    loop: Callable[..., _T], where: str, setup: _Setup, options: dict[str, Any]
) -> _T:
    """``loop`` (:func:`cyclr.torch.range_test` or :func:`cyclr.torch.find_bounds`) on the
    module outside ``trainer.fit``; ``setup`` is ``(trainer, model, datamodule, train, val)``
    and ``where`` the name an option the adapter sets is refused under."""
    check_options(options, where)
    with _outside_fit(*setup, options) as (args, kw):
        return loop(*args, **kw)


@contextlib.contextmanager
def _outside_fit(
    trainer: Any,
    model: Any,
    datamodule: Any,
    train: Any,
    val: Any,
    options: dict[str, Any],
) -> Iterator[Arguments]:
    """The arguments of :func:`cyclr.torch.range_test` for ``model`` outside ``trainer.fit``;
    meanwhile ``model.trainer`` is ``trainer`` and ``model.optimizers()`` the test's optimizer.
    The RNG states (which ``setup`` or ``configure_optimizers`` may draw from) are put back
    after."""
    module = check_module(trainer, model)
    if datamodule is not None:
        if not isinstance(datamodule, pl.LightningDataModule):
            raise TypeError(
                f"datamodule must be a LightningDataModule, got {type(datamodule).__name__}"
            )
        if train is not None:
            raise TypeError("give datamodule or train_dataloaders, not both")
    rng = RngState()
    previous_trainer = None if datamodule is None else datamodule.trainer
    try:
        if datamodule is not None:
            datamodule.trainer = trainer
            datamodule.prepare_data()
            datamodule.setup("fit")
        train, val = _data(module, datamodule, train, val)
        device = trainer.strategy.root_device
        module.to(device)
        if trainer.lightning_module is module and trainer.optimizers:  # after trainer.fit(model)
            optimizer, schedulers = split_optimizers(trainer.optimizers, "the Trainer")
            schedulers = [c.scheduler for c in trainer.lr_scheduler_configs]
        else:
            optimizer, schedulers = split_optimizers(module.configure_optimizers())
        autocast, scaler = precision_settings(trainer)
        loss = TrainingStepLoss(
            module,
            module.training_step,
            batch_hooks(module, datamodule, device),
            options.pop("loss_of_batch", None),
        )
        arguments = _arguments(
            trainer, module, optimizer, schedulers, (train, val), loss, options, scaler, autocast
        )
        with attached(trainer, module, optimizer), quiet_logging(module):
            yield arguments
    finally:
        if datamodule is not None:
            datamodule.trainer = previous_trainer
        rng.restore()


def _data(module: pl.LightningModule, datamodule: Any, train: Any, val: Any) -> tuple[Any, Any]:
    """The training and validation dataloaders, as ``trainer.fit`` would pick them."""
    source: Any = datamodule
    if datamodule is None and train is None:
        if not is_overridden("train_dataloader", module, pl.LightningModule):
            raise TypeError(
                f"no training data: pass train_dataloaders= or datamodule=, or define "
                f"train_dataloader() on {type(module).__name__}"
            )
        source = module
    if source is not None:
        train = source.train_dataloader()
        base = pl.LightningDataModule if source is datamodule else pl.LightningModule
        if val is None and is_overridden("val_dataloader", source, base):
            val = source.val_dataloader()
    train = one_loader(train, "train_dataloaders")
    val = None if val is None else one_loader(val, "val_dataloaders")
    return train, val


def fit_arguments(
    trainer: pl.Trainer, module: pl.LightningModule, options: dict[str, Any], validate: bool
) -> Arguments:
    """The arguments of :func:`cyclr.torch.range_test` inside ``trainer.fit`` (at fit start).

    The Trainer's optimizer, schedulers (restored, not stepped), train dataloader (and, with
    ``validate``, its validation dataloader when it validates), device and accumulation; the
    strategy runs ``training_step`` (its precision plugin autocasts; the GradScaler is the
    Trainer's). Call it inside :func:`quiet_logging`.
    """
    check_module(trainer, module)
    options = dict(options)
    optimizer, _ = split_optimizers(trainer.optimizers, "the Trainer")
    trainer.fit_loop.setup_data()
    train = one_loader(trainer.train_dataloader, "the Trainer's train dataloader")
    if train is None:
        raise ValueError("the Trainer has no training batches (limit_train_batches=0?)")
    val = None
    val_loop = trainer.fit_loop.epoch_loop.val_loop
    source = getattr(val_loop, "_data_source", None)  # what Lightning checks before validating
    if validate and (source is None or source.is_defined()):
        val_loop.setup_data()
        loaders = trainer.val_dataloaders
        val = None if loaders is None else one_loader(loaders, "the Trainer's val dataloaders")
    strategy = trainer.strategy
    device = strategy.root_device
    user = options.pop("loss_of_batch", None)
    loss = TrainingStepLoss(
        module,
        strategy.training_step,
        lambda batch: strategy.batch_to_device(batch, device, 0),
        user,
        context=None if user is None else trainer.precision_plugin.train_step_context,
    )
    schedulers = [c.scheduler for c in trainer.lr_scheduler_configs]
    return _arguments(
        trainer, module, optimizer, schedulers, (train, val), loss, options, trainer.scaler, False
    )


def _arguments(
    trainer: Any,
    module: Any,
    optimizer: Any,
    schedulers: list[Any],
    loaders: tuple[Any, Any],
    loss: TrainingStepLoss,
    options: dict[str, Any],
    scaler: Any,
    autocast_dtype: Any,
) -> Arguments:
    """:func:`cyclr.torch.range_test`'s arguments: ``loss`` as ``loss_of_batch``, the training
    and validation ``loaders``, the Trainer's device and accumulation, and ``options``."""
    train, val = loaders
    kw = dict(
        options,
        loss_of_batch=loss,
        val_loader=val,
        device=trainer.strategy.root_device,
        accumulation_steps=trainer.accumulate_grad_batches,
        scaler=scaler,
        autocast_dtype=autocast_dtype,
        scheduler=one_scheduler(schedulers),
    )
    return (module, optimizer, None, train), kw
