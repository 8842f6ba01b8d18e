"""``cyclr.lightning.AutoScheduleCallback``: bounds found at fit start, a cyclr schedule stepped
after every update, the training state untouched by the tests, and resume from a checkpoint."""

from __future__ import annotations

import typing
import warnings
from pathlib import Path

import numpy as np
import pytest
from tests.support.lightning_models import Classifier, pl, torch, train_loader, trainer
from tests.support.models import mnist1d
from tests.support.state import assert_same

import cyclr
from cyclr.lightning import AutoScheduleCallback
from cyclr.torch import AutoScheduler, CyclicScheduler

pytestmark = [
    pytest.mark.filterwarnings("ignore::UserWarning"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
]

TOTAL = 30
TESTS = dict(coarse_iter=100, linear_iter=100, seed=0, progress=False)


@pytest.fixture(autouse=True, scope="module")
def _data():
    mnist1d()


def _fit(module, t, **kw) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t.fit(module, **kw)


def _weights(module) -> dict:
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


@pytest.mark.parametrize(
    ("policy", "precision"),
    [("one_cycle", "32-true"), ("triangular", "32-true"), ("one_cycle", "bf16-mixed")],
)
def test_the_lr_and_momentum_follow_the_schedule_between_the_found_bounds(
    tmp_path, policy, precision
):
    pl.seed_everything(0, verbose=False)
    module = Classifier()
    callback = AutoScheduleCallback(
        policy, step_size=10 if policy == "triangular" else None, **TESTS
    )
    t = trainer(tmp_path, max_steps=TOTAL, callbacks=[callback], precision=precision)
    _fit(module, t, train_dataloaders=train_loader())

    b = callback.bounds
    assert isinstance(b, cyclr.Bounds) and 0 < b.base_lr < b.max_lr
    assert [r.mode for r in callback.tests] == ["exp", "linear"]
    assert [len(r) for r in callback.tests][1] == 100 or callback.tests[1].stop_reason != "end"
    tested = sum(len(r) for r in callback.tests)
    assert module.calls == tested + TOTAL  # the tests' updates, then the training's
    # the tests ran training_step under the Trainer's precision plugin
    assert set(module.autocast) == {precision == "bf16-mixed"}

    steps, lrs, moms = map(np.array, zip(*module.batch_lrs))
    np.testing.assert_array_equal(steps, np.arange(TOTAL))
    schedule = b.schedule(policy, TOTAL, 24, 10 if policy == "triangular" else None)
    np.testing.assert_array_equal(lrs, schedule(steps))  # bit for bit
    np.testing.assert_array_equal(moms, schedule.momentum()(steps))
    assert isinstance(callback.scheduler, AutoScheduler) and callback.scheduler.last_epoch == TOTAL
    (config,) = t.lr_scheduler_configs
    assert config.scheduler is callback.scheduler and config.interval == "step"
    if policy == "one_cycle":
        assert 0.99 * b.max_lr < lrs.max() <= b.max_lr and lrs[0] < 0.5 * b.max_lr


def test_training_is_that_of_the_same_schedule_installed_by_hand(tmp_path):
    """The tests leave model, optimizer and RNGs as they were: the trained weights are those of
    a run that got the same scheduler from configure_optimizers and ran no test."""
    pl.seed_everything(0, verbose=False)
    auto = Classifier()
    callback = AutoScheduleCallback(**TESTS)
    _fit(
        auto,
        trainer(tmp_path, max_steps=TOTAL, callbacks=[callback]),
        train_dataloaders=train_loader(),
    )
    schedule = callback.scheduler.schedules[0]

    class ByHand(Classifier):
        def configure_optimizers(self):
            opt = self.optimizer()
            sched = CyclicScheduler(opt, schedule, momentum=True)
            return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}

    pl.seed_everything(0, verbose=False)
    hand = ByHand()
    _fit(hand, trainer(tmp_path, max_steps=TOTAL), train_dataloaders=train_loader())
    assert hand.batch_lrs == auto.batch_lrs
    assert_same(_weights(auto), _weights(hand))


