"""Schedules against the papers' formulas written out plainly, plus their properties."""

from __future__ import annotations

import dataclasses
import json
import math
import pickle

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import cyclr

# ---------------------------------------------------------------------------------------------
# Independent references: the formulas as printed in the papers / DESIGN notes.


def seed_formula(it, base_lr, max_lr, step_size, policy, gamma=1.0):
    cycle = math.floor(1 + it / (2 * step_size))
    x = abs(it / step_size - 2 * cycle + 1)
    if policy == "triangular":
        scale = 1
    elif policy == "triangular2":
        scale = 1 / 2 ** (cycle - 1)
    else:  # exp_range, amplitude only (PyTorch / Keras)
        scale = gamma**it
    return base_lr + (max_lr - base_lr) * max(0, 1 - x) * scale


def exp_range_bounds(it, base_lr, max_lr, step_size, gamma):
    """The paper's wording: each boundary value declines by gamma**iteration."""
    cycle = math.floor(1 + it / (2 * step_size))
    x = abs(it / step_size - 2 * cycle + 1)
    low, high = base_lr * gamma**it, max_lr * gamma**it
    return low + (high - low) * max(0, 1 - x)


def asymmetric_triangle(it, base_lr, max_lr, up, down):
    p = it % (up + down)
    frac = p / up if p <= up else 1 - (p - up) / down
    return base_lr + (max_lr - base_lr) * frac


def interp(it, knots, values):
    return float(np.interp(it, knots, values))


def cos_interp(it, knots, values):
    for i in range(len(knots) - 1):
        if it <= knots[i + 1] or i == len(knots) - 2:
            pct = min((it - knots[i]) / (knots[i + 1] - knots[i]), 1.0)
            a, b = values[i], values[i + 1]
            return a + (b - a) * (1 - math.cos(math.pi * pct)) / 2
    raise AssertionError


def fastai_one_cycle(it, total, lr_max, pct=0.25, div=25.0, div_final=1e5):
    """fastai: combined_cos(pct, lr_max/div, lr_max, lr_max/div_final) at pos = it/total."""
    pos = it / total
    start, mid, end = lr_max / div, lr_max, lr_max / div_final
    if pos < pct:
        p = pos / pct
        return start + (1 + math.cos(math.pi * (1 - p))) * (mid - start) / 2
    p = min((pos - pct) / (1 - pct), 1.0)
    return mid + (1 + math.cos(math.pi * (1 - p))) * (end - mid) / 2


# ---------------------------------------------------------------------------------------------
lrs = st.floats(1e-6, 10.0)
step_sizes = st.integers(1, 400)


@st.composite
def bounds(draw):
    a, b = sorted((draw(lrs), draw(lrs)))
    return a, b


@settings(max_examples=200, deadline=None)
@given(bounds(), step_sizes, st.sampled_from(["triangular", "triangular2"]))
def test_symmetric_equals_seed_formula_exactly(b, step, policy):
    base, top = b
    cls = cyclr.Triangular if policy == "triangular" else cyclr.Triangular2
    s = cls(base, top, step)
    its = range(0, 9 * step + 3)
    assert [s(i) for i in its] == [seed_formula(i, base, top, step, policy) for i in its]


