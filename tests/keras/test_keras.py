"""cyclr.keras on Keras 3's PyTorch backend: the schedule in fit, saving, momentum, range test."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest

import cyclr

# minversion also rejects the namespace package that a ``tests/keras`` folder on sys.path gives.
keras = pytest.importorskip("keras", minversion="3.0", reason="needs the keras extra: cyclr[keras]")
if keras.backend.backend() != "torch":  # KERAS_BACKEND named another backend
    pytest.skip(
        f"needs KERAS_BACKEND=torch, got {keras.backend.backend()}", allow_module_level=True
    )

from cyclr.keras import MomentumCallback, Schedule, find_bounds, range_test  # noqa: E402

# Keras' torch backend converts tensors with np.array(x), which numpy 2 flags for every tensor.
pytestmark = [
    pytest.mark.filterwarnings(
        "ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning"
    ),
    # jit_compile=True on the torch backend imports torch.jit machinery that warns.
    pytest.mark.filterwarnings("ignore:`torch.jit.script_method` is deprecated:DeprecationWarning"),
]

N_FEATURES, N_CLASSES = 8, 3

# keras.ops computes schedules in float32: |keras - numpy| <= RTOL32 * peak (measured <= 5e-7).
RTOL32 = 2e-6


def _close(got, s: cyclr.Schedule, steps) -> None:
    ref = s(np.asarray(steps))
    np.testing.assert_allclose(got, ref, rtol=0, atol=RTOL32 * np.max(np.abs(ref)), err_msg=repr(s))


def _data(n: int = 256, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, N_FEATURES)).astype("float32")
    w = rng.normal(size=(N_FEATURES, N_CLASSES))
    y = np.argmax(x @ w + 0.3 * rng.normal(size=(n, N_CLASSES)), axis=1)
    return x, y


def _model(*, bn: bool = False, dropout: bool = False, seed: int = 0) -> keras.Model:
    keras.utils.set_random_seed(seed)
    layers: list = [keras.Input((N_FEATURES,)), keras.layers.Dense(16, activation="relu")]
    if bn:
        layers.append(keras.layers.BatchNormalization())
    if dropout:
        layers.append(keras.layers.Dropout(0.3))
    layers.append(keras.layers.Dense(N_CLASSES))
    return keras.Sequential(layers)


def _compile(model: keras.Model, optimizer: keras.optimizers.Optimizer, **kw) -> keras.Model:
    model.compile(
        optimizer=optimizer,
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
        **kw,
    )
    return model


def _recording(cls: type) -> type:
    """An optimizer subclass that records, per update, the LR and momentum it really applied."""

    class Recording(cls):  # type: ignore[misc, valid-type]
        def __init__(self, *a, **kw):
            super().__init__(*a, **kw)
            self.applied: dict[int, tuple[float, float]] = {}

        def update_step(self, gradient, variable, learning_rate):
            step = int(keras.ops.convert_to_numpy(self.iterations))
            mom = getattr(self, "momentum", getattr(self, "beta_1", np.nan))
            self.applied.setdefault(step, (float(learning_rate), float(mom)))
            return super().update_step(gradient, variable, learning_rate)

    Recording.__name__ = f"Recording{cls.__name__}"
    return Recording


SCHEDULES = [
    cyclr.OneCycle.pytorch(0.1, total_steps=48),
    cyclr.Chain(
        (cyclr.Triangular2(0.01, 0.1, 3), cyclr.OneCycle(0.1, total_steps=30)), lengths=(12,)
    ),
    cyclr.Triangular2(0.01, 0.1, step_size=5),
    cyclr.ExpRange(0.01, 0.1, step_size=6, gamma=0.97),
]


# -- Schedule ----------------------------------------------------------------------------------
@pytest.mark.parametrize("s", SCHEDULES[:2], ids=lambda s: type(s).__name__)
def test_fit_applies_the_schedule_at_every_update(s: cyclr.Schedule) -> None:
    x, y = _data(160)
    opt = _recording(keras.optimizers.SGD)(learning_rate=Schedule(s), momentum=0.9)
    model = _compile(_model(), opt)
    model.fit(x, y, batch_size=16, epochs=4, shuffle=False, verbose=0)  # 40 updates
    steps = sorted(opt.applied)
    assert steps == list(range(40))
    _close([opt.applied[t][0] for t in steps], s, steps)
    _close(float(model.optimizer.learning_rate), s, 40)


def test_schedule_evaluates_every_policy_with_keras_ops() -> None:
    steps = np.arange(300)
    for s in [
        *SCHEDULES,
        cyclr.Triangular(0.001, 0.006, step_size=30, step_size_down=50),
        cyclr.ExpRange(0.01, 0.1, 25, gamma=0.995, decay="amplitude"),
        cyclr.OneCycle(0.2, total_steps=250),
        cyclr.OneCycle.pytorch(0.1, 200, three_phase=True),
        cyclr.OneCycle.fastai(0.01, 200),
        cyclr.Piecewise((0, 10.5, 99.25), (0.1, 1.0, 0.05), anneal="cos"),
        cyclr.Triangular(0.1, 0.5, 20).momentum(),
        cyclr.OneCycle.fastai(0.01, 200).momentum(),
    ]:
        got = keras.ops.convert_to_numpy(Schedule(s)(keras.ops.convert_to_tensor(steps)))
        assert got.dtype == np.float32
        _close(got, s, steps)


def test_config_round_trip_is_plain_json() -> None:
    for s in SCHEDULES:
        lr = Schedule(s)
        config = json.loads(json.dumps(lr.get_config()))
        assert Schedule.from_config(config).schedule == s
        ser = keras.optimizers.schedules.serialize(lr)
        assert ser["registered_name"] == "cyclr>Schedule"
        back = keras.optimizers.schedules.deserialize(json.loads(json.dumps(ser)))
        assert isinstance(back, Schedule) and back.schedule == s
    opt = keras.optimizers.SGD(Schedule(SCHEDULES[0]), momentum=0.9)
    opt2 = keras.optimizers.SGD.from_config(json.loads(json.dumps(opt.get_config())))
    assert opt2.learning_rate is not None and opt2._learning_rate.schedule == SCHEDULES[0]


def test_schedule_validation() -> None:
    with pytest.raises(TypeError, match="schedule must be a cyclr Schedule"):
        Schedule(0.1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"not a cyclr\.keras\.Schedule config"):
        Schedule.from_config({"type": "Triangular"})
    with pytest.raises(ValueError, match="unknown schedule type"):
        Schedule.from_config({"schedule": {"type": "Nope"}})


def test_saved_keras_model_with_the_schedule_loads_and_resumes(tmp_path) -> None:
    s = cyclr.OneCycle(0.1, total_steps=60)
    x, y = _data(160)
    model = _compile(_model(), keras.optimizers.SGD(Schedule(s), momentum=0.9))
    model.fit(x, y, batch_size=16, epochs=1, shuffle=False, verbose=0)  # 10 updates
    path = tmp_path / "model.keras"
    model.save(path)

    loaded = keras.saving.load_model(path)
    lr = loaded.optimizer._learning_rate
    assert isinstance(lr, Schedule) and lr.schedule == s
    assert int(keras.ops.convert_to_numpy(loaded.optimizer.iterations)) == 10
    _close(float(loaded.optimizer.learning_rate), s, 10)
    # Both continue the same trajectory from update 10.
    model.fit(x, y, batch_size=16, epochs=1, shuffle=False, verbose=0)
    loaded.fit(x, y, batch_size=16, epochs=1, shuffle=False, verbose=0)
    for a, b in zip(model.weights, loaded.weights):
        np.testing.assert_allclose(
            keras.ops.convert_to_numpy(a), keras.ops.convert_to_numpy(b), rtol=1e-6, atol=1e-7
        )

    # What a fresh process finds after ``import cyclr.keras``: the class under its registered
    # name, so no custom_objects are needed.
    assert keras.saving.get_registered_object("cyclr>Schedule") is Schedule
    assert keras.saving.get_registered_name(Schedule) == "cyclr>Schedule"


# -- MomentumCallback --------------------------------------------------------------------------
@pytest.mark.parametrize("cls, kw", [("SGD", {"momentum": 0.9}), ("AdamW", {})])
def test_momentum_callback_cycles_momentum_or_beta_1(cls: str, kw: dict) -> None:
    s = cyclr.OneCycle.pytorch(0.01, total_steps=20)
    mom = s.momentum(0.85, 0.95)
    x, y = _data(96)
    opt = _recording(getattr(keras.optimizers, cls))(learning_rate=Schedule(s), **kw)
    model = _compile(_model(), opt)
    callbacks = [MomentumCallback(mom)]
    model.fit(x, y, batch_size=16, epochs=3, shuffle=False, verbose=0, callbacks=callbacks)
    applied = np.array([opt.applied[t] for t in range(18)])  # 18 updates
    _close(applied[:, 0], s, np.arange(18))
    np.testing.assert_array_equal(applied[:, 1], mom(np.arange(18)))
    assert applied[0, 1] == 0.95 and min(applied[:, 1]) == pytest.approx(0.85)


def test_momentum_callback_errors() -> None:
    x, y = _data(32)
    mom = cyclr.Triangular(0.01, 0.1, 5).momentum()
    for opt, match in [
        (keras.optimizers.SGD(0.01), "momentum=0, so it keeps no velocity"),
        (keras.optimizers.Adagrad(0.01), "has neither"),
    ]:
        model = _compile(_model(), opt)
        with pytest.raises(ValueError, match=match):
            model.fit(x, y, batch_size=16, verbose=0, callbacks=[MomentumCallback(mom)])
    model = _compile(_model(), keras.optimizers.Adagrad(0.01))
    with pytest.raises(ValueError, match="no float hyperparameter"):
        model.fit(x, y, verbose=0, callbacks=[MomentumCallback(mom, attribute="rho")])
    model = _compile(_model(), keras.optimizers.SGD(0.01, momentum=0.9), jit_compile=True)
    with pytest.raises(ValueError, match="needs an eager train step"):
        model.fit(x, y, batch_size=16, verbose=0, callbacks=[MomentumCallback(mom)])
    with pytest.raises(TypeError, match="schedule must be a cyclr Schedule"):
        MomentumCallback(0.9)  # type: ignore[arg-type]


# -- range_test --------------------------------------------------------------------------------
def _state(model: keras.Model) -> list[np.ndarray]:
    variables = list(model.variables) + list(model.optimizer.variables)
    return [np.array(keras.ops.convert_to_numpy(v.value), copy=True) for v in variables]


def _assert_bitwise(before: list[np.ndarray], after: list[np.ndarray]) -> None:
    assert len(before) == len(after)
    for a, b in zip(before, after):
        assert a.dtype == b.dtype and a.shape == b.shape
        assert a.tobytes() == b.tobytes()


def test_fit_logs_report_a_running_mean_so_range_test_reads_each_batch() -> None:
    """Keras' ``logs["loss"]`` in ``on_train_batch_end`` is the epoch's running mean."""
    x, y = _data(160)
    lr = 0.05

    # Independent per-batch losses: the loss before each plain SGD update, batch by batch.
    ref = _compile(_model(), keras.optimizers.SGD(lr))
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    per_batch = []
    for i in range(10):
        xb, yb = x[16 * i : 16 * (i + 1)], y[16 * i : 16 * (i + 1)]
        per_batch.append(float(keras.ops.convert_to_numpy(loss_fn(yb, ref(xb)))))
        ref.train_on_batch(xb, yb)

    logged = []
    cb = keras.callbacks.LambdaCallback(
        on_train_batch_end=lambda b, logs: logged.append(logs["loss"])
    )
    fit_model = _compile(_model(), keras.optimizers.SGD(lr))
    fit_model.fit(x, y, batch_size=16, epochs=1, shuffle=False, verbose=0, callbacks=[cb])
    running_mean = np.cumsum(per_batch) / np.arange(1, 11)
    np.testing.assert_allclose(logged, running_mean, rtol=1e-5)
    assert not np.allclose(logged, per_batch, rtol=1e-3)

    # A linear ramp from lr to lr + tiny (the same float32 LR throughout): range_test records
    # the per-batch losses themselves.
    model = _compile(_model(), keras.optimizers.SGD(lr))
    r = range_test(
        model,
        x,
        y,
        start_lr=lr,
        end_lr=lr * (1 + 1e-9),
        num_iter=10,
        mode="linear",
        batch_size=16,
        shuffle=False,
        diverge=None,
    )
    np.testing.assert_allclose(r.loss, per_batch, rtol=1e-5)
    acc = r.metric
    assert r.metric_name == "accuracy" and acc is not None and set(acc * 16) <= set(range(17))


def test_the_recorded_lr_is_the_ramp_asked_for_even_where_float32_cannot_tell_its_steps() -> None:
    """The optimizer's LR variable is float32: a ramp finer than its steps trains at repeated
    LRs, and the result records the ramp's own (float64, strictly increasing) values."""
    from cyclr.range_test.ramp import ramp_lr

    x, y = _data(160)
    lo, hi = 0.05, 0.05 * (1 + 1e-9)
    model = _compile(_model(), keras.optimizers.SGD(lo))
    r = range_test(model, x, y, start_lr=lo, end_lr=hi, num_iter=10, mode="linear", diverge=None)
    assert r.lr.tolist() == [ramp_lr(i, lo, hi, 10, "linear") for i in range(10)]
    assert (np.diff(r.lr) > 0).all() and len(set(r.lr.astype(np.float32).tolist())) == 1
    cyclr.RangeTestResult.from_dict(r.to_dict())  # valid: its lr increases strictly


