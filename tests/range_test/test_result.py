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
