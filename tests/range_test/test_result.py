"""RangeTestResult refuses malformed data with a ValueError naming the field."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import cyclr
from cyclr import RangeTestResult


def good() -> dict[str, Any]:
    lr = np.geomspace(1e-4, 1, 12)
    return cyclr.RangeTestResult(
        lr=lr,
        loss=2 - lr,
        smoothed_loss=2 - lr,
        metric=lr,
        group_lrs=np.stack([lr, 2 * lr], axis=1),
        val_step=[0, 5, 10],
        val_loss=[2.0, 1.9, 1.5],
        val_metric=[0.1, 0.2, 0.5],
        mode="exp",
    ).to_dict()


def test_a_well_formed_result_round_trips(tmp_path: Path) -> None:
    data = good()
    path = tmp_path / "r.json"
    path.write_text(json.dumps(data))
    assert cyclr.RangeTestResult.load(path).to_dict() == data


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("loss", [[1.0, 2.0]] * 12, "loss must be a 1-D array"),
        ("lr", [[1e-4]] * 12, "lr must be a 1-D array"),
        ("group_lrs", list(range(12)), "group_lrs must be a 2-D array"),
        ("val_step", [0, 5, 12], "val_step"),
        ("val_step", [0, -1, 10], "val_step"),
        ("val_step", [5, 0, 10], "val_step"),
        ("val_step", [0.5, 5, 10], "val_step"),
        ("config", [], "config must be a dict"),
        ("config", "x", "config must be a dict"),
        ("versions", [1], "versions must be a dict"),
        ("lr", "abc", "lr must be"),
        ("loss", [{"a": 1}] * 12, "loss must be"),
        ("metric_name", 3, "metric_name must be"),
        ("message", 3, "message must be"),
    ],
)
def test_malformed_fields_raise_a_value_error_naming_them(
    key: str, value: Any, message: str
) -> None:
    data = good()
    data[key] = value
    with pytest.raises(ValueError, match=message):
        cyclr.RangeTestResult.from_dict(data)


def test_a_missing_required_field_is_named() -> None:
    data = good()
    del data["loss"]
    with pytest.raises(ValueError, match=r"missing.*loss"):
        cyclr.RangeTestResult.from_dict(data)


# -- the recipe's linear test carries its coarse test ------------------------------------------
def _tiny(mode: str = "exp", n: int = 12) -> RangeTestResult:
    lr = np.geomspace(1e-4, 1.0, n) if mode == "exp" else np.linspace(1e-3, 1.0, n)
    loss = np.linspace(2.0, 1.0, n)
    return RangeTestResult(lr=lr, loss=loss, smoothed_loss=loss, mode=mode)


def test_a_coarse_test_round_trips_through_json(tmp_path) -> None:
    coarse = _tiny("exp")
    linear = dataclasses.replace(_tiny("linear", 20), coarse=coarse)
    back = RangeTestResult.load(linear.save(tmp_path / "r.json"))
    assert back.coarse is not None and back.coarse.coarse is None
    assert back.coarse.lr.tobytes() == coarse.lr.tobytes() and back.coarse.mode == "exp"
    assert back.lr.tobytes() == linear.lr.tobytes()
    assert RangeTestResult.load(_tiny().save(tmp_path / "s.json")).coarse is None


def test_coarse_must_be_a_result() -> None:
    with pytest.raises(ValueError, match="coarse must be a RangeTestResult or None, got list"):
        dataclasses.replace(_tiny(), coarse=[1, 2])


# -- the LR column is a ramp: it increases strictly --------------------------------------------
@pytest.mark.parametrize(
    ("lr", "message"),
    [
        (np.geomspace(1e-4, 1, 12)[::-1], r"lr\[1\] = 0\.432876 is not above lr\[0\] = 1$"),
        (np.full(12, 0.01), r"lr\[1\] = 0\.01 is not above lr\[0\] = 0\.01$"),
        (np.r_[np.linspace(1e-3, 0.5, 6), 0.5, np.linspace(0.6, 1, 5)], r"lr\[6\] = 0\.5 is not"),
    ],
)
def test_an_lr_that_does_not_increase_strictly_is_refused_where_it_fails(
    lr: np.ndarray, message: str
) -> None:
    loss = np.linspace(2.0, 1.0, 12)
    with pytest.raises(ValueError, match="^lr must increase strictly: " + message):
        RangeTestResult(lr=lr, loss=loss, smoothed_loss=loss, mode="exp")
    data = dict(good(), lr=lr.tolist())
    with pytest.raises(ValueError, match=message):
        RangeTestResult.from_dict(data)


@pytest.mark.parametrize("mode", ["exp", "linear"])
def test_ramps_still_pass_and_round_trip(mode: str, tmp_path: Path) -> None:
    from cyclr.range_test.ramp import ramp_lr

    lr = [ramp_lr(i, 1e-7, 10.0, 1000, mode) for i in range(1000)]
    loss = np.linspace(2.0, 1.0, 1000)
    r = RangeTestResult(lr=lr, loss=loss, smoothed_loss=loss, mode=mode)
    assert RangeTestResult.load(r.save(tmp_path / "r.json")).lr.tobytes() == r.lr.tobytes()


# -- numbers a float cannot hold ----------------------------------------------------------------
@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("lr", [10**400] * 12, "lr holds an integer too large for a float"),
        ("val_step", [0, 5, 10**30], r"val_step\[2\] = 1000000000000000000000000000000 is not an "),
        ("val_step", [-(10**19), 5, 10], r"val_step\[0\] = -10000000000000000000 is not an "),
    ],
)
def test_a_number_too_large_is_a_value_error_showing_it(key: str, value: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        RangeTestResult.from_dict(dict(good(), **{key: value}))


@pytest.mark.parametrize(
    ("text", "digits"),
    [(str(10**400), 401), (str(-(10**309)), 310), ("7" * 5000, 5000)],
)
def test_reading_json_with_an_integer_too_large_for_a_float_names_the_file(
    text: str, digits: int, tmp_path: Path
) -> None:
    path = tmp_path / "r.json"
    path.write_text(json.dumps(good()).replace('"config": {}', f'"config": {{"seed": {text}}}'))
    assert text in path.read_text()
    with pytest.raises(ValueError) as info:
        RangeTestResult.load(path)
    assert str(info.value) == f"{path}: an integer of {digits} digits is too large for a float"


def test_reading_json_keeps_integers_a_float_can_hold(tmp_path: Path) -> None:
    big = int(np.finfo(np.float64).max)
    path = tmp_path / "r.json"
    path.write_text(json.dumps(dict(good(), config={"seed": 2**64, "top": big})))
    assert RangeTestResult.load(path).config == {"seed": 2**64, "top": big}
