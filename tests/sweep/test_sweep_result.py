"""``SweepResult`` and its suggestion rule, on synthetic curves with known answers (numpy only)."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pytest

import cyclr
import cyclr.sweep.result
from cyclr.suggest import SuggestionError
from cyclr.suggest._curve import blow_up_cut, kernel_width, local_linear, residual_noise
from cyclr.sweep import check_values, curve_data

LR = np.geomspace(1e-5, 10, 300)
MOMENTA = (0.99, 0.97, 0.95, 0.9)


def valley(
    shift: float = 0.0, floor: float = 0.3, noise: float = 0.05, seed: int = 0, lr: np.ndarray = LR
) -> np.ndarray:
    """A range-test loss: falls from 2.3 to ``floor`` around 10**(shift - 2.5), blows up near
    10**(shift + 0.5); ``shift`` moves the whole curve along log10(LR)."""
    x = np.log10(lr) - shift
    y = 2.3 - (2.3 - floor) / (1 + np.exp(-3 * (x + 2.5))) + np.exp(2.0 * (x - 0.5))
    return y + np.random.default_rng(seed).normal(0, noise, lr.size)


def run(loss: np.ndarray, lr: np.ndarray = LR, **kw: Any) -> cyclr.RangeTestResult:
    return cyclr.RangeTestResult(lr=lr, loss=loss, smoothed_loss=loss, mode="exp", **kw)


def momentum_sweep(seed: int = 0, order: tuple[float, ...] = MOMENTA) -> cyclr.SweepResult:
    """The effective LR is lr / (1 - m): lower momentum shifts the curve to larger LRs."""
    runs = [run(valley(shift=math.log10(1 - m) + 1, seed=seed + i)) for i, m in enumerate(order)]
    return cyclr.SweepResult("momentum", order, runs)


def test_lower_momentum_keeps_the_loss_low_to_a_larger_lr_and_wins() -> None:
    s = momentum_sweep().suggest()
    assert s.clear and s.value == 0.9 == s.leader and not s.overlaps
    stable = [s.reading(m).stable_lr for m in MOMENTA]
    assert stable == sorted(stable)  # 0.99 gives up first
    assert s.bounds is not None and s.bounds.max_lr < s.reading(0.9).stable_lr * 10
    assert s.reason.startswith("momentum=0.9: its loss stays within noise of its floor")
    assert s.curve == "loss" and s.next_values == ()


def test_the_choice_does_not_depend_on_the_order_of_the_values() -> None:
    assert momentum_sweep(order=(0.9, 0.99, 0.95, 0.97)).suggest().value == 0.9


def test_a_clearly_lower_floor_beats_a_larger_stable_lr() -> None:
    runs = [run(valley(shift=0.0, floor=0.1, seed=1)), run(valley(shift=0.7, floor=0.8, seed=2))]
    s = cyclr.SweepResult("momentum", (0.95, 0.9), runs).suggest()
    assert s.value == 0.95 and s.reading(0.9).stable_lr > s.reading(0.95).stable_lr


def test_depth_tolerance_decides_between_a_slightly_lower_floor_and_a_larger_lr() -> None:
    """Floors 0.05 apart (2.5% of the drop), almost no noise: equally low by default, so the
    larger stable LR wins; with depth_tol=0 the lower floor wins."""
    runs = [
        run(valley(shift=0.0, floor=0.25, noise=0.002, seed=1)),
        run(valley(shift=0.5, floor=0.30, noise=0.002, seed=2)),
    ]
    s = cyclr.SweepResult("momentum", (0.95, 0.9), runs)
    assert s.suggest().value == 0.9
    assert s.suggest(depth_tol=0.0).value == 0.95


@pytest.mark.parametrize("seed", [0, 10, 20])
def test_curves_that_overlap_within_noise_have_no_clear_winner(seed: int) -> None:
    runs = [run(valley(seed=seed + i)) for i in range(4)]
    s = cyclr.SweepResult("momentum", MOMENTA, runs).suggest()
    assert not s.clear and s.value is None and s.leader in MOMENTA
    assert len(s.overlaps) >= 1 and s.leader not in s.overlaps
    assert s.reason.startswith("no clear winner: momentum=")
    assert s.bounds is not None  # the leader's bounds are still read


def test_false_clear_winners_are_rare_on_identical_noisy_curves() -> None:
    clear = sum(
        cyclr.SweepResult(
            "momentum", (0.9, 0.95), [run(valley(seed=2 * s)), run(valley(seed=2 * s + 1))]
        )
        .suggest()
        .clear
        for s in range(40)
    )
    assert clear <= 2


def test_noise_is_read_where_the_curves_are_compared() -> None:
    """A loss that barely scatters on its flat start but scatters 0.1 near its floor: two such
    curves overlap within that noise, however quiet the start (a single noise level for the
    whole curve would call a clear winner here)."""

    def noisy(floor: float, seed: int) -> np.ndarray:
        y = valley(floor=floor, noise=0.0)
        scale = np.where(y < 2.0, 0.1, 0.002)
        return y + np.random.default_rng(seed).normal(0, 1, y.size) * scale

    s = cyclr.SweepResult("momentum", (0.95, 0.9), [run(noisy(0.3, 1)), run(noisy(0.3, 2))])
    choice = s.suggest(depth_tol=0.0)
    assert not choice.clear
    assert choice.reading(0.95).noise == pytest.approx(0.1, rel=0.3)


def test_identical_noise_free_curves_tie() -> None:
    y = valley(noise=0.0)
    s = cyclr.SweepResult("weight_decay", (1e-4, 0.0), [run(y), run(y.copy())]).suggest()
    assert not s.clear and s.value is None and len(s.overlaps) == 1


def test_a_value_that_diverged_at_once_is_clearly_beaten() -> None:
    dead = np.full(LR.size, np.nan)
    dead[:3] = [2.3, 5.0, 40.0]
    runs = [run(dead, stop_reason="non_finite_loss"), run(valley(seed=1))]
    s = cyclr.SweepResult("momentum", (0.999, 0.9), runs).suggest()
    assert s.value == 0.9 and not s.reading(0.999).ok and s.reading(0.999).blew_up
    assert "0.999: it diverged at once" in s.reason


def test_no_readable_curve_raises() -> None:
    short = [run(valley()[:5], lr=LR[:5]) for _ in range(2)]
    with pytest.raises(SuggestionError) as info:
        cyclr.SweepResult("momentum", (0.9, 0.8), short).suggest()
    assert info.value.kind == "too_short" and "only 5 points" in str(info.value)


def weight_decay_sweep() -> cyclr.SweepResult:
    """Training loss alike for every value; the validation loss favours 1e-4, then 1e-3."""
    val_floor = {1e-3: 0.55, 1e-4: 0.40, 1e-5: 0.70, 0.0: 0.75}
    steps = np.arange(0, LR.size, 10)
    runs = []
    for i, vf in enumerate(val_floor.values()):
        train = valley(seed=i)
        val = valley(floor=vf, noise=0.01, seed=100 + i)[steps]
        runs.append(run(train, val_step=steps, val_loss=val))
    return cyclr.SweepResult("weight_decay", tuple(val_floor), runs)


def test_weight_decay_is_judged_by_the_validation_loss_and_bisected() -> None:
    s = weight_decay_sweep().suggest()
    assert s.curve == "val_loss" and s.value == 1e-4
    assert s.next_values == pytest.approx((10**-3.5,))
    floors = [s.reading(wd).floor for wd in (1e-4, 1e-3, 1e-5, 0.0)]
    assert floors == sorted(floors)
    assert weight_decay_sweep().suggest("loss").curve == "loss"


def test_a_validation_spike_marks_the_blow_up() -> None:
    """Sparse validation curves alike up to their minimum, one spiking above the start level and
    dipping again before it blows up: the spike ends its usable part, as the other's jump does,
    so neither is clearly worse."""
    head = [2.31] * 11 + [2.30, 2.27, 2.22, 2.08, 1.68, 0.83]
    steps = np.arange(0, 100, 5)
    lr = np.geomspace(1e-7, 10, 100)
    runs = [
        run(np.full(100, 2.3), lr=lr, val_step=steps, val_loss=head + tail, stop_reason="diverged")
        for tail in ([2.82, 1.5, 326.7], [2.84, 3.0, 424.0])
    ]
    s = cyclr.SweepResult("weight_decay", (1e-3, 0.0), runs).suggest()
    assert s.curve == "val_loss" and not s.clear
    assert s.reading(1e-3).floor == pytest.approx(s.reading(0.0).floor)


def test_a_metric_is_read_higher_is_better() -> None:
    acc = {0.9: 0.9, 0.95: 0.6}
    runs = [
        run(valley(seed=i), metric=1.0 - valley(floor=1 - a, noise=0.01, seed=50 + i) / 2.3)
        for i, a in enumerate(acc.values())
    ]
    s = cyclr.SweepResult("momentum", tuple(acc), runs, {}).suggest("metric")
    assert s.curve == "metric" and s.value == 0.9
    assert s.reading(0.9).floor > s.reading(0.95).floor  # floor = the best (highest) accuracy


def test_residual_noise_estimates_white_noise() -> None:
    x = np.arange(400.0)
    rng = np.random.default_rng(1)
    for h in (2.0, 5.0, 10.0):
        y = np.cos(x / 80) + rng.normal(0, 0.2, x.size)
        fit, norm = local_linear(x, y, h)
        assert residual_noise(y, fit, norm) == pytest.approx(0.2, rel=0.12)


def test_json_round_trip(tmp_path: Any) -> None:
    s = weight_decay_sweep()
    s.config.update(field="weight_decay", original=5e-4)
    back = cyclr.SweepResult.load(s.save(tmp_path / "sweep.json"))
    assert back.param == s.param and back.values == s.values and back.config == s.config
    for a, b in zip(s.results, back.results):
        assert a.to_dict() == b.to_dict()
    assert back.suggest().to_dict() == s.suggest().to_dict()
    json.dumps(s.suggest().to_dict())  # plain JSON


def test_load_refuses_other_files(tmp_path: Any) -> None:
    p = tmp_path / "x.json"
    p.write_text(json.dumps(run(valley()).to_dict()))
    with pytest.raises(ValueError, match="not a cyclr sweep result"):
        cyclr.SweepResult.load(p)
    data = momentum_sweep().to_dict()
    data["extra"] = 1
    p.write_text(json.dumps(data))
    with pytest.raises(ValueError, match="unknown key"):
        cyclr.SweepResult.load(p)
    p.write_text("{")
    with pytest.raises(ValueError, match="not valid JSON"):
        cyclr.SweepResult.load(p)


@pytest.mark.parametrize(
    ("drop", "match"),
    [
        (("param",), "missing key: param"),
        (("values", "results"), "missing keys: values, results"),
    ],
)
def test_from_dict_names_missing_keys(drop: tuple[str, ...], match: str) -> None:
    data = momentum_sweep().to_dict()
    for key in drop:
        del data[key]
    with pytest.raises(ValueError, match=f"sweep result is {match}"):
        cyclr.SweepResult.from_dict(data)


def _broken(key: str, value: Any) -> dict[str, Any]:
    data = momentum_sweep().to_dict()
    if key.startswith("results["):
        data["results"][int(key[8])] = value
    else:
        data[key] = value
    return data


@pytest.mark.parametrize(
    ("key", "value", "match"),
    [
        ("param", 3, "param must be a non-empty string, got 3"),
        ("values", "0.9", "values must be a list, got '0.9'"),
        ("values", [0.99, "x", 0.95, 0.9], r"values\[1\] must be a real number"),
        ("values", [0.99, 0.97, 0.95, 1.5], r"values\[3\] must be in \[0, 1\)"),
        ("results", {"0": {}}, "results must be a list, got dict"),
        ("results", "x", "results must be a list, got str"),
        ("results[1]", "x", r"results\[1\] must be a dict \(a range test's to_dict\(\)\), got 'x'"),
        ("results[2]", {"format": "x"}, r"results\[2\]: not a cyclr range-test result"),
        ("results[0]", None, r"results\[0\] must be a dict"),
        ("config", [1], r"config must be a dict, got \[1\]"),
        ("values", [0.99, 10**400, 0.95, 0.9], r"values\[1\] must be finite, got 1\.000e\+400$"),
        (
            "results[3]",
            dict(run(valley()).to_dict(), lr=LR[::-1].tolist()),
            r"results\[3\]: lr must increase strictly: lr\[1\] = 9\.54846 is not above lr\[0\]",
        ),
    ],
)
def test_from_dict_names_a_wrong_field(key: str, value: Any, match: str) -> None:
    with pytest.raises(ValueError, match=f"sweep result: {match}"):
        cyclr.SweepResult.from_dict(_broken(key, value))


def test_from_dict_refuses_what_is_not_a_dict() -> None:
    for data in (["momentum"], None, "cyclr.SweepResult/1"):
        with pytest.raises(ValueError, match="not a cyclr sweep result"):
            cyclr.SweepResult.from_dict(data)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "args, exc, match",
    [
        (("momentum", (0.9, 0.8), "r1"), ValueError, "results has 1 entries but values has 2"),
        (("momentum", (0.9, 0.8), "rr"), TypeError, "results must be a sequence"),
        (
            ("momentum", (0.9, 0.8), "x1"),
            TypeError,
            r"results\[0\] must be a cyclr.RangeTestResult",
        ),
        (("momentum", (0.9, 0.9), "r2"), ValueError, "duplicates"),
        (("momentum", (), "r0"), ValueError, "values is empty"),
        (("", (0.9,), "r1"), TypeError, "param must be a non-empty string"),
        (("batch_size", (32, True), "r2"), TypeError, r"values\[1\] must be an integer"),
        (("dropout", (0.1, math.inf), "r2"), ValueError, r"values\[1\] must be finite"),
    ],
)
def test_bad_sweeps_are_refused(args: tuple, exc: type, match: str) -> None:
    param, values, kind = args
    r = run(valley())
    results: Any = {"r1": [r], "r2": [r, r], "r0": [], "rr": r, "x1": ["x", r]}[kind]
    with pytest.raises(exc, match=match):
        cyclr.SweepResult(param, values, results)


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        (dict(curve="accuracy"), ValueError, "curve must be one of"),
        (dict(curve="metric"), ValueError, "recorded no metric"),
        (dict(curve="val_loss"), ValueError, "recorded no val loss"),
        (dict(z=0), ValueError, "z must be > 0"),
        (dict(depth_tol=2), ValueError, r"depth_tol must be in \[0, 1\]"),
        (dict(bandwidth=0), ValueError, "bandwidth must be in"),
        (dict(method="nope"), SuggestionError, "method must be one of"),
    ],
)
def test_bad_suggest_options(kwargs: dict, exc: type, match: str) -> None:
    with pytest.raises(exc, match=match):
        momentum_sweep().suggest(**kwargs)


def test_the_usable_part_ends_where_the_shared_cut_says() -> None:
    sweep = momentum_sweep()
    s = sweep.suggest("loss", bandwidth=1 / 20)
    assert s.details["bandwidth"] == 1 / 20 and "smooth" not in s.details
    for value, result in sweep.items():
        _, y = curve_data(result, "loss")
        h = kernel_width(len(y), 1 / 20)
        start = float(np.median(y[: min(max(3, int(2 * h)), len(y) // 4)]))
        cut = blow_up_cut(y, start, max(1, round(h)))
        reading = s.reading(value)
        assert cut is not None and reading.blew_up and len(reading.lr) == cut


def test_suggestion_classes_keep_their_old_import_path() -> None:
    from cyclr.sweep import SweepSuggestion

    assert SweepSuggestion is cyclr.SweepSuggestion is cyclr.sweep.SweepSuggestion
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        cyclr.sweep.result.nope  # noqa: B018


def test_check_values_returns_plain_numbers() -> None:
    assert check_values("batch_size", np.array([32, 64])) == (32, 64)
    assert type(check_values("weight_decay", np.array([1e-4, 0.0]))[0]) is float
    assert cyclr.SweepResult("momentum", [0.9], [run(valley())]).label == "momentum"


def test_a_sweep_curve_that_crosses_its_start_level_by_noise_at_once_is_read_on() -> None:
    """The blow-up cut of a sweep's curve takes the same significance test as a rule's: a loss
    that wanders above its start level by noise in its first points has not blown up."""
    lr = np.geomspace(1e-4, 10, 200)
    rng = np.random.default_rng(0)
    flat = 2.3 + rng.normal(0, 0.05, 200) + np.where(lr > 0.5, (lr - 0.5) * 3, 0.0)
    flat[0] = 2.0  # the running median's lowest value is at the first point
    good = 2.3 - 1.5 / (1 + np.exp(-(np.log10(lr) + 2) * 4)) + 8 * lr
    runs = [cyclr.RangeTestResult(lr=lr, loss=y, smoothed_loss=y, mode="exp") for y in (good, flat)]
    reading = cyclr.SweepResult("momentum", (0.9, 0.99), runs).suggest("loss").reading(0.99)
    assert reading.ok and reading.blew_up
    assert 0.5 <= float(reading.note.split("lr=")[1]) <= 0.6  # where the loss really rises
