"""``cyclr.lightning.OnlineScheduleCallback``: the bounds read from the fit's own warm-up, the
loss of every optimizer update fed to the schedule (with gradient accumulation too), and resume
from a checkpoint, mid-warm-up or after the decision, bitwise."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
from tests.support.lightning_models import Classifier, pl, torch, train_loader, trainer
from tests.support.models import mnist1d
from tests.support.state import assert_same

import cyclr
from cyclr.lightning import OnlineScheduleCallback
from cyclr.torch import OnlineScheduler

pytestmark = [
    pytest.mark.filterwarnings("ignore::UserWarning"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
]

TOTAL = 400  # a warm-up of int(0.45 * 399) = 179 updates
WARMUP = 179
EPOCH = 24  # 1200 samples in batches of 50; checkpoints at epoch ends resume the same batches


@pytest.fixture(autouse=True, scope="module")
def _data():
    mnist1d()


class Net(Classifier):
    """The support Classifier (its hooks record the LR and momentum of every batch) on a small
    MLP without dropout, so that a resumed fit draws no random numbers; records its losses."""

    def __init__(self, seed: int = 0, none_from: int | None = None, **kw) -> None:
        super().__init__(**kw)
        torch.manual_seed(seed)
        self.net = torch.nn.Sequential(
            torch.nn.Flatten(), torch.nn.Linear(40, 32), torch.nn.ReLU(), torch.nn.Linear(32, 10)
        )
        self.none_from = none_from
        self.losses: list[float] = []

    def training_step(self, batch, batch_idx):
        out = super().training_step(batch, batch_idx)
        if self.none_from is not None and self.calls > self.none_from:
            return None
        loss = out["loss"] if isinstance(out, dict) else out
        self.losses.append(float(loss.detach().double()))
        return out


def _fit(module, t, **kw) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t.fit(module, **kw)


def _weights(module) -> dict:
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


@pytest.mark.parametrize(("policy", "form"), [("one_cycle", "optimizer"), ("triangular", "dict")])
def test_a_fit_reads_the_bounds_and_every_update_runs_at_the_schedules_lr(tmp_path, policy, form):
    pl.seed_everything(0, verbose=False)
    module = Net(form=form)
    callback = OnlineScheduleCallback(policy)
    t = trainer(tmp_path, max_steps=TOTAL, callbacks=[callback])
    _fit(module, t, train_dataloaders=train_loader())

    sched = callback.scheduler
    assert isinstance(sched, OnlineScheduler) and t.lr_scheduler_configs == []
    online = sched.online
    assert (online.policy, online.total_steps, online.warmup_steps) == (policy, TOTAL, WARMUP)
    assert online.step == TOTAL
    d = sched.decided_at
    assert d is not None and 32 <= d < WARMUP
    assert isinstance(callback.bounds, cyclr.Bounds) and callback.bounds is online.bounds
    assert 0 < callback.bounds.base_lr < callback.bounds.max_lr
    assert "bounds read" in sched.log[-1]

    # every update ran at the schedule's LR and momentum for it, bit for bit
    steps, lrs, moms = map(np.array, zip(*module.batch_lrs))
    np.testing.assert_array_equal(steps, np.arange(TOTAL))
    np.testing.assert_array_equal(lrs, [online.lr(s) for s in steps])
    np.testing.assert_array_equal(moms, [online.momentum(s) for s in steps])
    assert lrs[0] == 1e-6 and lrs[d] == callback.bounds.max_lr
    if policy == "one_cycle":
        assert lrs[-1] == pytest.approx(callback.bounds.max_lr / 1e4, rel=1e-12)
    # the warm-up read is the fit's own: the LRs it ran at and the losses training_step returned
    r = sched.range_test_result
    assert r.lr.tolist() == lrs[:d].tolist() and r.loss.tolist() == module.losses[:d]
    assert module.calls == TOTAL  # no update outside training


def test_with_gradient_accumulation_each_update_reads_the_mean_loss_of_its_micro_batches(tmp_path):
    # 25 batches an epoch in pairs: the last update of each epoch has one micro-batch
    total = 200
    pl.seed_everything(0, verbose=False)
    module = Net()
    callback = OnlineScheduleCallback()
    t = trainer(tmp_path, max_steps=total, callbacks=[callback], accumulate_grad_batches=2)
    _fit(module, t, train_dataloaders=train_loader(n=1250))

    online = callback.scheduler.online
    assert online.step == total and online.warmup_steps == int(0.45 * (total - 1))
    windows = []
    for _ in range(total // 13 + 1):  # an epoch: 12 pairs and a single batch
        windows += [2] * 12 + [1]
    want, at = [], 0
    for size in windows[: len(online.losses)]:
        want.append(np.mean(module.losses[at : at + size]))
        at += size
    np.testing.assert_allclose(online.losses, want, rtol=1e-6)
    # every micro-batch of update s ran at the LR of update s
    assert [lr for _, lr, _ in module.batch_lrs] == [online.lr(s) for s, _, _ in module.batch_lrs]
    assert sorted({s for s, _, _ in module.batch_lrs}) == list(range(total))


@pytest.fixture(scope="module")
def full_fit(tmp_path_factory):
    """An uninterrupted fit that saves a checkpoint at every epoch's end."""
    root = tmp_path_factory.mktemp("online_full")
    pl.seed_everything(0, verbose=False)
    module = Net()
    callback = OnlineScheduleCallback()
    ckpt = pl.callbacks.ModelCheckpoint(
        dirpath=root / "ckpt", every_n_train_steps=EPOCH, save_top_k=-1
    )
    t = trainer(root, max_steps=TOTAL, callbacks=[callback, ckpt], enable_checkpointing=True)
    _fit(module, t, train_dataloaders=train_loader(shuffle=False))
    paths = {int(p.stem.split("step=")[1]): p for p in (root / "ckpt").glob("*.ckpt")}
    return module, callback, paths


