"""The per-update recorder: what it keeps, how it says why the test ended, what it builds."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

import cyclr
from cyclr.range_test.checks import RangeTestOptions, check_options
from cyclr.range_test.recorder import Recorder, library_versions
from cyclr.range_test.smoothing import DIVERGE_WARMUP


def options(**kw: Any) -> RangeTestOptions:
    base: dict[str, Any] = dict(
        start_lr=1e-4,
        end_lr=1.0,
        num_iter=10,
        mode="exp",
        smooth=0.5,
        diverge=4.0,
        val_every=3,
        seed=None,
        metric=None,
    )
    return check_options(**{**base, **kw})


def run(rec: Recorder, losses: list[float]) -> None:
    """Record ``losses`` along the ramp as a loop does, stopping where the loop would."""
    for loss in losses:
        if not math.isfinite(loss):
            rec.stop_non_finite(loss, rec.options.lr(rec.n))
            return
        rec.record(rec.options.lr(rec.n), loss)
        if rec.check_diverged() or rec.check_end():
            return


def test_a_full_ramp_ends_with_every_update_recorded() -> None:
    rec = Recorder(options(), groups=2)
    run(rec, [2.0 - 0.1 * i for i in range(10)])
    r = rec.result({"optimizer": "SGD"}, {"cyclr": cyclr.__version__})
    assert isinstance(r, cyclr.RangeTestResult)
    assert (r.stop_reason, r.message) == ("end", "exp ramp 0.0001 -> 1 over 10 updates")
    assert r.lr.tolist() == [options().lr(i) for i in range(10)]
    assert r.group_lrs.shape == (10, 2) and np.array_equal(r.group_lrs[:, 1], r.lr)
    assert r.metric is None and r.val_step is None and r.config == {"optimizer": "SGD"}
    avg, expected = 0.0, []
    for n, loss in enumerate(r.loss, 1):
        avg = 0.5 * avg + 0.5 * loss
        expected.append(avg / (1 - 0.5**n))
    assert r.smoothed_loss.tolist() == expected


def test_divergence_stops_at_the_first_crossing_with_its_message() -> None:
    rec = Recorder(options(smooth=0.0))
    run(rec, [1.0] * DIVERGE_WARMUP + [3.0, 5.0, 9.0])
    assert rec.stop_reason == "diverged" and rec.n == DIVERGE_WARMUP + 2
    lr = rec.lrs[-1]
    assert rec.message == f"smoothed loss 5 > 4 x best 1 at update 6 (lr={lr:.3g})"


def test_a_non_finite_loss_is_not_recorded() -> None:
    rec = Recorder(options(), loss_name="the loss")
    run(rec, [math.nan])
    assert rec.n == 0 and rec.stop_reason == "non_finite_loss"
    assert rec.message == (
        "the loss was nan at the first update (lr=0.0001), before the LR could matter: "
        "check the model, the data and the loss"
    )
    rec = Recorder(options())
    run(rec, [1.0, 1.0, math.inf])
    assert (
        rec.n == 2
        and rec.message == f"the loss became inf at update 2 (lr={rec.options.lr(2):.3g})"
    )
    assert rec.result({}, {}).loss.tolist() == [1.0, 1.0]


def test_a_scaler_skipping_every_step_blames_the_gradients_not_the_loss() -> None:
    rec = Recorder(options())
    rec.stop_skipped(51, 1e-4)
    assert rec.n == 0 and rec.stop_reason == "non_finite_loss"
    assert rec.message == (
        "the GradScaler skipped every step (51 in a row from the first update, lr=0.0001) "
        "because of inf/NaN gradients; the losses were finite. Nothing was recorded: start at "
        "a smaller start_lr, or give the GradScaler a smaller init_scale"
    )
    rec = Recorder(options())
    run(rec, [1.0, 1.0])
    rec.stop_skipped(51, rec.options.lr(2))
    assert rec.n == 2 and rec.message == (
        f"the GradScaler skipped 51 steps in a row at update 2 (lr={rec.options.lr(2):.3g}) "
        "because of inf/NaN gradients; the losses were finite"
    )


def test_exhaustion_and_errors_name_the_update() -> None:
    rec = Recorder(options(), source="dataset")
    run(rec, [1.0, 1.0, 1.0])
    rec.stop_exhausted()
    assert (rec.stop_reason, rec.message) == (
        "data_exhausted",
        "dataset ran out of batches after 3 of 10 updates",
    )
    assert rec.error_message(RuntimeError("boom")) == "RuntimeError at update 3: boom"
    r = rec.result({}, {}, "interrupted", rec.error_message(KeyboardInterrupt()))
    assert (r.stop_reason, r.message) == ("interrupted", "KeyboardInterrupt at update 3: ")


def test_metric_and_validation_points() -> None:
    rec = Recorder(options(), has_val=True)
    rec.metric_name = "accuracy"
    rec.record(1e-4, 2.0, metric=0.25)
    rec.record_validation(0, 2.5, 0.2)
    rec.record(2e-4, 1.9)  # no metric this update: NaN
    rec.record_validation(1, 2.4)
    r = rec.result({}, {})
    assert r.metric_name == "accuracy" and r.metric[0] == 0.25 and math.isnan(r.metric[1])
    assert r.val_step.tolist() == [0, 1] and r.val_loss.tolist() == [2.5, 2.4]
    assert r.val_metric[0] == 0.2 and math.isnan(r.val_metric[1])
    rec.metric_name = None
    rec.metrics.clear()
    assert rec.result({}, {}).val_metric is None


def test_an_empty_result_is_valid_and_saves(tmp_path) -> None:
    rec = Recorder(options(), groups=1)
    rec.stop_non_finite(math.nan, 1e-4)
    r = rec.result({}, {})
    assert len(r) == 0 and r.group_lrs.shape == (0, 1)
    back = cyclr.RangeTestResult.load(r.save(tmp_path / "r.json"))
    assert back.stop_reason == "non_finite_loss" and len(back) == 0


@pytest.mark.parametrize("framework", [{}, {"torch": "2.0"}])
def test_library_versions(framework: dict[str, str]) -> None:
    v = library_versions(**framework)
    assert list(v) == ["cyclr", *framework, "python", "numpy"]
    assert v["cyclr"] == cyclr.__version__ and v["numpy"] == np.__version__
