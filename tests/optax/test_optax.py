"""cyclr.optax: every schedule, jitted, against the numpy schedule; a tiny optax training loop."""

from __future__ import annotations

import pickle
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import cyclr

# minversion also rejects the namespace package that a ``tests/optax`` folder on sys.path gives.
jax = pytest.importorskip("jax", minversion="0.4", reason="needs the jax extra: cyclr[jax]")
optax = pytest.importorskip("optax", minversion="0.1.7", reason="needs the jax extra: cyclr[jax]")
jnp = pytest.importorskip("jax.numpy")

from cyclr.optax import JaxSchedule, schedule  # noqa: E402

STEPS = 400

_LR = {
    "triangular": cyclr.Triangular(0.001, 0.006, step_size=50),
    "triangular_asym": cyclr.Triangular(0.001, 0.006, step_size=30, step_size_down=70),
    "triangular2": cyclr.Triangular2(0.001, 0.006, step_size=40),
    "triangular2_asym": cyclr.Triangular2(0.0, 1.0, step_size=17, step_size_down=23),
    "exp_range_bounds": cyclr.ExpRange(0.01, 0.1, step_size=25, gamma=0.995),
    "exp_range_amplitude": cyclr.ExpRange(0.01, 0.1, 25, gamma=0.995, decay="amplitude"),
    "one_cycle_smith": cyclr.OneCycle(max_lr=0.2, total_steps=301),
    "one_cycle_smith_cos": cyclr.OneCycle(0.2, 250, pct_start=0.3, anneal="cos"),
    "one_cycle_pytorch": cyclr.OneCycle.pytorch(0.1, total_steps=300),
    "one_cycle_pytorch_linear": cyclr.OneCycle.pytorch(0.1, 300, anneal_strategy="linear"),
    "one_cycle_pytorch_3phase": cyclr.OneCycle.pytorch(0.1, 300, three_phase=True),
    "one_cycle_fastai": cyclr.OneCycle.fastai(0.01, total_steps=300),
    "piecewise": cyclr.Piecewise((0, 10.5, 99.25, 380), (0.1, 1.0, 0.05, 1e-4)),
    "piecewise_cos": cyclr.Piecewise((0, 120, 260), (1e-3, 1e-1, 1e-5), anneal="cos"),
    "piecewise_two_knots": cyclr.Piecewise((0, 200), (0.5, 0.0)),
    "constant": cyclr.Constant(0.05),
    "chain": cyclr.Chain(
        (
            cyclr.Triangular2(1e-3, 5e-3, 20),
            cyclr.Triangular2(1e-4, 5e-4, 20),
            cyclr.Constant(1e-5),
        ),
        lengths=(160, 160),
    ),
    "chain_one_cycle": cyclr.Chain(
        (cyclr.Constant(1e-3), cyclr.OneCycle.pytorch(0.1, 200)), lengths=(50,)
    ),
}
SCHEDULES = {
    **_LR,
    "cyclic_momentum": _LR["triangular"].momentum(),
    "cyclic_momentum_triangular2": _LR["triangular2"].momentum(0.8, 0.9),
    "cyclic_momentum_exp_amplitude": _LR["exp_range_amplitude"].momentum(),
    "cyclic_momentum_exp_bounds": _LR["exp_range_bounds"].momentum(),
    "one_cycle_smith_momentum": _LR["one_cycle_smith"].momentum(),
    "one_cycle_pytorch_momentum": _LR["one_cycle_pytorch"].momentum(0.85, 0.95),
    "one_cycle_3phase_momentum": _LR["one_cycle_pytorch_3phase"].momentum(),
    "one_cycle_fastai_momentum": _LR["one_cycle_fastai"].momentum(0.85, 0.95),
    "chain_momentum": _LR["chain"].momentum(),
    "constant_momentum": _LR["constant"].momentum(),
}

# float32 arithmetic: |jax - numpy| <= RTOL32 * max|schedule| at every step (measured worst
# case 8.3e-7, asymmetric triangular; the bound leaves room for other CPUs and XLA versions).
RTOL32 = 2e-6


def _reference(s: cyclr.Schedule) -> np.ndarray:
    return s(np.arange(STEPS))


@pytest.mark.parametrize("name", sorted(SCHEDULES))
def test_jitted_values_match_numpy_at_every_step(name: str) -> None:
    s = SCHEDULES[name]
    ref = _reference(s)
    fn = jax.jit(schedule(s))
    tol = RTOL32 * np.max(np.abs(ref))
    # The whole range at once (element-wise under jit) ...
    got = np.asarray(fn(jnp.arange(STEPS)))
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, ref, rtol=0, atol=tol)
    # ... and one traced scalar step at a time, as optax calls it, all from one compilation.
    got_scalar = np.array([float(fn(jnp.int32(i))) for i in range(STEPS)])
    np.testing.assert_allclose(got_scalar, ref, rtol=0, atol=tol)