@pytest.mark.parametrize("where", ["warm-up", "after the decision"])
def test_resume_from_a_checkpoint_is_bitwise_the_uninterrupted_fit(tmp_path, full_fit, where):
    full, first, paths = full_fit
    d = first.scheduler.decided_at
    assert d is not None
    before = [k for k in paths if k < d]
    after = [k for k in paths if d < k <= TOTAL - EPOCH]
    k = max(before) if where == "warm-up" else min(after)
    state = torch.load(paths[k], weights_only=False)["callbacks"]["OnlineScheduleCallback"]
    plain = dict(state, scheduler=dict(state["scheduler"]))
    snap = plain["scheduler"].pop("rollback_snapshot", None)  # tensors, until the decision
    json.dumps(plain)  # the rest is plain data
    assert (snap is not None) == (where == "warm-up")
    saved = state["scheduler"]["online"]
    assert saved["step"] == k and (saved["decided_at"] is None) == (where == "warm-up")
    if where == "warm-up":
        assert len(saved["lrs"]) == k > 0  # a curve, but not read yet

    resumed = Net(seed=123)  # other weights: the checkpoint must restore them
    again = OnlineScheduleCallback()
    _fit(
        resumed,
        trainer(tmp_path, max_steps=TOTAL, callbacks=[again]),
        train_dataloaders=train_loader(shuffle=False),
        ckpt_path=str(paths[k]),
    )
    assert resumed.calls == TOTAL - k
    assert resumed.batch_lrs == full.batch_lrs[k:]
    assert again.scheduler.decided_at == d and again.bounds == first.bounds
    assert again.scheduler.online.lrs == first.scheduler.online.lrs
    assert again.scheduler.online.losses == first.scheduler.online.losses
    assert again.scheduler.log == first.scheduler.log
    assert_same(_weights(resumed), _weights(full))