def test_resume_from_a_checkpoint_runs_no_test_and_continues_the_schedule(tmp_path):
    stop = 12
    pl.seed_everything(0, verbose=False)
    full = Classifier()
    first = AutoScheduleCallback(**TESTS)
    ckpt = pl.callbacks.ModelCheckpoint(
        dirpath=tmp_path / "ckpt", every_n_train_steps=stop, save_top_k=-1
    )
    t = trainer(tmp_path, max_steps=TOTAL, callbacks=[first, ckpt], enable_checkpointing=True)
    _fit(full, t, train_dataloaders=train_loader())
    path = next(p for p in (tmp_path / "ckpt").glob("*.ckpt") if f"step={stop}" in p.name)
    state = torch.load(path, weights_only=False)  # (Lightning stores its version object)
    assert state["callbacks"]["AutoScheduleCallback"]["bounds"] == first.bounds.to_dict()

    resumed = Classifier()
    again = AutoScheduleCallback(**TESTS)
    _fit(
        resumed,
        trainer(tmp_path, max_steps=TOTAL, callbacks=[again]),
        train_dataloaders=train_loader(),
        ckpt_path=str(path),
    )
    assert resumed.calls == TOTAL - stop  # no range test this time
    assert again.bounds == first.bounds
    assert [r.to_dict() for r in again.tests] == [r.to_dict() for r in first.tests]
    assert resumed.batch_lrs == full.batch_lrs[stop:]
    assert again.scheduler.last_epoch == TOTAL


def test_validation_data_of_the_fit_is_scored(tmp_path):
    x, y = mnist1d()
    val = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x[1500:], y[1500:]), 100)
    for validate in (True, False):
        callback = AutoScheduleCallback(validate=validate, val_every=20, **TESTS)
        t = trainer(tmp_path, max_steps=20, callbacks=[callback], limit_val_batches=2)
        _fit(Classifier(), t, train_dataloaders=train_loader(), val_dataloaders=val)
        linear = callback.tests[-1]
        assert (linear.val_step is not None) == validate
        if validate:
            assert linear.val_step[:3].tolist() == [0, 20, 40]


def test_a_scheduler_of_configure_optimizers_is_replaced_with_a_warning(tmp_path):
    callback = AutoScheduleCallback(**TESTS)
    t = trainer(tmp_path, max_steps=20, callbacks=[callback])
    with pytest.warns(UserWarning, match=r"replaces the LR scheduler\(s\) .* \(StepLR\)"):
        t.fit(Classifier(form="dict+scheduler"), train_dataloaders=train_loader())
    assert [c.scheduler for c in t.lr_scheduler_configs] == [callback.scheduler]


def test_bounds_tests_and_scheduler_are_declared_attributes():
    hints = typing.get_type_hints(AutoScheduleCallback)
    assert {"bounds", "tests", "scheduler"} <= set(hints)
    fresh = AutoScheduleCallback()
    assert fresh.bounds is None and fresh.tests == () and fresh.scheduler is None


@pytest.mark.parametrize(
    ("kw", "error", "match"),
    [
        ({"policy": "cosine"}, ValueError, r"policy must be one of .*; got 'cosine'"),
        ({"device": "cpu"}, TypeError, "AutoScheduleCallback does not take device='cpu'"),
        ({"start_lr": 1e-3}, TypeError, "AutoScheduleCallback does not take start_lr=0.001"),
        ({"num_iter": 100}, TypeError, "AutoScheduleCallback does not take num_iter=100"),
        ({"on_test": print}, TypeError, "AutoScheduleCallback does not take on_test="),
        ({"online": True}, TypeError, "unexpected keyword argument 'online'"),
        ({"linear_iter": 5}, ValueError, "linear_iter must be >= 10, got 5"),
        ({"coarse_iter": 3}, ValueError, "coarse_iter"),
        ({"momentum": 0.9}, TypeError, "momentum must be"),
        ({"method": "magic"}, ValueError, "magic"),
    ],
)
def test_bad_arguments_are_refused_when_the_callback_is_built(kw, error, match):
    with pytest.raises(error, match=match):
        AutoScheduleCallback(**kw)


