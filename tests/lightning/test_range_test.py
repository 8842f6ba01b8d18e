"""``cyclr.lightning.range_test`` and ``find_bounds``: the loss from training_step, the optimizer
from configure_optimizers, the Trainer's settings, and a bitwise restore however the test ends."""

from __future__ import annotations

import random
import warnings

import numpy as np
import pytest
from tests.support.lightning_models import (
    CE,
    FORMS,
    MNIST1D,
    Classifier,
    pl,
    torch,
    train_loader,
    trainer,
    warm_up,
)
from tests.support.models import mnist1d
from tests.support.probes import Boom
from tests.support.state import assert_same, assert_same_curve, capture

import cyclr.lightning
import cyclr.torch
from cyclr.lightning._glue import split_optimizers

pytestmark = [
    pytest.mark.filterwarnings("ignore::UserWarning"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
]


@pytest.fixture(autouse=True, scope="module")
def _data_loaded_before_any_state_is_captured():
    mnist1d()


def _seed_rngs(seed: int = 11) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _draws():
    return random.random(), float(np.random.rand()), torch.rand(2)


def _rewind(state) -> None:
    random.setstate(state["rng_python"])
    np.random.set_state(state["rng_numpy"])
    torch.set_rng_state(state["rng_torch"])


# -- the curve ---------------------------------------------------------------------------------
def test_the_curve_is_bitwise_that_of_cyclr_torch_with_the_same_loss():
    """training_step's loss through cyclr.lightning == loss_fn through cyclr.torch."""
    results = []
    for via in ("lightning", "torch"):
        module = Classifier()
        warm_up(module)
        kw = dict(num_iter=30, start_lr=1e-4, end_lr=1.0, seed=3, progress=False)
        if via == "lightning":
            r = cyclr.lightning.range_test(
                trainer(), module, train_dataloaders=train_loader(), **kw
            )
        else:
            r = cyclr.torch.range_test(
                module, module.optimizer(), CE, train_loader(), metric=None, **kw
            )
        results.append(r)
    assert_same_curve(results[0], results[1])
    assert results[0].config["loss_of_batch"] == "Classifier.training_step"
    assert results[0].metric_name is None and len(results[0]) == 30


def test_training_step_sees_the_ramp_through_self_optimizers_and_may_log():
    module = Classifier()
    r = cyclr.lightning.range_test(
        trainer(), module, train_dataloaders=train_loader(), num_iter=12, progress=False
    )
    assert module.step_lrs == r.lr.tolist()  # self.optimizers() is the test's optimizer
    assert module._trainer is None  # detached again
    assert "log" not in module.__dict__ and "log_dict" not in module.__dict__


def test_a_loss_of_batch_option_records_accuracy():
    def with_output(module, batch):
        x, y = batch
        out = module(x)
        return CE(out, y), out, y

    module = Classifier()
    r = cyclr.lightning.range_test(
        trainer(),
        module,
        train_dataloaders=train_loader(),
        loss_of_batch=with_output,
        num_iter=15,
        progress=False,
    )
    assert r.metric_name == "accuracy" and np.isfinite(r.metric).all() and module.calls == 0
    assert r.config["loss_of_batch"] == "with_output"


def test_accumulate_grad_batches_is_the_accumulation():
    module = Classifier()
    r = cyclr.lightning.range_test(
        trainer(accumulate_grad_batches=3),
        module,
        train_dataloaders=train_loader(),
        num_iter=10,
        progress=False,
    )
    assert r.config["accumulation_steps"] == 3 and module.calls == 30 and len(r) == 10


@pytest.mark.parametrize(
    ("precision", "dtype", "scaler"),
    [
        ("32-true", None, None),
        ("bf16-mixed", "bfloat16", None),
        ("16-mixed", "float16", "GradScaler"),
    ],
)
def test_the_trainer_precision_sets_autocast_and_the_scaler(precision, dtype, scaler):
    module = Classifier()
    t = trainer(precision=precision)
    before = capture(module, module.optimizer(), scaler=t.scaler) if t.scaler else None
    r = cyclr.lightning.range_test(
        t, module, train_dataloaders=train_loader(), num_iter=10, progress=False
    )
    assert r.config["autocast_dtype"] == dtype and r.config["scaler"] == scaler
    assert set(module.autocast) == {dtype is not None}
    if before is not None:  # the Trainer's GradScaler is restored too (uninitialised)
        assert t.scaler._scale is None
        assert_same(before, capture(module, module.optimizer(), scaler=t.scaler))


def test_a_datamodule_is_set_up_and_gives_the_validation_data():
    module, dm = Classifier(), MNIST1D()
    _seed_rngs()
    before = capture(module, module.optimizer())
    expected = _draws()
    _rewind(before)
    r = cyclr.lightning.range_test(
        trainer(), module, datamodule=dm, num_iter=20, val_every=5, val_batches=2, progress=False
    )
    assert dm.setups == ["fit"] and dm.trainer is None
    assert r.val_step.tolist() == [0, 5, 10, 15] and np.isfinite(r.val_loss).all()
    assert module.calls == 20 + 4 * 2  # the validation batches are scored with training_step
    # setup's random_split drew from torch's RNG: that is put back too
    assert_same(before, capture(module, module.optimizer()))
    got = _draws()
    assert got[:2] == expected[:2] and torch.equal(got[2], expected[2])


def test_the_modules_own_dataloaders_are_used():
    class WithData(Classifier):
        def train_dataloader(self):
            return train_loader(n=400)

    r = cyclr.lightning.range_test(trainer(), WithData(), num_iter=10, progress=False)
    assert len(r) == 10 and r.config["data_passes"] == 2  # 8 batches per pass


@pytest.mark.parametrize("form", FORMS)
def test_every_form_of_configure_optimizers(form):
    module = Classifier(form=form)
    warm_up(module)
    opt = module.optimizer()
    before = capture(module, opt, module._sched)
    r = cyclr.lightning.range_test(
        trainer(), module, train_dataloaders=train_loader(), num_iter=10, progress=False
    )
    assert r.config["optimizer"] == "SGD" and len(r) == 10
    assert_same(before, capture(module, opt, module._sched))


def test_split_optimizers_refuses_what_lightning_would_not_step():
    a = torch.optim.SGD(torch.nn.Linear(2, 1).parameters(), lr=0.1)
    b = torch.optim.SGD(torch.nn.Linear(2, 1).parameters(), lr=0.1)
    with pytest.raises(ValueError, match=r"returned 2 optimizers; the range test drives one"):
        split_optimizers([a, b])
    with pytest.raises(TypeError, match=r"must return a torch.optim.Optimizer .* got NoneType"):
        split_optimizers(None)
    with pytest.raises(TypeError, match=r"lr_scheduler dict without 'scheduler'"):
        split_optimizers({"optimizer": a, "lr_scheduler": {"interval": "step"}})


def test_after_fit_the_trainers_optimizer_is_tested_and_restored(tmp_path):
    module, t = Classifier(form="dict+scheduler"), trainer(tmp_path, max_steps=6)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t.fit(module, train_dataloaders=train_loader())
    opt = t.optimizers[0]
    sched = t.lr_scheduler_configs[0].scheduler
    assert opt.state and sched.last_epoch == 6
    before = capture(module, opt, sched)
    r = cyclr.lightning.range_test(
        t, module, train_dataloaders=train_loader(), num_iter=10, progress=False
    )
    assert len(r) == 10
    assert_same(before, capture(module, opt, sched))
    assert t.optimizers[0] is opt and module.trainer is t


# -- the restore matrix ------------------------------------------------------------------------
K = 6


@pytest.mark.parametrize("precision", ["32-true", "16-mixed"])
@pytest.mark.parametrize("scenario", ["end", "diverged", "error", "keyboard_interrupt"])
def test_state_is_bitwise_identical_after(scenario, precision):
    fail = {"error": Boom, "keyboard_interrupt": KeyboardInterrupt}.get(scenario)
    module = Classifier(
        form="dict+scheduler", fail_after=K if fail else None, fail_with=fail or Boom
    )
    warm_up(module)
    module.net[4].eval()  # a BatchNorm frozen in eval mode: its mode comes back
    t = trainer(precision=precision)
    g = torch.Generator().manual_seed(5)
    x, y = mnist1d()
    data = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(x[:1200], y[:1200]), 50, shuffle=True, generator=g
    )
    generator = g.get_state()
    opt = module.optimizer()
    _seed_rngs()
    before = capture(module, opt, module._sched, t.scaler)
    expected = _draws()
    _rewind(before)
    kw = dict(num_iter=25, start_lr=1e-4, end_lr=0.5, progress=False)
    if scenario == "diverged":
        kw.update(start_lr=1e-2, end_lr=1e4, num_iter=60, smooth=0.5)
    if fail is not None:
        with pytest.raises(fail) as info:
            cyclr.lightning.range_test(t, module, train_dataloaders=data, **kw)
        partial = info.value.range_test_result
        assert len(partial) == K
        assert partial.stop_reason == ("interrupted" if fail is KeyboardInterrupt else "error")
    else:
        r = cyclr.lightning.range_test(t, module, train_dataloaders=data, **kw)
        if scenario == "end":
            assert r.stop_reason == "end" and len(r) == 25
        else:
            assert r.stop_reason in ("diverged", "non_finite_loss") and len(r) < 60
    assert_same(before, capture(module, opt, module._sched, t.scaler))
    assert not module.net[4].training and module.net[1].training
    assert torch.equal(g.get_state(), generator)
    got = _draws()
    assert got[:2] == expected[:2] and torch.equal(got[2], expected[2])
    assert module._trainer is None and "log" not in module.__dict__


