"""cyclr.Bounds: validation, schedules built from it, JSON."""

from __future__ import annotations

import json
import math
import warnings
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import cyclr
from cyclr.suggest.bounds import STEP_EPOCHS, Point, Reading


def make(base: float = 0.05, peak: float = 0.2, **kw: object) -> cyclr.Bounds:
    return cyclr.Bounds(
        base_lr=base,
        max_lr=peak,
        method=kw.pop("method", "manual"),
        reason=kw.pop("reason", "test"),
        **kw,
    )  # type: ignore[arg-type]


def test_fields_and_ratio() -> None:
    b = make(0.05, 0.2)
    assert (b.base_lr, b.max_lr, b.method, b.reason) == (0.05, 0.2, "manual", "test")
    assert b.ratio == pytest.approx(4.0)
    assert b.point("max_lr") is None


@pytest.mark.parametrize(
    ("base", "peak", "exc", "match"),
    [
        (0.3, 0.2, ValueError, "base_lr"),
        (0.0, 0.2, ValueError, "base_lr must be > 0"),
        (0.1, math.inf, ValueError, "max_lr must be finite"),
        (0.1, "0.2", TypeError, "max_lr must be a real number"),
        (-1.0, 0.2, ValueError, "base_lr"),
    ],
)
def test_validation(base: object, peak: object, exc: type, match: str) -> None:
    with pytest.raises(exc, match=match):
        cyclr.Bounds(base, peak, method="m", reason="r")  # type: ignore[arg-type]


def test_validation_of_other_fields() -> None:
    with pytest.raises(TypeError, match="method"):
        cyclr.Bounds(0.1, 0.2, method="", reason="r")
    with pytest.raises(ValueError, match="curve_lr has 2 entries but curve_values has 1"):
        make(curve_lr=(0.1, 0.2), curve_values=(1.0,))
    with pytest.raises(TypeError, match="points"):
        make(points=(("max_lr", 0.2, 1.0),))


def test_frozen_and_hashable() -> None:
    b = make()
    with pytest.raises(AttributeError):
        b.max_lr = 1.0  # type: ignore[misc]
    assert hash(b) == hash(make())
    assert b == make() and b != make(peak=0.3)


def test_triangular_default_step_size_is_four_epochs() -> None:
    b = make(0.001, 0.006)
    s = b.triangular(iters_per_epoch=500)
    assert isinstance(s, cyclr.Triangular)
    assert s.step_size == STEP_EPOCHS * 500 == 2000
    assert (s.base_lr, s.max_lr) == (0.001, 0.006)
    assert s(0) == 0.001 and s(2000) == 0.006


def test_triangular_policies() -> None:
    b = make(0.001, 0.006)
    assert isinstance(b.triangular(100, policy="triangular2"), cyclr.Triangular2)
    e = b.triangular(2000, policy="exp_range")
    assert isinstance(e, cyclr.ExpRange) and e.decay == "bounds"
    assert e.gamma == pytest.approx(math.exp(-1 / 16000))
    assert round(e.gamma, 5) == 0.99994  # the paper's CIFAR-10 value for step_size 2000
    a = b.triangular(2000, policy="exp_range", gamma=0.999, decay="amplitude")
    assert (a.gamma, a.decay) == (0.999, "amplitude")


def test_triangular_needs_a_step_size() -> None:
    with pytest.raises(ValueError, match="step_size or iters_per_epoch"):
        make().triangular()
    with pytest.raises(ValueError, match="policy must be one of"):
        make().triangular(10, policy="cosine")
    with pytest.raises(ValueError, match="step_size must be >= 1"):
        make().triangular(0)
    with pytest.raises(TypeError, match="iters_per_epoch must be an integer"):
        make().triangular(iters_per_epoch=2.5)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("step", "warns"), [(100, True), (200, False), (1000, False), (1100, True)]
)
def test_triangular_warns_outside_the_papers_range(step: int, warns: bool) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        make().triangular(step, iters_per_epoch=100)
    assert bool([w for w in caught if "2-10 x" in str(w.message)]) is warns