def test_resuming_with_other_settings_is_refused(tmp_path, full_fit):
    _, _, paths = full_fit
    k = min(paths)
    callback = OnlineScheduleCallback(start_lr=1e-5)
    t = trainer(tmp_path, max_steps=TOTAL, callbacks=[callback])
    with pytest.raises(ValueError, match=r"other settings .*start_lr=1e-06 vs 1e-05"):
        t.fit(Net(), train_dataloaders=train_loader(shuffle=False), ckpt_path=str(paths[k]))


def test_a_training_step_that_returns_no_loss_is_a_clear_error(tmp_path):
    module = Net(none_from=3)
    t = trainer(tmp_path, max_steps=100, callbacks=[OnlineScheduleCallback()])
    with pytest.raises(
        ValueError, match=r"training_step returned no loss for batch 3 \(got None\)"
    ):
        _fit(module, t, train_dataloaders=train_loader())
    assert module.calls == 4


@pytest.mark.filterwarnings("ignore:cyclr online schedule:RuntimeWarning")  # a fast ramp
def test_a_scheduler_of_configure_optimizers_is_dropped_and_options_pass_on(tmp_path):
    callback = OnlineScheduleCallback(start_lr=1e-5, end_lr=5.0, warmup_steps=40, check_every=4)
    t = trainer(tmp_path, max_steps=90, callbacks=[callback])
    with pytest.warns(UserWarning, match=r"replaces the LR scheduler\(s\) .* \(StepLR\)"):
        t.fit(Net(form="dict+scheduler"), train_dataloaders=train_loader())
    assert t.lr_scheduler_configs == []
    s = callback.scheduler.online
    assert (s.start_lr, s.end_lr, s.warmup_steps, s.check_every) == (1e-5, 5.0, 40, 4)
    assert s.step == 90


def test_manual_optimization_is_refused(tmp_path):
    class Manual(Net):
        def __init__(self):
            super().__init__()
            self.automatic_optimization = False

    t = trainer(tmp_path, max_steps=50, callbacks=[OnlineScheduleCallback()])
    with pytest.raises(ValueError, match="needs automatic optimization"):
        t.fit(Manual(), train_dataloaders=train_loader())


def test_state_before_a_fit_is_empty_and_loads_into_a_fresh_callback(tmp_path):
    callback = OnlineScheduleCallback()
    assert callback.state_dict() == {} and callback.scheduler is None and callback.bounds is None
    _fit(
        Net(),
        trainer(tmp_path, max_steps=80, callbacks=[callback]),
        train_dataloaders=train_loader(),
    )
    state = callback.state_dict()
    json.dumps(dict(state, scheduler="..."))
    assert state["total_steps"] == 80
    fresh = OnlineScheduleCallback()
    fresh.load_state_dict(state)
    assert fresh.state_dict() == state  # held until training starts


@pytest.mark.parametrize(
    ("kw", "error", "match"),
    [
        ({"policy": "exp_range"}, ValueError, r"policy must be one of 'one_cycle', 'triangular'"),
        ({"momentum": cyclr.Constant(0.9)}, TypeError, "momentum must be True or False"),
        ({"step_size": 0}, ValueError, "step_size must be >= 1, got 0"),
        ({"online": True}, TypeError, "unexpected keyword argument 'online'"),
        ({"method": "loss"}, TypeError, "unexpected keyword argument 'method'"),
        ({"linear_iter": 100}, TypeError, "unexpected keyword argument 'linear_iter'"),
        ({"coarse_iter": 50}, TypeError, "unexpected keyword argument 'coarse_iter'"),
        ({"seed": 0}, TypeError, "unexpected keyword argument 'seed'"),
        ({"device": "cpu"}, TypeError, "unexpected keyword argument 'device'"),
    ],
)
def test_bad_online_arguments_are_refused_when_the_callback_is_built(kw, error, match):
    with pytest.raises(error, match=match):
        OnlineScheduleCallback(**kw)