def test_range_test_ramp_result_and_bitwise_restore_mid_training() -> None:
    x, y = _data(256)
    model = _compile(_model(bn=True, dropout=True), keras.optimizers.Adam(1e-3))
    model.fit(x, y, batch_size=32, epochs=1, verbose=0)  # optimizer state exists
    before = _state(model)
    r = range_test(model, x, y, start_lr=1e-4, end_lr=1.0, num_iter=30, batch_size=32)
    _assert_bitwise(before, _state(model))
    assert isinstance(r, cyclr.RangeTestResult)
    assert r.stop_reason in ("end", "diverged") and len(r) >= 10
    expected = 1e-4 * (1.0 / 1e-4) ** (np.arange(len(r)) / 29)
    np.testing.assert_allclose(r.lr, expected, rtol=1e-15)
    # Bias-corrected EMA, beta 0.98.
    avg, sm = 0.0, []
    for i, loss in enumerate(r.loss):
        avg = 0.98 * avg + 0.02 * loss
        sm.append(avg / (1 - 0.98 ** (i + 1)))
    np.testing.assert_allclose(r.smoothed_loss, sm, rtol=1e-12)
    assert r.mode == "exp" and r.config["framework"] == "keras" and r.config["optimizer"] == "Adam"
    assert r.versions["keras_backend"] == "torch" and "keras" in r.versions
    back = cyclr.RangeTestResult.from_dict(json.loads(json.dumps(r.to_dict())))
    np.testing.assert_array_equal(back.loss, r.loss)