def test_one_cycle() -> None:
    b = make(0.05, 0.2)
    s = b.one_cycle(1001)
    assert isinstance(s, cyclr.OneCycle)
    assert s.max_lr == 0.2 and s.div_factor == pytest.approx(10.0)  # at least a tenth
    assert s(0) == pytest.approx(0.02) and s(450) == pytest.approx(0.2)
    assert make(0.001, 0.2).one_cycle(100).div_factor == pytest.approx(200.0)
    t = b.one_cycle(1000, div_factor=25.0, final_div_factor=1e4)
    assert t.div_factor == 25.0 and t.final_div_factor == 1e4
    assert make(0.2, 0.2).one_cycle(100, div_factor=1.0).div_factor == 1.0


def test_dict_round_trip_with_everything() -> None:
    b = make(
        0.01,
        0.04,
        method="accuracy",
        reason="why",
        curve="metric",
        curve_lr=(0.01, 0.02, 0.04),
        curve_values=(0.1, math.nan, 0.5),
        points=(Point("base_lr", 0.01, 0.1, 0), Point("max_lr", 0.04, math.nan)),
        details={"noise": 0.01, "other": {"max_lr": 0.05, "agree": True}, "x": [1, None]},
    )
    d = b.to_dict()
    text = json.dumps(d, allow_nan=False)
    back = cyclr.Bounds.from_dict(json.loads(text))
    assert back == b
    assert back.point("base_lr") == Point("base_lr", 0.01, 0.1, 0)
    assert math.isnan(back.curve_values[1])


def test_from_dict_rejects_other_data() -> None:
    with pytest.raises(ValueError, match="not a cyclr Bounds"):
        cyclr.Bounds.from_dict({"base_lr": 1})
    d = make().to_dict()
    d["extra"] = 1
    with pytest.raises(ValueError, match="unknown key"):
        cyclr.Bounds.from_dict(d)


def full_dict() -> dict:
    return make(
        curve="loss",
        curve_lr=(0.01, 0.02),
        curve_values=(1.0, 0.5),
        points=(Point("max_lr", 0.2, 0.5, 1),),
        details={"noise": 0.01},
    ).to_dict()


@pytest.mark.parametrize(
    ("drop", "match"),
    [
        (("base_lr",), "missing key: base_lr"),
        (("base_lr", "max_lr", "method"), "missing keys: base_lr, max_lr, method"),
    ],
)
def test_from_dict_names_missing_keys(drop: tuple[str, ...], match: str) -> None:
    d = full_dict()
    for key in drop:
        del d[key]
    with pytest.raises(ValueError, match=f"Bounds data is {match}"):
        cyclr.Bounds.from_dict(d)


@pytest.mark.parametrize(
    ("key", "value", "match"),
    [
        ("base_lr", "0.05", "base_lr must be a number, got '0.05'"),
        ("max_lr", None, "max_lr must be a number, got None"),
        ("base_lr", True, "base_lr must be a number, got True"),
        ("method", 3, "method must be a string, got 3"),
        ("reason", ["x"], r"reason must be a string, got \['x'\]"),
        ("curve", 1.0, "curve must be a string or null, got 1.0"),
        ("curve_lr", "0.01", "curve_lr must be a list, got '0.01'"),
        ("curve_values", [1.0, "a"], r"curve_values\[1\] must be a number or null, got 'a'"),
        ("points", "max_lr", "points must be a list, got 'max_lr'"),
        ("points", ["max_lr"], r"points\[0\] must be a dict, got 'max_lr'"),
        ("points", [{"label": "x"}], r"points\[0\] is missing key: lr"),
        ("points", [{"label": 1, "lr": 0.1}], r"points\[0\].label must be a string, got 1"),
        ("points", [{"label": "x", "lr": "a"}], r"points\[0\].lr must be a number, got 'a'"),
        (
            "points",
            [{"label": "x", "lr": 0.1, "index": 1.5}],
            r"points\[0\].index must be an integer or null, got 1.5",
        ),
        ("details", [["noise", 0.01]], r"details must be a dict, got \[\['noise', 0.01\]\]"),
    ],
)
def test_from_dict_names_a_wrong_typed_field(key: str, value: object, match: str) -> None:
    d = full_dict()
    d[key] = value
    with pytest.raises(ValueError, match=f"Bounds data: {match}"):
        cyclr.Bounds.from_dict(d)


def test_from_dict_refuses_what_is_not_a_dict() -> None:
    for data in (["base_lr", 0.1], "cyclr.Bounds/1", None):
        with pytest.raises(ValueError, match="not a cyclr Bounds"):
            cyclr.Bounds.from_dict(data)  # type: ignore[arg-type]