def test_jitted_values_match_numpy_with_x64_to_1e_12() -> None:
    names = sorted(SCHEDULES)
    code = textwrap.dedent(
        f"""
        import jax
        jax.config.update("jax_enable_x64", True)
        import jax.numpy as jnp, numpy as np
        import sys; sys.path.insert(0, {str(__import__("pathlib").Path(__file__).parent)!r})
        from test_optax import SCHEDULES, STEPS
        from cyclr.optax import schedule
        names = {names!r}
        fns = [schedule(SCHEDULES[name]) for name in names]
        every = jax.jit(lambda t: [f(t) for f in fns])  # one compilation for all schedules
        for name, got in zip(names, every(jnp.arange(STEPS))):
            got = np.asarray(got)
            assert got.dtype == np.float64, (name, got.dtype)
            ref = SCHEDULES[name](np.arange(STEPS))
            np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-300, err_msg=name)
        print("ok")
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip() == "ok"


def test_compiles_once_for_every_step() -> None:
    traces = []
    s = schedule(_LR["chain_one_cycle"])

    @jax.jit
    def f(step):
        traces.append(1)
        return s(step)

    for i in (0, 49, 50, 51, 120, 249, 250, 10_000):
        f(jnp.int32(i))
    assert len(traces) == 1


def test_beyond_the_end_holds_and_float32_stays_accurate_for_long_runs() -> None:
    s = cyclr.Triangular2(0.001, 0.006, step_size=2000)
    steps = np.array([0, 1999, 2000, 100_001, 1_000_000, 16_000_000])
    got = np.asarray(jax.jit(schedule(s))(jnp.asarray(steps)))
    np.testing.assert_allclose(got, s(steps), rtol=0, atol=1e-5 * 0.006)
    oc = cyclr.OneCycle(0.2, total_steps=100)
    assert float(schedule(oc)(5000)) == pytest.approx(oc(5000), rel=1e-6)


def test_accepts_python_ints_numpy_and_shapes() -> None:
    s = schedule(_LR["one_cycle_pytorch"])
    assert float(s(17)) == pytest.approx(_LR["one_cycle_pytorch"](17), rel=1e-6)
    grid = np.arange(12).reshape(3, 4)
    assert s(grid).shape == (3, 4)
    assert schedule(cyclr.Constant(0.5))(jnp.arange(5)).shape == (5,)
    assert schedule(cyclr.Constant(0.5))(3).shape == ()


def test_dtype_option_and_validation() -> None:
    s = schedule(_LR["triangular"], dtype=jnp.bfloat16)
    assert s(jnp.arange(3)).dtype == jnp.bfloat16
    with pytest.raises(TypeError, match="s must be a cyclr Schedule"):
        schedule(lambda step: 0.1)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="dtype must be a float dtype"):
        schedule(_LR["triangular"], dtype="int32")
    with pytest.raises(TypeError, match="dtype must be a float dtype"):
        schedule(_LR["triangular"], dtype="not-a-dtype")


def test_is_a_picklable_object_not_a_closure() -> None:
    s = schedule(_LR["chain"])
    assert isinstance(s, JaxSchedule)
    s2 = pickle.loads(pickle.dumps(s))
    assert s2 == s and s2.schedule == _LR["chain"]


@pytest.mark.parametrize("inner, mom_name", [("sgd", "momentum"), ("adam", "b1")])
def test_training_loop_with_inject_hyperparams_cycles_lr_and_momentum(inner, mom_name) -> None:
    total = 120
    lr_s = cyclr.OneCycle.pytorch(0.05 if inner == "sgd" else 0.2, total_steps=total)
    mom_s = lr_s.momentum(0.85, 0.95)
    factory = getattr(optax, inner)
    opt = optax.inject_hyperparams(factory)(
        learning_rate=schedule(lr_s), **{mom_name: schedule(mom_s)}
    )
    rng = np.random.default_rng(0)
    x = jnp.asarray(rng.normal(size=(64, 3)), dtype=jnp.float32)
    w_true = jnp.asarray([1.5, -2.0, 0.5])
    y = x @ w_true
    params = {"w": jnp.zeros(3)}
    state = opt.init(params)

    def loss_fn(p):
        return jnp.mean((x @ p["w"] - y) ** 2)

    @jax.jit
    def step(params, state):
        loss, grads = jax.value_and_grad(loss_fn)(params)
        updates, state = opt.update(grads, state, params)
        return optax.apply_updates(params, updates), state, loss

    lrs, moms, losses = [], [], []
    for _ in range(total):
        params, state, loss = step(params, state)
        lrs.append(float(state.hyperparams["learning_rate"]))
        moms.append(float(state.hyperparams[mom_name]))
        losses.append(float(loss))
    steps = np.arange(total)
    np.testing.assert_allclose(lrs, lr_s(steps), rtol=0, atol=RTOL32 * lr_s.max_lr)
    np.testing.assert_allclose(moms, mom_s(steps), rtol=0, atol=RTOL32)
    assert min(moms) == pytest.approx(0.85, abs=1e-6) and moms[0] == pytest.approx(0.95)
    assert losses[-1] < 1e-2 * losses[0]
