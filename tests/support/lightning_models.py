"""LightningModules, a datamodule and a Trainer factory for the Lightning tests.

Data: locally generated MNIST-1D (``tests.support.models``); models small enough for one CPU.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import pytest

torch = pytest.importorskip("torch")
pl = pytest.importorskip("lightning.pytorch", reason="needs the lightning extra")

from tests.support.models import bn_cnn, mnist1d  # noqa: E402
from tests.support.probes import Boom  # noqa: E402
from torch import nn  # noqa: E402

CE = nn.functional.cross_entropy

#: What configure_optimizers returns, in each form Lightning accepts.
FORMS = ["optimizer", "list", "dict", "dict+scheduler", "lists", "list_of_dicts"]


class Classifier(pl.LightningModule):
    """A BN CNN on MNIST-1D whose training_step logs, reads its LR and may fail on demand.

    ``configure_optimizers`` returns the same SGD optimizer every time (so its momentum buffers
    carry over, as in the middle of training), in the form ``form``.
    """

    def __init__(
        self,
        form: str = "optimizer",
        seed: int = 1,
        fail_after: int | None = None,
        fail_with: type[BaseException] = Boom,
    ) -> None:
        super().__init__()
        self.net = bn_cnn(seed=seed)
        self.form = form
        self.fail_after = fail_after
        self.fail_with = fail_with
        self.calls = 0
        self.step_lrs: list[float] = []  # the LR training_step saw through self.optimizers()
        self.autocast: list[bool] = []
        self.batch_lrs: list[tuple[int, float, float]] = []  # (step, lr, momentum) in training
        self._opt: torch.optim.Optimizer | None = None
        self._sched: Any = None

    def forward(self, x):
        return self.net(x)

    def training_step(self, batch, batch_idx):
        self.calls += 1
        if self.fail_after is not None and self.calls > self.fail_after:
            raise self.fail_with("training_step exploded")
        x, y = batch
        out = self(x)
        self.autocast.append(torch.is_autocast_enabled("cpu"))
        loss = CE(out, y)
        self.step_lrs.append(float(self.optimizers().param_groups[0]["lr"]))
        self.log("train_loss", loss)
        self.log_dict({"acc": (out.argmax(1) == y).float().mean()})
        return {"loss": loss} if self.form.startswith("dict") else loss

    def validation_step(self, batch, batch_idx):
        x, y = batch
        self.log("val_loss", CE(self(x), y))

    def on_train_batch_start(self, batch, batch_idx):
        group = self.trainer.optimizers[0].param_groups[0]
        self.batch_lrs.append((self.global_step, group["lr"], group["momentum"]))

    def optimizer(self) -> torch.optim.Optimizer:
        if self._opt is None:
            self._opt = torch.optim.SGD(self.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)
            self._sched = torch.optim.lr_scheduler.StepLR(self._opt, step_size=5, gamma=0.5)
        return self._opt

    def configure_optimizers(self):
        opt = self.optimizer()
        form, sched = self.form, self._sched
        if form == "optimizer":
            return opt
        if form == "list":
            return [opt]
        if form == "dict":
            return {"optimizer": opt}
        if form == "dict+scheduler":
            return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}
        if form == "lists":
            return [opt], [sched]
        if form == "list_of_dicts":
            return [{"optimizer": opt, "lr_scheduler": sched}]
        raise AssertionError(form)


class MNIST1D(pl.LightningDataModule):
    """MNIST-1D with a random train/val split drawn from torch's global RNG in setup()."""

    def __init__(self, batch_size: int = 50) -> None:
        super().__init__()
        self.batch_size = batch_size
        self.setups: list[str] = []

    def setup(self, stage: str) -> None:
        self.setups.append(stage)
        x, y = mnist1d()
        data = torch.utils.data.TensorDataset(x[:1500], y[:1500])
        self.train_set, self.val_set = torch.utils.data.random_split(data, [1200, 300])

    def train_dataloader(self):
        return torch.utils.data.DataLoader(self.train_set, self.batch_size, shuffle=True)

    def val_dataloader(self):
        return torch.utils.data.DataLoader(self.val_set, self.batch_size)


def train_loader(batch_size: int = 50, n: int = 1200, shuffle: bool = True):
    x, y = mnist1d()
    data = torch.utils.data.TensorDataset(x[:n], y[:n])
    return torch.utils.data.DataLoader(data, batch_size, shuffle=shuffle)


def trainer(tmp_path: Path | None = None, **kw: Any) -> Any:
    options: dict[str, Any] = dict(
        accelerator="cpu",
        devices=1,
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        enable_checkpointing=False,
        num_sanity_val_steps=0,
    )
    if tmp_path is not None:
        options["default_root_dir"] = tmp_path
    if kw.get("precision") == "16-mixed":  # on the CPU, Lightning would switch to bf16-mixed
        from lightning.pytorch.plugins import MixedPrecision

        kw.pop("precision")
        options["plugins"] = [MixedPrecision("16-mixed", "cpu")]
    options.update(kw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pl.Trainer(**options)


def warm_up(module: Classifier, steps: int = 5) -> None:
    """A few plain SGD steps, so the optimizer holds momentum: 'mid-training'."""
    opt = module.optimizer()
    x, y = mnist1d()
    module.train()
    for i in range(steps):
        opt.zero_grad()
        CE(module(x[i * 32 : (i + 1) * 32]), y[i * 32 : (i + 1) * 32]).backward()
        opt.step()
    for _ in range(3):
        module._sched.step()