def test_training_after_a_test_is_as_if_it_never_ran(tmp_path):
    """Twin modules; one runs find_bounds before fit. The trained weights are identical."""
    weights = []
    for run_test in (False, True):
        pl.seed_everything(0, verbose=False)
        module = Classifier()
        t = trainer(tmp_path, max_steps=8)
        if run_test:
            found = cyclr.lightning.find_bounds(
                t,
                module,
                train_dataloaders=train_loader(),
                coarse_iter=100,
                linear_iter=100,
                progress=False,
            )
            assert [r.mode for r in found.tests] == ["exp", "linear"]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t.fit(module, train_dataloaders=train_loader())
        weights.append({k: v.detach().clone() for k, v in module.state_dict().items()})
    assert_same(weights[0], weights[1])


def test_range_test_given_no_ramp_runs_one_exponential_ramp_of_100_updates():
    module = Classifier()
    r = cyclr.lightning.range_test(
        trainer(), module, train_dataloaders=train_loader(), progress=False, seed=0, diverge=None
    )
    assert (r.mode, len(r), module.calls, r.coarse) == ("exp", 100, 100, None)
    assert (r.config["start_lr"], r.config["end_lr"]) == (1e-7, 10.0)


def test_find_bounds_runs_the_two_range_tests_of_the_recipe():
    """cyclr.lightning.find_bounds: the exponential test, then the linear one below its
    blow-up; the same curves as the module's two range tests run by hand."""
    from cyclr.range_test.recipe import linear_range

    kw = dict(progress=False, seed=0)
    found = cyclr.lightning.find_bounds(
        trainer(), Classifier(), train_dataloaders=train_loader(), coarse_iter=60, **kw
    )
    coarse, fine = found.tests
    assert fine.coarse is coarse
    lo, hi = linear_range(coarse)
    by_hand = (
        cyclr.lightning.range_test(
            trainer(), Classifier(), train_dataloaders=train_loader(), num_iter=60, **kw
        ),
        cyclr.lightning.range_test(
            trainer(),
            Classifier(),
            train_dataloaders=train_loader(),
            mode="linear",
            start_lr=lo,
            end_lr=hi,
            num_iter=400,
            **kw,
        ),
    )
    for a, b in zip(found.tests, by_hand):
        assert_same_curve(a, b)
    assert found.bounds == by_hand[1].suggest()