def test_range_test_on_a_fresh_model_leaves_training_unchanged() -> None:
    x, y = _data(128)
    a = _compile(_model(seed=3), keras.optimizers.SGD(0.05, momentum=0.9))
    b = _compile(_model(seed=3), keras.optimizers.SGD(0.05, momentum=0.9))
    range_test(a, x, y, start_lr=1e-3, end_lr=1.0, num_iter=12, batch_size=32)
    for m in (a, b):
        m.fit(x, y, batch_size=32, epochs=1, shuffle=False, verbose=0)
    _assert_bitwise(_state(b), _state(a))


def test_range_test_restores_a_compiled_schedule_and_diverges() -> None:
    x, y = _data(128)
    lr = Schedule(cyclr.Triangular(0.01, 0.1, 4))
    model = _compile(_model(), keras.optimizers.SGD(lr, momentum=0.9))
    model.fit(x, y, batch_size=32, epochs=1, verbose=0)
    before = _state(model)
    r = range_test(model, x, y, start_lr=1e-2, end_lr=1e6, num_iter=30, batch_size=32)
    assert r.stop_reason in ("diverged", "non_finite_loss") and len(r) < 30
    assert model.optimizer._learning_rate is lr
    _assert_bitwise(before, _state(model))
    _close(float(model.optimizer.learning_rate), lr.schedule, 4)