def test_an_endless_fit_is_refused_before_any_update(tmp_path):
    module = Classifier()
    t = trainer(tmp_path, max_epochs=-1, max_steps=-1, callbacks=[AutoScheduleCallback(**TESTS)])
    with pytest.raises(ValueError, match="needs a finite training length"):
        t.fit(module, train_dataloaders=train_loader())
    assert module.calls == 0


def test_saved_state_is_plain_data(tmp_path):
    callback = AutoScheduleCallback(**TESTS)
    assert callback.state_dict() == {}
    _fit(
        Classifier(),
        trainer(tmp_path, max_steps=20, callbacks=[callback]),
        train_dataloaders=train_loader(),
    )
    path = Path(tmp_path) / "state.pt"
    torch.save(callback.state_dict(), path)
    loaded = AutoScheduleCallback()
    loaded.load_state_dict(torch.load(path, weights_only=True))
    assert loaded.bounds == callback.bounds and len(loaded.tests) == 2


def test_every_param_group_keeps_the_lr_ratio_of_its_range_test(tmp_path):
    class Grouped(Classifier):
        def optimizer(self):
            if self._opt is None:
                *body, head = list(self.net.children())
                body_params = [p for m in body for p in m.parameters()]
                self._opt = torch.optim.SGD(
                    [
                        {"params": body_params, "lr": 0.0},
                        {"params": head.parameters(), "lr": 0.05},
                    ],
                    momentum=0.9,
                )
            return self._opt

    pl.seed_everything(0, verbose=False)
    module = Grouped()
    frozen = [p.detach().clone() for p in module.optimizer().param_groups[0]["params"]]
    callback = AutoScheduleCallback(**TESTS)
    _fit(
        module,
        trainer(tmp_path, max_steps=TOTAL, callbacks=[callback]),
        train_dataloaders=train_loader(),
    )
    assert all(t.config["group_lr_ratios"] == [0.0, 1.0] for t in callback.tests)
    assert callback.scheduler.group_scales == [0.0, 1.0]
    group0, group1 = module.optimizer().param_groups
    assert group0["lr"] == 0.0 and group1["lr"] == callback.scheduler.schedules[0].at(TOTAL)
    after = module.optimizer().param_groups[0]["params"]
    assert all(torch.equal(a, b.detach()) for a, b in zip(frozen, after))


def test_a_longer_fit_resumed_from_a_checkpoint_warns_that_it_keeps_the_checkpoint_schedule(
    tmp_path,
):
    pl.seed_everything(0, verbose=False)
    first = AutoScheduleCallback(**TESTS)
    ckpt = pl.callbacks.ModelCheckpoint(dirpath=tmp_path / "ckpt", save_last=True)
    t = trainer(tmp_path, max_steps=TOTAL, callbacks=[first, ckpt], enable_checkpointing=True)
    _fit(Classifier(), t, train_dataloaders=train_loader())
    path = str(tmp_path / "ckpt" / "last.ckpt")

    def resume(steps):
        module, callback = Classifier(), AutoScheduleCallback(**TESTS)
        t = trainer(tmp_path, max_steps=steps, callbacks=[callback])
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            t.fit(module, train_dataloaders=train_loader(), ckpt_path=path)
        said = [str(w.message) for w in caught if "AutoScheduleCallback resumes" in str(w.message)]
        return module, callback, said

    module, callback, said = resume(2 * TOTAL)
    final = first.scheduler.schedules[0].at(TOTAL)
    assert said == [
        f"AutoScheduleCallback resumes the checkpoint's schedule over {TOTAL} updates; this fit "
        f"runs {2 * TOTAL}: updates {TOTAL} to {2 * TOTAL - 1} run at its final LR {final:.3g}"
    ]
    assert [lr for _, lr, _ in module.batch_lrs] == [final] * TOTAL
    assert callback.state_dict()["total_steps"] == TOTAL
    _, _, said = resume(TOTAL)  # the same length: nothing to say
    assert said == []