@pytest.mark.parametrize("option", [{"num_iter": 100}, {"mode": "exp"}])
def test_find_bounds_refuses_the_options_of_a_single_ramp(option):
    module = Classifier()
    with pytest.raises(TypeError, match=r"call cyclr\.lightning\.range_test\(\) for a single"):
        cyclr.lightning.find_bounds(trainer(), module, train_dataloaders=train_loader(), **option)
    assert module.calls == 0


# -- bad arguments -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kw", "error", "match"),
    [
        ({"device": "cpu"}, TypeError, r"does not take device='cpu': the device is the Trainer's"),
        ({"accumulation_steps": 2}, TypeError, "set accumulate_grad_batches on the Trainer"),
        ({"scaler": None}, TypeError, "does not take scaler=None"),
        ({"val_loader": []}, TypeError, "pass val_dataloaders= or datamodule="),
        ({"datamodule": MNIST1D(), "train_dataloaders": [1]}, TypeError, "not both"),
        ({"num_iter": 2}, ValueError, "num_iter"),
    ],
)
def test_bad_arguments_are_refused_before_the_first_update(kw, error, match):
    module = Classifier()
    kw.setdefault("train_dataloaders", train_loader())
    before = capture(module, module.optimizer())
    with pytest.raises(error, match=match):
        cyclr.lightning.range_test(trainer(), module, progress=False, **kw)
    assert module.calls == 0
    assert_same(before, capture(module, module.optimizer()))


def test_unsupported_precision_and_manual_optimization_are_refused():
    with pytest.raises(ValueError, match=r"precision='64-true'.* is not supported outside"):
        cyclr.lightning.range_test(
            trainer(precision="64-true"), Classifier(), train_dataloaders=train_loader()
        )
    manual = Classifier()
    manual.automatic_optimization = False
    with pytest.raises(ValueError, match="uses manual optimization"):
        cyclr.lightning.range_test(trainer(), manual, train_dataloaders=train_loader())
    with pytest.raises(TypeError, match=r"model must be a lightning\.pytorch\.LightningModule"):
        cyclr.lightning.range_test(trainer(), torch.nn.Linear(2, 2))
    with pytest.raises(TypeError, match="no training data: pass train_dataloaders"):
        cyclr.lightning.range_test(trainer(), Classifier())


def test_a_training_step_returning_no_loss_fails_before_the_first_update():
    class Skips(Classifier):
        def training_step(self, batch, batch_idx):
            return None

    module = Skips()
    before = capture(module, module.optimizer())
    with pytest.raises(TypeError, match=r"training_step returned None for batch_idx=0"):
        cyclr.lightning.range_test(trainer(), module, train_dataloaders=train_loader())
    assert_same(before, capture(module, module.optimizer()))