def test_range_test_datasets_cycle_iterators_exhaust_and_errors_restore() -> None:
    x, y = _data(96)
    batches = [(x[i : i + 32], y[i : i + 32]) for i in range(0, 96, 32)]
    model = _compile(_model(), keras.optimizers.SGD(0.01))
    before = _state(model)

    r = range_test(model, dataset=batches, num_iter=12, start_lr=1e-3, end_lr=0.1)
    assert r.stop_reason == "end" and len(r) == 12  # a list restarts each pass

    r = range_test(model, dataset=iter(batches * 2), num_iter=12, start_lr=1e-3, end_lr=0.1)
    assert r.stop_reason == "data_exhausted" and len(r) == 6
    assert r.message == "dataset ran out of batches after 6 of 12 updates"

    def failing():
        yield from batches
        raise RuntimeError("bad batch")

    with pytest.raises(RuntimeError, match="bad batch"):
        range_test(model, dataset=failing(), num_iter=12, start_lr=1e-3, end_lr=0.1)

    class PyData(keras.utils.PyDataset):
        def __len__(self):
            return 3

        def __getitem__(self, i):
            return batches[i]

    r = range_test(
        model,
        dataset=PyData(),
        num_iter=10,
        start_lr=1e-3,
        end_lr=0.1,
        validation_data=(x[:32], y[:32]),
        val_every=4,
        metric=None,
    )
    assert r.metric is None and r.metric_name is None
    assert r.val_step is not None and r.val_step.tolist() == [0, 4, 8]
    assert r.val_loss is not None and np.all(np.isfinite(r.val_loss))

    with pytest.raises(ValueError, match="metric='f1' is not in the model's train logs"):
        range_test(model, x, y, num_iter=10, metric="f1")
    _assert_bitwise(before, _state(model))