lrs = st.floats(min_value=1e-8, max_value=10.0, allow_nan=False)


@given(lrs, st.floats(min_value=1.0, max_value=1e4))
def test_round_trip_property(base: float, ratio: float) -> None:
    b = cyclr.Bounds(base, base * ratio, method="m", reason="r")
    assert cyclr.Bounds.from_dict(json.loads(json.dumps(b.to_dict()))) == b
    s = b.one_cycle(100)
    assert s.max_lr == b.max_lr and s(0) == pytest.approx(min(b.base_lr, b.max_lr / 10))


def loss_bounds() -> cyclr.Bounds:
    lr = np.geomspace(1e-4, 1.0, 200)
    loss = 2.3 - 1.5 / (1 + np.exp(-(np.log10(lr) + 2) * 4)) + 20 * lr**3
    r = cyclr.RangeTestResult(lr=lr, loss=loss, smoothed_loss=loss, mode="exp")
    return r.suggest("loss")


def test_a_two_bound_rule_carries_its_reading_and_json_keeps_it() -> None:
    b = loss_bounds()
    reading = b.reading
    assert reading is not None and reading.rule == "loss"
    assert len(reading.se) == len(b.curve_values) == reading.points_used
    best = int(np.argmin(b.curve_values))
    assert reading.se[best] == reading.se_best and reading.se[-1] == reading.se_last
    lo, hi = reading.plateau
    assert lo <= reading.plateau_centre <= hi and lo <= b.curve_lr[best] <= hi
    assert reading.start_level == pytest.approx(2.3, abs=0.01)  # the loss's own units
    back = cyclr.Bounds.from_dict(json.loads(json.dumps(b.to_dict())))
    assert back == b and back.reading == reading
    assert "best_range" not in b.details and b.details == {"margin": 2.0}


def test_single_lr_rules_and_old_json_have_no_reading() -> None:
    b = loss_bounds()
    assert b.__class__.from_dict({**b.to_dict(), "reading": None}).reading is None
    old = {k: x for k, x in b.to_dict().items() if k != "reading"}
    assert cyclr.Bounds.from_dict(old).reading is None
    lr = np.geomspace(1e-4, 1.0, 200)
    loss = 2.3 - 1.5 / (1 + np.exp(-(np.log10(lr) + 2) * 4)) + 20 * lr**3
    r = cyclr.RangeTestResult(lr=lr, loss=loss, smoothed_loss=loss, mode="exp")
    assert r.suggest("valley").reading is None


def test_the_reading_keeps_the_significance_test_of_its_rule() -> None:
    lr = np.geomspace(1e-4, 1.0, 200)
    loss = 2.3 - 1.5 / (1 + np.exp(-(np.log10(lr) + 2) * 4)) + 20 * lr**3
    r = cyclr.RangeTestResult(lr=lr, loss=loss, smoothed_loss=loss, mode="exp")
    reading = r.suggest("loss").reading
    assert reading is not None and reading.tested_change > 0 and reading.tested_se > 0
    z = reading.tested_change / reading.tested_se
    assert r.suggest("loss", z=z * 0.99).method == "loss"  # passes just below, fails above
    with pytest.raises(cyclr.SuggestionError, match="flat") as info:
        r.suggest("loss", z=z * 1.01)
    assert info.value.kind == "flat"
    saved = {k: x for k, x in reading.to_dict().items() if not k.startswith("tested_")}
    old = Reading.from_dict(saved)
    assert math.isnan(old.tested_change) and math.isnan(old.tested_se)
    assert old == replace(reading, tested_change=old.tested_change, tested_se=old.tested_se)


def test_reading_data_with_a_missing_or_mistyped_field_is_refused() -> None:
    data = loss_bounds().to_dict()
    reading = dict(data["reading"])
    del reading["plateau"]
    with pytest.raises(ValueError, match="Bounds data: reading is missing key: plateau"):
        cyclr.Bounds.from_dict({**data, "reading": reading})
    with pytest.raises(ValueError, match=r"Reading data.noise must be a number or null"):
        Reading.from_dict({**data["reading"], "noise": "low"})
    with pytest.raises(TypeError, match=r"reading must be a cyclr\.suggest\.Reading"):
        cyclr.Bounds(0.1, 0.2, method="manual", reason="", reading={"rule": "loss"})  # type: ignore[arg-type]
