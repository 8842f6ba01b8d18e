"""cyclr.torch.CyclicScheduler under Lightning: per-step scheduling and checkpoint/resume.

The recipe: return the scheduler from ``configure_optimizers`` with ``"interval": "step"``, so
Lightning calls ``scheduler.step()`` after every optimizer update::

    def configure_optimizers(self):
        opt = torch.optim.SGD(self.parameters(), lr=0.1, momentum=0.9)
        s = cyclr.OneCycle(max_lr=0.1, total_steps=self.trainer.max_steps)
        sched = CyclicScheduler(opt, s, momentum=True)
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}

Lightning saves ``scheduler.state_dict()`` (plain data) in its checkpoints and restores it on
``fit(ckpt_path=...)``, so a resumed run continues the same LR and momentum trajectory.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

import cyclr

torch = pytest.importorskip("torch")
try:
    import lightning.pytorch as pl
except ImportError:
    pl = pytest.importorskip(
        "pytorch_lightning", reason="needs Lightning: pip install lightning (or pytorch-lightning)"
    )

from cyclr.torch import CyclicScheduler  # noqa: E402

pytestmark = [
    pytest.mark.filterwarnings("ignore::UserWarning"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
]

BATCHES_PER_EPOCH = 4
TOTAL = 24
SCHEDULE = cyclr.OneCycle.pytorch(0.05, total_steps=TOTAL)


def _loader() -> torch.utils.data.DataLoader:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(BATCHES_PER_EPOCH * 16, 5, generator=g)
    y = x @ torch.tensor([1.0, -2.0, 0.5, 0.0, 3.0]) + 0.1 * torch.randn(len(x), generator=g)
    data = torch.utils.data.TensorDataset(x, y)
    return torch.utils.data.DataLoader(data, batch_size=16, shuffle=False)


class Regressor(pl.LightningModule):
    def __init__(self, schedule: cyclr.Schedule = SCHEDULE) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.net = torch.nn.Linear(5, 1)
        self.schedule = schedule
        self.seen: list[tuple[int, float, float]] = []  # (global_step, lr, momentum) per update

    def training_step(self, batch, batch_idx):
        x, y = batch
        group = self.optimizers().param_groups[0]
        self.seen.append((self.global_step, group["lr"], group["momentum"]))
        return torch.nn.functional.mse_loss(self.net(x).squeeze(-1), y)

    def configure_optimizers(self):
        opt = torch.optim.SGD(self.parameters(), lr=0.1, momentum=0.9)
        sched = CyclicScheduler(opt, self.schedule, momentum=True)
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}


def _trainer(max_steps: int, tmp_path: Path, **kw) -> pl.Trainer:
    return pl.Trainer(
        accelerator="cpu",
        devices=1,
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        max_steps=max_steps,
        default_root_dir=tmp_path,
        **kw,
    )


def _fit(module: Regressor, trainer: pl.Trainer, **kw) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        trainer.fit(module, train_dataloaders=_loader(), **kw)


def test_lr_and_momentum_follow_the_schedule_at_every_step(tmp_path: Path) -> None:
    module = Regressor()
    _fit(module, _trainer(TOTAL, tmp_path, enable_checkpointing=False))
    steps, lrs, moms = map(np.array, zip(*module.seen))
    np.testing.assert_array_equal(steps, np.arange(TOTAL))
    np.testing.assert_array_equal(lrs, SCHEDULE(steps))  # bit-identical to the numpy schedule
    np.testing.assert_array_equal(moms, SCHEDULE.momentum()(steps))
    sched = module.trainer.lr_scheduler_configs[0].scheduler
    assert isinstance(sched, CyclicScheduler) and sched.last_epoch == TOTAL


@pytest.mark.parametrize("stop_at", [2 * BATCHES_PER_EPOCH, 2 * BATCHES_PER_EPOCH + 1])
def test_resume_from_a_lightning_checkpoint_continues_the_same_trajectory(
    tmp_path: Path, stop_at: int
) -> None:
    """Uninterrupted run vs. one stopped at ``stop_at`` (an epoch end, or mid-epoch) and resumed
    from the checkpoint Lightning's ``ModelCheckpoint`` wrote."""
    full = Regressor()
    _fit(full, _trainer(TOTAL, tmp_path / "full", enable_checkpointing=False))

    ckpt = pl.callbacks.ModelCheckpoint(
        dirpath=tmp_path / "ckpt", every_n_train_steps=stop_at, save_top_k=-1
    )
    first = Regressor()
    _fit(first, _trainer(stop_at, tmp_path / "first", callbacks=[ckpt]))
    (path,) = sorted((tmp_path / "ckpt").glob("*.ckpt"))
    state = torch.load(path, weights_only=True)  # plain data: loads without pickled code
    assert state["lr_schedulers"][0]["last_epoch"] == stop_at

    resumed = Regressor()
    _fit(resumed, _trainer(TOTAL, tmp_path / "resumed"), ckpt_path=str(path))
    np.testing.assert_array_equal(np.array(first.seen), np.array(full.seen[:stop_at]))
    np.testing.assert_array_equal(np.array(resumed.seen), np.array(full.seen[stop_at:]))
    if stop_at % BATCHES_PER_EPOCH == 0:
        # Resumed at an epoch end, the batches come in the same order, so the weights match too.
        # (Mid-epoch, Lightning restarts a plain DataLoader's pass: same LRs, other batches.)
        for a, b in zip(full.parameters(), resumed.parameters()):
            torch.testing.assert_close(a, b, rtol=0, atol=0)