def _global_draws() -> tuple[bytes, bytes, float]:
    import torch

    return torch.rand(4).numpy().tobytes(), np.random.rand(4).tobytes(), random.random()


def _seed_globals(seed: int) -> None:
    import torch

    torch.manual_seed(seed)
    np.random.seed(seed)
    random.seed(seed)


class _DrawingBatches:
    """Re-iterable batches whose every pass draws from Python's and numpy's global RNGs."""

    def __init__(self, x: np.ndarray, y: np.ndarray) -> None:
        self.x, self.y = x, y

    def __iter__(self):
        for _ in range(4):
            i = random.randrange(len(self.x) - 17) + int(np.random.randint(0, 2))
            yield self.x[i : i + 16], self.y[i : i + 16]


@pytest.mark.parametrize("data", ["torch_loader", "drawing"])
def test_range_test_restores_the_global_rngs_its_data_and_dropout_use(data: str) -> None:
    import torch

    x, y = _data(128)
    if data == "torch_loader":  # shuffling draws from torch's global generator
        dataset = torch.utils.data.DataLoader(
            torch.utils.data.TensorDataset(torch.from_numpy(x), torch.from_numpy(y)),
            batch_size=16,
            shuffle=True,
        )
    else:
        dataset = _DrawingBatches(x, y)
    # Dropout without a seed draws from torch's global generator on the torch backend.
    model = _compile(_model(dropout=True), keras.optimizers.SGD(0.01))
    _seed_globals(7)
    expected = _global_draws()
    _seed_globals(7)
    range_test(model, dataset=dataset, num_iter=12, start_lr=1e-3, end_lr=0.1)
    got = _global_draws()
    assert [a == b for a, b in zip(got, expected)] == [True, True, True]
    _seed_globals(7)
    with pytest.raises(RuntimeError, match="boom"):  # restored when the test fails, too
        range_test(model, dataset=_failing(dataset), num_iter=12, start_lr=1e-3, end_lr=0.1)
    assert _global_draws() == expected


def _failing(dataset):
    for i, batch in enumerate(dataset):
        if i == 3:
            raise RuntimeError("boom")
        yield batch


