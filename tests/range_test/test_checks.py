"""The shared argument checks: each mistake gets one message naming the argument and value."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from tests.support.bad_options import BAD, BAD_IDS

from cyclr.range_test.checks import (
    SEED_LIMIT,
    RangeTestOptions,
    check_loader,
    check_metric,
    check_options,
    check_reiterable,
    group_lr_ratios,
)

GOOD: dict[str, Any] = dict(
    start_lr=None,
    end_lr=None,
    num_iter=100,
    mode="exp",
    smooth=0.98,
    diverge=4.0,
    val_every=10,
    seed=None,
    metric="auto",
)


@pytest.mark.parametrize(("bad", "error", "message"), BAD, ids=BAD_IDS)
def test_bad_options_raise_one_message(bad: dict[str, Any], error: type, message: str) -> None:
    with pytest.raises(error) as info:
        check_options(**{**GOOD, **bad})
    assert str(info.value) == message


def test_good_options_resolve_the_defaults() -> None:
    o = check_options(**GOOD)
    assert o == RangeTestOptions(1e-7, 10.0, 100, "exp", 0.98, 4.0, 10, None)
    o = check_options(**{**GOOD, "mode": "linear", "end_lr": 2, "diverge": None, "seed": 7})
    assert (o.start_lr, o.end_lr, o.diverge, o.seed) == (1e-3, 2.0, None, 7)
    assert isinstance(o.end_lr, float)
    assert check_options(**{**GOOD, "seed": SEED_LIMIT - 1}).seed == 2**32 - 1


def test_the_options_json_copy_names_each_option_once() -> None:
    o = check_options(**{**GOOD, "mode": "linear", "seed": 3})
    assert o.to_dict(validates=True) == {
        "start_lr": 1e-3,
        "end_lr": 1.0,
        "num_iter": 100,
        "mode": "linear",
        "smooth": 0.98,
        "diverge": 4.0,
        "val_every": 10,
        "seed": 3,
    }
    assert o.to_dict(validates=False)["val_every"] is None


@pytest.mark.parametrize(("name", "value"), [("num_iter", None), ("mode", None)])
def test_the_ramp_has_no_none_default_left_to_resolve(name: str, value: Any) -> None:
    with pytest.raises((TypeError, ValueError), match=name):
        check_options(**{**GOOD, name: value})


@pytest.mark.parametrize("metric", [None, "auto", "accuracy", "any name", len])
def test_metric_may_be_a_name_a_callable_or_none(metric: Any) -> None:
    check_metric(metric)


def test_loader_checks() -> None:
    check_loader("train_loader", [1], optional=False)
    check_loader("train_loader", iter([]), optional=False)  # no len(): found empty only later
    check_loader("val_loader", None, optional=True)
    with pytest.raises(ValueError, match=r"^train_loader is empty \(len\(train_loader\) == 0\)$"):
        check_loader("train_loader", [], optional=False)
    with pytest.raises(TypeError, match=r"^dataset must be an iterable of batches, got 42$"):
        check_loader("dataset", 42, optional=False)
    with pytest.raises(TypeError, match="got None"):
        check_loader("train_loader", None, optional=False)


@pytest.mark.parametrize(
    ("lrs", "ratios"),
    [
        ([0.1, 0.025], [1.0, 0.25]),
        ([0.1, 0.0], [1.0, 0.0]),
        ([0.0, 0.2, 0.02], [0.0, 1.0, 0.1]),
        ([0.0, 0.0], [1.0, 1.0]),
        ([float("nan"), 0.5, -1.0, 0.0], [1.0, 1.0, 1.0, 0.0]),
        ([None, 0.4], [1.0, 1.0]),
        ([np.float32(0.5), 0.25], [1.0, 0.5]),
    ],
)
def test_group_ratios_are_over_the_first_group_with_a_positive_lr(
    lrs: list[Any], ratios: list[float]
) -> None:
    assert group_lr_ratios(lrs) == pytest.approx(ratios, rel=1e-15)


def test_a_one_shot_iterator_is_refused_with_its_name() -> None:
    check_reiterable("train_loader", [1, 2])
    check_reiterable("train_loader", range(3))
    check_reiterable("val_loader", None)
    for one_shot in (iter([1, 2]), (b for b in [1, 2]), map(float, [1, 2])):
        with pytest.raises(TypeError, match=r"train_loader is a one-shot iterator .*re-iterable"):
            check_reiterable("train_loader", one_shot)