@settings(max_examples=200, deadline=None)
@given(bounds(), step_sizes, st.floats(0.9, 1.0))
def test_exp_range_both_decays_match_formulas(b, step, gamma):
    base, top = b
    amp = cyclr.ExpRange(base, top, step, gamma, decay="amplitude")
    bnd = cyclr.ExpRange(base, top, step, gamma)
    assert bnd.decay == "bounds"
    for i in range(0, 6 * step + 1, max(1, step // 7)):
        assert amp(i) == pytest.approx(seed_formula(i, base, top, step, "exp", gamma), rel=1e-12)
        assert bnd(i) == pytest.approx(exp_range_bounds(i, base, top, step, gamma), rel=1e-12)
        # decaying bounds: both the floor and the ceiling shrink
        assert base * gamma**i * (1 - 1e-12) <= bnd(i) <= top * gamma**i * (1 + 1e-12)


def test_exp_range_bounds_floor_falls_but_amplitude_floor_stays():
    bnd = cyclr.ExpRange(0.1, 1.0, 10, gamma=0.99)
    amp = cyclr.ExpRange(0.1, 1.0, 10, gamma=0.99, decay="amplitude")
    assert bnd(200) == pytest.approx(0.1 * 0.99**200)
    assert amp(200) == 0.1


@settings(max_examples=100, deadline=None)
@given(bounds(), step_sizes, step_sizes)
def test_asymmetric_cycles(b, up, down):
    base, top = b
    s = cyclr.Triangular(base, top, up, step_size_down=down)
    for i in range(0, 3 * (up + down) + 1, max(1, (up + down) // 11)):
        ref = asymmetric_triangle(i, base, top, up, down)
        assert s(i) == pytest.approx(ref, rel=1e-12, abs=1e-15)


def test_triangular2_halves_each_cycle():
    s = cyclr.Triangular2(0.0, 1.0, step_size=10)
    assert [s(10 + 20 * k) for k in range(5)] == [1.0, 0.5, 0.25, 0.125, 0.0625]


# ---------------------------------------------------------------------------------------------
# 1cycle


@settings(max_examples=100, deadline=None)
@given(st.floats(1e-4, 5.0), st.integers(50, 3000), st.floats(2.0, 30.0))
def test_one_cycle_smith_default_is_linear_up_down_then_annihilation(top, total, div):
    s = cyclr.OneCycle(max_lr=top, total_steps=total, div_factor=div)
    last = total - 1
    knots = [0, 0.45 * last, 0.9 * last, last]
    values = [top / div, top, top / div, top / div / 1e3]
    for i in range(0, total + 5, max(1, total // 50)):
        assert s(i) == pytest.approx(interp(i, knots, values), rel=1e-12)
    assert s(last) == top / div / 1e3
    assert s(total + 100) == s(last)  # held after the end


def test_one_cycle_momentum_is_inverse_and_high_during_annihilation():
    s = cyclr.OneCycle(max_lr=1.0, total_steps=1001)
    m = s.momentum()
    assert (m(0), m(450), m(900), m(950), m(1000)) == pytest.approx((0.95, 0.85, 0.95, 0.95, 0.95))
    steps = np.arange(1001)
    lr, mom = s(steps), m(steps)
    # momentum falls exactly where the LR rises
    assert np.all(np.sign(np.diff(lr[:900])) == -np.sign(np.diff(mom[:900])))


@settings(max_examples=100, deadline=None)
@given(st.floats(1e-4, 5.0), st.integers(20, 3000), st.floats(0.1, 0.5))
def test_fastai_preset_matches_fastai_formula(top, total, pct):
    s = cyclr.OneCycle.fastai(top, total, pct_start=pct)
    m = s.momentum(0.85, 0.95)
    for i in range(0, total + 3, max(1, total // 60)):
        assert s(i) == pytest.approx(fastai_one_cycle(i, total, top, pct), rel=1e-9)
        # fastai moms=(0.95, 0.85, 0.95): same cos shape from 0.95 to 0.85 and back
        pos = i / total
        if pos < pct:
            ref_m = 0.95 + (1 + math.cos(math.pi * (1 - pos / pct))) * (0.85 - 0.95) / 2
        else:
            p = min((pos - pct) / (1 - pct), 1.0)
            ref_m = 0.85 + (1 + math.cos(math.pi * (1 - p))) * (0.95 - 0.85) / 2
        assert m(i) == pytest.approx(ref_m, rel=1e-12)


def test_pytorch_preset_defaults():
    s = cyclr.OneCycle.pytorch(0.1, 1000)
    assert (s.anneal, s.pct_start, s.div_factor, s.final_div_factor) == ("cos", 0.3, 25.0, 1e4)
    assert s(0) == pytest.approx(0.004)
    assert s(299) == pytest.approx(0.1)
    assert s(999) == pytest.approx(0.004 / 1e4)
    three = cyclr.OneCycle.pytorch(0.1, 1000, three_phase=True, anneal_strategy="linear")
    assert three(299) == pytest.approx(0.1)
    assert three(598) == pytest.approx(0.004)
    assert three(999) == pytest.approx(4e-7)
    ref = [0, 299, 598, 999], [0.004, 0.1, 0.004, 4e-7]
    for i in range(0, 1000, 37):
        assert three(i) == pytest.approx(interp(i, *ref), rel=1e-12)


# ---------------------------------------------------------------------------------------------
# Constant and Chain


def test_chain_expresses_the_staged_cifar_run():
    staged = cyclr.Chain(
        parts=(
            cyclr.Triangular2(0.001, 0.005, 2000),
            cyclr.Triangular2(0.0001, 0.0005, 2000),
            cyclr.Triangular2(0.00001, 0.00005, 2000),
        ),
        lengths=(16000, 16000),
    )
    assert staged(2000) == 0.005
    assert staged(15999) == cyclr.Triangular2(0.001, 0.005, 2000)(15999)
    assert staged(16000) == 0.0001  # second stage restarts in its own local time
    assert staged(18000) == 0.0005
    assert staged(32000 + 2000) == 0.00005
    steps = np.arange(0, 50000, 7)
    assert staged(steps).tolist() == [staged(int(i)) for i in steps]


def test_constant():
    c = cyclr.Constant(0.05)
    assert c(0) == c(10**9) == 0.05
    assert c(np.arange(4)).tolist() == [0.05] * 4
    assert c.momentum(0.85, 0.9)(7) == 0.9


# ---------------------------------------------------------------------------------------------
# Properties common to every schedule


@st.composite
def any_schedule(draw):
    base, top = draw(bounds())
    step = draw(step_sizes)
    down = draw(st.one_of(st.none(), step_sizes))
    kind = draw(
        st.sampled_from(
            ["tri", "tri2", "exp", "exp_amp", "one", "pt", "pt3", "fa", "const", "chain", "mom"]
        )
    )
    total = draw(st.integers(60, 5000))
    if kind == "tri":
        return cyclr.Triangular(base, top, step, down)
    if kind == "tri2":
        return cyclr.Triangular2(base, top, step, down)
    if kind == "exp":
        return cyclr.ExpRange(base, top, step, draw(st.floats(0.95, 1.0)), down)
    if kind == "exp_amp":
        return cyclr.ExpRange(base, top, step, draw(st.floats(0.95, 1.0)), down, "amplitude")
    if kind == "one":
        return cyclr.OneCycle(top, total, anneal=draw(st.sampled_from(["linear", "cos"])))
    if kind == "pt":
        return cyclr.OneCycle.pytorch(top, total, anneal_strategy="cos")
    if kind == "pt3":
        return cyclr.OneCycle.pytorch(top, total, three_phase=True)
    if kind == "fa":
        return cyclr.OneCycle.fastai(top, total)
    if kind == "const":
        return cyclr.Constant(top)
    if kind == "mom":
        return cyclr.Triangular2(base, top, step, down).momentum(0.8, 0.9)
    return cyclr.Chain((cyclr.Triangular(base, top, step), cyclr.OneCycle(top, total)), (step,))


@settings(max_examples=300, deadline=None)
@given(any_schedule(), st.lists(st.integers(0, 20000), min_size=1, max_size=40))
def test_scalar_equals_vector_exactly(s, steps):
    arr = np.array(steps, dtype=np.int64)
    vec = s(arr)
    assert vec.dtype == np.float64 and vec.shape == arr.shape
    assert vec.tolist() == [s(i) for i in steps]
    assert [s.at(i) for i in steps] == [s(i) for i in steps]
    assert s(arr.reshape(-1, 1)).shape == (len(steps), 1)
    assert isinstance(s(np.int32(steps[0])), float)


@settings(max_examples=200, deadline=None)
@given(any_schedule(), st.lists(st.integers(0, 2**53), min_size=1, max_size=40))
def test_scalar_equals_vector_exactly_up_to_step_2_to_the_53(s, steps):
    vec = s(np.array(steps, dtype=np.int64))
    assert vec.tolist() == [s(i) for i in steps] == [s.at(i) for i in steps]


@settings(max_examples=100, deadline=None)
@given(any_schedule())
def test_the_formula_is_written_once_for_any_array_namespace(s):
    steps = np.arange(0, 12000, 7)
    plain = s.evaluate(steps.astype(np.float64), np)  # numpy itself: vectorised cos and power
    np.testing.assert_allclose(plain, s(steps), rtol=1e-12, atol=0)


@dataclasses.dataclass(frozen=True)
class Decay(cyclr.Schedule):
    """A user's schedule written against the array namespace: ``lr * gamma**t``."""

    lr: float
    gamma: float

    def evaluate(self, t, xp):
        return self.lr * xp.power(self.gamma, t)


def test_a_user_schedule_runs_on_ints_and_arrays_with_the_same_values():
    s = Decay(0.1, 0.99)
    assert s(0) == 0.1 and s(3) == 0.1 * math.pow(0.99, 3)
    assert s(np.arange(50)).tolist() == [0.1 * math.pow(0.99, i) for i in range(50)]
    assert Triangular(0.25)(7) == 0.25 and Triangular(0.25)(np.arange(3)).tolist() == [0.25] * 3


@settings(max_examples=200, deadline=None)
@given(any_schedule())
def test_json_and_pickle_round_trips(s):
    spec = json.loads(json.dumps(s.to_dict()))
    back = cyclr.schedule_from_dict(spec)
    assert back == s and type(back) is type(s)
    assert pickle.loads(pickle.dumps(s)) == s
    steps = np.arange(0, 3000, 13)
    assert back(steps).tolist() == s(steps).tolist()
    assert repr(s).startswith(type(s).__name__ + "(")


@settings(max_examples=200, deadline=None)
@given(bounds(), step_sizes, st.sampled_from([cyclr.Triangular, cyclr.Triangular2]))
def test_values_within_bounds_and_periodic(b, step, cls):
    base, top = b
    s = cls(base, top, step)
    v = s(np.arange(0, 10 * step))
    assert np.all(v >= base) and np.all(v <= top * (1 + 1e-15))
    if cls is cyclr.Triangular:
        t = np.arange(0, 4 * step)
        np.testing.assert_allclose(s(t), s(t + 2 * step), rtol=1e-12, atol=1e-15)


def test_schedules_are_frozen():
    s = cyclr.Triangular(0.1, 1.0, 10)
    with pytest.raises(AttributeError):
        s.max_lr = 2.0  # type: ignore[misc]


# ---------------------------------------------------------------------------------------------
# Bad input


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: cyclr.Triangular(float("nan"), 1.0, 10), "base_lr"),
        (lambda: cyclr.Triangular(0.1, float("inf"), 10), "max_lr"),
        (lambda: cyclr.Triangular(-0.1, 1.0, 10), "base_lr"),
        (lambda: cyclr.Triangular(1.0, 0.1, 10), r"base_lr \(1.0\) must be <= max_lr"),
        (lambda: cyclr.Triangular(0.1, 1.0, 0), "step_size"),
        (lambda: cyclr.Triangular2(0.1, 1.0, 5, step_size_down=0), "step_size_down"),
        (lambda: cyclr.ExpRange(0.1, 1.0, 10, gamma=0.0), "gamma"),
        (lambda: cyclr.ExpRange(0.1, 1.0, 10, gamma=1.5), "gamma"),
        (lambda: cyclr.ExpRange(0.1, 1.0, 10, gamma=0.9, decay="both"), "decay"),
        (lambda: cyclr.OneCycle(0.1, total_steps=2), "total_steps"),
        (lambda: cyclr.OneCycle.pytorch(0.1, total_steps=3), "total_steps"),
        (lambda: cyclr.OneCycle(float("nan"), 100), "max_lr"),
        (lambda: cyclr.OneCycle(0.1, 100, pct_annihilate=1.0), "pct_annihilate"),
        (lambda: cyclr.OneCycle(0.1, 100, div_factor=0), "div_factor"),
        (lambda: cyclr.OneCycle(0.1, 100, anneal="exp"), "anneal"),
        (lambda: cyclr.Triangular(0.1, 1.0, 10).momentum(0.95, 0.85), "base_momentum"),
        (lambda: cyclr.Constant(-1.0), "value"),
        (lambda: cyclr.Chain((cyclr.Constant(1.0),), (5,)), "lengths"),
        (lambda: cyclr.schedule_from_dict({"type": "Sawtooth"}), "Sawtooth"),
        (lambda: cyclr.schedule_from_dict({"type": "Constant", "value": 1, "x": 2}), "'x'"),
        (lambda: cyclr.schedule_from_dict({"type": "Triangular", "base_lr": 0.1}), "Triangular"),
        (lambda: cyclr.Triangular(0.1, 1.0, 10)(-1), "step"),
    ],
)
def test_bad_input_raises_value_error_naming_the_argument(make, match):
    with pytest.raises(ValueError, match=match):
        make()


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: cyclr.Triangular(0.1, 1.0, 2.5), "step_size"),
        (lambda: cyclr.Triangular("0.1", 1.0, 10), "base_lr"),
        (lambda: cyclr.Triangular(0.1, 1.0, 10)(1.5), "step"),
        (lambda: cyclr.Triangular(0.1, 1.0, 10)(np.array([0.5])), "integer dtype"),
    ],
)
def test_wrong_types_raise_type_error(make, match):
    with pytest.raises(TypeError, match=match):
        make()


# ---------------------------------------------------------------------------------------------
# Plain Python fields, the registry, spec checks


def _plain(value):
    """True when ``value`` holds only plain Python data (and schedules made of it)."""
    if isinstance(value, cyclr.Schedule):
        return all(_plain(getattr(value, f.name)) for f in dataclasses.fields(value))
    if isinstance(value, tuple):
        return type(value) is tuple and all(_plain(x) for x in value)
    return type(value) in (int, float, bool, str, type(None))


_reals = st.sampled_from([np.float64, np.float32, np.float16, float])
_ints = st.sampled_from([np.int64, np.int32, np.uint8, int])


@st.composite
def numpy_schedule(draw):
    """Every schedule type with its numbers given as numpy scalars or arrays."""
    f, i = draw(_reals), draw(_ints)
    base, top = f(draw(st.sampled_from([0.0, 0.01]))), f(draw(st.sampled_from([0.5, 1.0])))
    step, total = i(draw(st.integers(1, 100))), i(draw(st.integers(60, 250)))
    down = draw(st.sampled_from([None, i(7)]))
    kind = draw(
        st.sampled_from(
            ["tri", "tri2", "exp", "one", "pt", "fa", "const", "chain", "mom", "pw", "onemom"]
        )
    )
    if kind == "tri":
        return cyclr.Triangular(base, top, step, down)
    if kind == "tri2":
        return cyclr.Triangular2(base, top, step, down)
    if kind == "exp":
        return cyclr.ExpRange(base, top, step, f(0.99), down, np.str_("amplitude"))
    if kind == "one":
        return cyclr.OneCycle(top, total, f(10), f(1e3), f(0.25), f(0.125), np.str_("cos"))
    if kind == "pt":
        three = draw(st.sampled_from([np.bool_(True), np.bool_(False), True]))
        return cyclr.OneCycle.pytorch(top, total, f(0.25), np.str_("cos"), f(25), f(1e4), three)
    if kind == "fa":
        return cyclr.OneCycle.fastai(top, total, f(0.25), f(25), f(1e4))
    if kind == "const":
        return cyclr.Constant(top)
    if kind == "mom":
        return cyclr.Triangular(base, top, step).momentum(f(0.75), f(0.875))
    if kind == "onemom":
        return cyclr.OneCycle(top, total).momentum(f(0.75), f(0.875))
    if kind == "pw":
        return cyclr.Piecewise(np.array([0, 4, 9], dtype=i), np.array([0.5, 1.0, 0.25], dtype=f))
    return cyclr.Chain(
        [cyclr.Triangular(base, top, step), cyclr.Constant(top)], np.array([step], dtype=i)
    )


@settings(max_examples=300, deadline=None)
@given(numpy_schedule())
def test_numpy_inputs_become_plain_python_fields_and_plain_json(s):
    assert _plain(s), s
    spec = s.to_dict()
    assert json.loads(json.dumps(spec)) == spec
    back = cyclr.schedule_from_dict(spec)
    assert back == s and _plain(back)
    steps = np.arange(0, 300, 7)
    assert back(steps).tolist() == s(steps).tolist()


def test_numpy_inputs_keep_their_value_and_bools_are_still_refused_as_numbers():
    s = cyclr.OneCycle(np.float32(0.1), np.ceil(np.float64(1000) / 32).astype(int) * 3)
    assert (s.total_steps, type(s.total_steps)) == (96, int)
    assert (s.max_lr, type(s.max_lr)) == (float(np.float32(0.1)), float)
    assert s.to_dict()["total_steps"] == 96 and json.dumps(s.to_dict())
    p = cyclr.OneCycle.pytorch(0.1, 100, three_phase=np.bool_(True))
    assert p.three_phase is True
    with pytest.raises(TypeError, match="total_steps"):
        cyclr.OneCycle(0.1, True)
    with pytest.raises(TypeError, match="step_size"):
        cyclr.Triangular(0.1, 1.0, np.bool_(True))
    with pytest.raises(TypeError, match="three_phase"):
        cyclr.OneCycle.pytorch(0.1, 100, three_phase=1)


@dataclasses.dataclass(frozen=True)
class Triangular(cyclr.Schedule):
    """A user's own schedule that happens to share a built-in's class name."""

    value: float = 0.5

    def evaluate(self, t, xp):
        return xp.full_like(t, self.value)


def test_a_user_class_with_a_builtin_name_does_not_replace_the_builtin():
    builtin = cyclr.Triangular(0.1, 1.0, 10)
    spec = builtin.to_dict()
    assert spec["type"] == "Triangular"
    assert type(cyclr.schedule_from_dict(spec)) is cyclr.Triangular
    assert cyclr.Triangular.from_dict(spec) == builtin
    mine = Triangular(0.25)
    mine_spec = mine.to_dict()
    assert mine_spec == {"type": f"{__name__}.Triangular", "value": 0.25}
    back = cyclr.schedule_from_dict(json.loads(json.dumps(mine_spec)))
    assert type(back) is Triangular and back == mine
    # a bare name still finds a user class when no built-in and only one user class has it
    assert cyclr.schedule_from_dict({"type": "UserLinear", "value": 0.5}) == UserLinear(0.5)


@dataclasses.dataclass(frozen=True)
class UserLinear(cyclr.Schedule):
    value: float

    def evaluate(self, t, xp):
        return xp.full_like(t, self.value)


@pytest.mark.parametrize(
    ("make", "last_lr_at_one"),
    [
        (lambda f: cyclr.OneCycle(0.1, 100, final_div_factor=f), 0.1 / 10),
        (lambda f: cyclr.OneCycle.pytorch(0.1, 100, final_div_factor=f), 0.1 / 25),
        (lambda f: cyclr.OneCycle.pytorch(0.1, 100, final_div_factor=f, three_phase=True), 0.004),
        (lambda f: cyclr.OneCycle.fastai(0.1, 100, div_final=f), 0.1),
    ],
)
def test_one_cycle_refuses_a_final_div_factor_below_one_which_would_raise_the_lr(
    make, last_lr_at_one
):
    with pytest.raises(ValueError, match=r"final_div_factor must be >= 1, got 0\.001"):
        make(0.001)
    lrs = make(1.0)(np.arange(100))  # at 1 the run ends where its decay ends, never higher
    assert lrs[-1] == pytest.approx(last_lr_at_one, rel=1e-12)
    assert lrs[-1] <= lrs[int(np.argmax(lrs)) :].min() * (1 + 1e-12)


def test_one_cycle_pct_start_past_the_cycle_names_pct_start_not_total_steps():
    with pytest.raises(ValueError, match=r"pct_start=0\.95") as err:
        cyclr.OneCycle(0.1, 10_000, pct_start=0.95)
    assert "total_steps" not in str(err.value).split(";")[0]
    assert "1 - pct_annihilate" in str(err.value)
    with pytest.raises(ValueError, match=r"pct_start=0\.9 .*descent"):
        cyclr.OneCycle(0.1, 10_000, pct_start=0.9)
    with pytest.raises(ValueError, match=r"pct_start=0\.6 .*three_phase"):
        cyclr.OneCycle.pytorch(0.1, 10_000, pct_start=0.6, three_phase=True)
    # a phase that is merely shorter than a step is still a total_steps problem
    with pytest.raises(ValueError, match="total_steps=12 is too small"):
        cyclr.OneCycle(0.1, 12, pct_start=0.85)
    assert cyclr.OneCycle(0.1, 1000, pct_start=0.85).knots[1] == pytest.approx(0.85 * 999)
    assert cyclr.OneCycle.pytorch(0.1, 1000, pct_start=0.5, three_phase=True)(998) > 0


def _nested_chain_spec(depth):
    spec = cyclr.Constant(0.1).to_dict()
    for _ in range(depth):
        spec = {"type": "Chain", "parts": [spec], "lengths": []}
    return spec


def _nested_list_spec(depth):
    knots = [0, 1]
    for _ in range(depth):
        knots = [knots]
    return {"type": "Piecewise", "knots": knots, "values": [0.1, 0.2]}


def _max_nesting():
    return cyclr.schedules.base.MAX_NESTING


@pytest.mark.parametrize(
    ("spec", "match"),
    [
        (lambda: {"type": []}, r"'type' must be a str.*\[\]"),
        (lambda: {"type": None}, "'type' must be a str"),
        (lambda: {"type": 3}, "'type' must be a str"),
        (lambda: {"type": "Constant", "value": 1.0, 7: 1, "x": 2}, "unknown key.*'x', 7"),
        (lambda: {"value": _nested_list_spec(100_000)}, "no 'type' key"),
        (lambda: _nested_chain_spec(100_000), "nested more than"),
        (lambda: _nested_list_spec(100_000), "nested more than"),
        (lambda: _nested_chain_spec(_max_nesting()), "nested more than"),
        (lambda: {"type": "Constant", "value": _nested_list_spec(200)}, "nested more than"),
    ],
    ids=[
        "type-list",
        "type-none",
        "type-int",
        "mixed-unknown-keys",
        "no-type-deep-content",
        "chain-100000",
        "lists-100000",
        "chain-past-limit",
        "deep-plain-dict",
    ],
)
def test_malformed_specs_raise_a_clear_value_error(spec, match):
    with pytest.raises(ValueError, match=match):
        cyclr.schedule_from_dict(spec())


def test_nesting_up_to_the_limit_round_trips_and_deeper_chains_are_refused():
    limit = _max_nesting()
    s = cyclr.Constant(0.1)
    for _ in range(limit - 1):
        s = cyclr.Chain((s,), ())
    assert cyclr.schedule_from_dict(json.loads(json.dumps(s.to_dict()))) == s
    assert s(5) == 0.1 and s(np.arange(3)).tolist() == [0.1] * 3
    assert cyclr.schedule_from_dict(_nested_chain_spec(limit - 1)) == s
    with pytest.raises(ValueError, match=f"nested more than {limit}"):
        cyclr.Chain((s,), ())
    with pytest.raises(ValueError, match=f"nested more than {limit}"):
        deep = cyclr.Constant(0.1)
        for _ in range(100_000):
            deep = cyclr.Chain((deep,), ())