def test_range_test_ctrl_c_returns_the_partial_curve_and_restores() -> None:
    x, y = _data(64)
    model = _compile(_model(bn=True), keras.optimizers.SGD(0.01, momentum=0.9))
    model.fit(x, y, batch_size=16, verbose=0)
    before = _state(model)

    def interrupted():
        for i in range(100):
            if i == 7:
                raise KeyboardInterrupt
            yield x[:16], y[:16]

    r = range_test(model, dataset=interrupted(), num_iter=20)
    assert r.stop_reason == "interrupted" and len(r) == 7
    assert r.message.startswith("KeyboardInterrupt at update 7")
    _assert_bitwise(before, _state(model))


def test_range_test_builds_an_unbuilt_model() -> None:
    x, y = _data(64)
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.layers.Dense(8, activation="relu"), keras.layers.Dense(3)])
    _compile(model, keras.optimizers.Adam(1e-3))
    r = range_test(model, x, y, num_iter=10, batch_size=16)
    assert len(r) == 10 and model.built and model.optimizer.built
    assert int(keras.ops.convert_to_numpy(model.optimizer.iterations)) == 0


def test_range_test_non_finite_loss_at_the_first_step() -> None:
    x, y = _data(64)
    x[:] = np.nan
    model = _compile(_model(), keras.optimizers.SGD(0.01))
    before = _state(model)
    r = range_test(model, x, y, num_iter=10)
    assert r.stop_reason == "non_finite_loss" and len(r) == 0
    assert "first update" in r.message and "nan" in r.message
    assert (r.config["start_lr"], r.config["end_lr"], r.mode) == (1e-7, 10.0, "exp")
    _assert_bitwise(before, _state(model))


def test_range_test_bad_input() -> None:
    x, y = _data(32)
    model = _compile(_model(), keras.optimizers.SGD(0.01))
    cases = [
        (dict(start_lr=0.1, end_lr=0.01), ValueError, r"start_lr \(0.1\) must be < end_lr"),
        (dict(start_lr=0.0), ValueError, "start_lr must be > 0"),
        (dict(end_lr=float("inf")), ValueError, "end_lr must be finite"),
        (dict(num_iter=5), ValueError, "num_iter must be >= 10"),
        (dict(mode="cos"), ValueError, "mode must be one of"),
        (dict(end_lr=1e-8), ValueError, r"start_lr \(1e-07\) must be < end_lr \(1e-08\)"),
        (dict(diverge=1.0), ValueError, "diverge must be > 1"),
        (dict(smooth=1.0), ValueError, "smooth must be in"),
        (dict(batch_size=0), ValueError, "batch_size must be >= 1"),
        (dict(shuffle=1), TypeError, "shuffle must be a bool"),
        (dict(metric=len), TypeError, "metric must be the name of a compiled metric"),
        (dict(validation_data=x), ValueError, "validation_data must be a tuple"),
    ]
    for kw, exc, match in cases:
        with pytest.raises(exc, match=match):
            range_test(model, x, y, **kw)
    with pytest.raises(ValueError, match=r"either x .* or dataset"):
        range_test(model)
    with pytest.raises(ValueError, match=r"either x .* or dataset"):
        range_test(model, x, y, dataset=[(x, y)])
    with pytest.raises(ValueError, match="x holds no samples"):
        range_test(model, x[:0], y[:0])
    with pytest.raises(ValueError, match="y has 31 samples but x has 32"):
        range_test(model, x, y[:31])
    with pytest.raises(ValueError, match=r"dataset is empty \(len\(dataset\) == 0\)"):
        range_test(model, dataset=[])
    with pytest.raises(ValueError, match="dataset yields no batches"):
        range_test(model, dataset=iter([]), num_iter=10)
    with pytest.raises(ValueError, match="dataset yields no batches"):
        range_test(model, dataset=iter([]))
    with pytest.raises(TypeError, match="dataset is a one-shot iterator"):
        find_bounds(model, dataset=iter([]))
    with pytest.raises(TypeError, match="dataset must be an iterable of batches, got 42"):
        range_test(model, dataset=42)
    with pytest.raises(ValueError, match="y and sample_weight go inside dataset batches"):
        range_test(model, y=y, dataset=[(x, y)])
    with pytest.raises(ValueError, match="must be compiled"):
        range_test(_model(), x, y)
    with pytest.raises(TypeError, match=r"model must be a keras\.Model"):
        range_test("model", x, y)  # type: ignore[arg-type]


def test_without_a_backend_the_import_error_says_how_to_pick_one(tmp_path: Path) -> None:
    import importlib.util
    import os
    import subprocess
    import sys

    if importlib.util.find_spec("tensorflow") is not None:
        pytest.skip("TensorFlow is installed: Keras' default backend imports")
    env = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
    env["HOME"] = str(tmp_path)  # no ~/.keras/keras.json
    proc = subprocess.run(
        [sys.executable, "-c", "import cyclr.keras"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    assert proc.returncode == 1
    last = proc.stderr.strip().splitlines()[-1]
    assert "torch, jax and tensorflow backends" in last and "KERAS_BACKEND=torch" in last


def test_range_test_given_no_ramp_runs_one_exponential_ramp_of_100_updates() -> None:
    x, y = _data(256)
    model = _compile(_model(), keras.optimizers.SGD(0.01))
    r = range_test(model, x, y, batch_size=32, diverge=None)
    assert (r.mode, len(r), r.coarse) == ("exp", 100, None)
    assert (r.config["start_lr"], r.config["end_lr"], r.config["num_iter"]) == (1e-7, 10.0, 100)


def test_find_bounds_runs_the_two_stage_recipe_and_reads_the_linear_test() -> None:
    """As in cyclr.torch: an exponential test over the default range, then the paper's linear
    test from a thousandth of where its loss blew up to there; the model is left as it was."""
    from cyclr.range_test.recipe import linear_range

    x, y = _data(512)
    model = _compile(_model(), keras.optimizers.SGD(0.1, momentum=0.9))
    model(x[:1])
    model.optimizer.build(model.trainable_variables)  # its state exists before the test
    before = _state(model)
    seen: list[cyclr.RangeTestResult] = []
    found = find_bounds(
        model, x, y, batch_size=32, coarse_iter=60, linear_iter=40, on_test=seen.append
    )
    _assert_bitwise(before, _state(model))
    coarse, fine = found.tests
    assert list(found.tests) == seen and fine.coarse is coarse
    assert (coarse.mode, coarse.config["num_iter"]) == ("exp", 60)
    assert (fine.mode, fine.config["num_iter"]) == ("linear", 40)
    assert (fine.config["start_lr"], fine.config["end_lr"]) == linear_range(coarse)
    assert found.bounds == fine.suggest("auto")
    with pytest.raises(TypeError, match=r"^find_bounds\(\) does not take num_iter=20: .*"):
        find_bounds(model, x, y, num_iter=20)
    with pytest.raises(TypeError, match="an argument range_test does not take"):
        find_bounds(model, x, y, batch_sise=20)
    with pytest.raises(ValueError, match=r"^linear_iter must be >= 10, got 5$"):
        find_bounds(model, x, y, linear_iter=5)


def test_seed_means_what_it_means_in_torch_seeding_the_global_generators_for_the_test() -> None:
    """``seed=k`` is the run ``seed=None`` gives once the globals are seeded with k (the array
    shuffle draws from numpy's); either way the globals are put back."""
    x, y = _data(256)
    models = [_compile(_model(), keras.optimizers.SGD(0.01)) for _ in range(3)]
    kw = dict(num_iter=12, batch_size=32, diverge=None)
    _seed_globals(1)
    before = _global_draws()
    _seed_globals(1)
    seeded = range_test(models[0], x, y, seed=5, **kw)
    assert _global_draws() == before
    _seed_globals(5)
    unseeded = range_test(models[1], x, y, **kw)
    assert seeded.loss.tobytes() == unseeded.loss.tobytes()
    assert (seeded.config["seed"], unseeded.config["seed"]) == (5, None)
    other = range_test(models[2], x, y, seed=6, **kw)
    assert other.loss.tobytes() != seeded.loss.tobytes()
