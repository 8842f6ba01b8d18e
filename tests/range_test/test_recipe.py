"""cyclr.range_test.recipe: the two-stage plan, with a stand-in for an adapter's single test."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import cyclr
from cyclr.range_test.recipe import (
    COARSE_ITER,
    LINEAR_ITER,
    LOW_RATIO,
    FoundBounds,
    Recipe,
    recipe_tests,
    refuse_single_ramp,
    run_recipe,
)


class StandIn:
    """A single test over a loss that falls, then blows up at ``10**blow``; records its calls."""

    def __init__(self, blow: float = -0.5, flat: bool = False) -> None:
        self.blow, self.flat = blow, flat
        self.calls: list[dict[str, Any]] = []

    def __call__(self, **ramp: Any) -> cyclr.RangeTestResult:
        self.calls.append(ramp)
        lo, hi = ramp.get("start_lr", 1e-7), ramp.get("end_lr", 10.0)
        space = np.geomspace if ramp["mode"] == "exp" else np.linspace
        lr = space(lo, hi, ramp["num_iter"])
        x = np.log10(lr)
        loss = np.full_like(lr, 2.3) if self.flat else 2.3 - 1.5 / (1 + np.exp(-(x + 3) * 3))
        if not self.flat:
            loss = loss + np.where(x > self.blow, 50 * (x - self.blow), 0.0)
        return cyclr.RangeTestResult(
            lr=lr, loss=loss, smoothed_loss=loss, mode=ramp["mode"], config=dict(ramp)
        )


def test_the_recipe_runs_the_coarse_test_then_a_linear_one_up_to_its_blow_up() -> None:
    run, seen = StandIn(), []
    r = run_recipe(run, on_test=seen.append)
    assert [c["mode"] for c in run.calls] == ["exp", "linear"]
    assert run.calls[0] == {"mode": "exp", "num_iter": COARSE_ITER}
    assert run.calls[1]["num_iter"] == LINEAR_ITER
    blow = cyclr.suggest.blow_up_lr(r.coarse)
    assert run.calls[1]["end_lr"] == blow and run.calls[1]["start_lr"] == blow * LOW_RATIO
    assert seen[0] is r.coarse and seen[1] is r and r.coarse.coarse is None


@settings(max_examples=25, deadline=None)
@given(blow=st.floats(-2.0, 0.5))
def test_the_linear_test_ends_where_the_coarse_one_blew_up(blow: float) -> None:
    r = run_recipe(StandIn(blow), coarse_iter=120, linear_iter=50)
    end = r.config["end_lr"]
    assert end == cyclr.suggest.blow_up_lr(r.coarse)
    # the blow-up is read within a few of the coarse ramp's steps of where it starts
    assert abs(np.log10(end) - blow) < 8 / 119 * 8


def test_a_flat_coarse_test_raises_with_that_test_attached() -> None:
    run = StandIn(flat=True)
    with pytest.raises(cyclr.SuggestionError, match="flat") as info:
        run_recipe(run)
    assert len(run.calls) == 1 and info.value.range_test_result.mode == "exp"
    (r,) = recipe_tests(run)
    assert r.coarse is None and "stopped after its exponential test: the loss is flat" in r.message


@pytest.mark.parametrize("name", ["num_iter", "start_lr", "end_lr", "mode"])
def test_the_options_of_a_single_ramp_are_refused_saying_what_to_call(name: str) -> None:
    with pytest.raises(TypeError, match=rf"^f\(\) does not take {name}=None: .* call g\(\)"):
        refuse_single_ramp({name: None, "seed": 0}, "f()", "g()")
    refuse_single_ramp({"seed": 0, "coarse_iter": 50}, "f()", "g()")


def test_the_recipe_reads_the_last_test_and_returns_every_test() -> None:
    run, seen = StandIn(), []
    found = Recipe(method="loss", linear_iter=60, on_test=seen.append).find_bounds(run)
    assert isinstance(found, FoundBounds) and found.tests == tuple(seen)
    assert [len(t) for t in found.tests] == [COARSE_ITER, 60] and found.result is seen[1]
    assert found.bounds == seen[1].suggest("loss")


def test_the_recipe_reads_a_coarse_test_it_could_not_follow() -> None:
    run = StandIn(flat=True)
    with pytest.raises(cyclr.SuggestionError, match="flat"):
        Recipe().find_bounds(run)
    assert len(run.calls) == 1


def test_bad_lengths_are_refused() -> None:
    with pytest.raises(ValueError, match="coarse_iter"):
        run_recipe(StandIn(), coarse_iter=3)
    with pytest.raises(TypeError, match="linear_iter"):
        run_recipe(StandIn(), linear_iter=1.5)
    with pytest.raises(ValueError, match=r"^linear_iter must be >= 10, got 9$"):
        Recipe(linear_iter=9)
    with pytest.raises(TypeError, match=r"^on_test must be callable, got 3$"):
        Recipe(on_test=3)  # type: ignore[arg-type]
    assert Recipe(coarse_iter=np.int64(50)).coarse_iter == 50


def test_a_test_whose_batches_ran_out_raises_saying_after_how_many_updates() -> None:
    def dry(**ramp: Any) -> cyclr.RangeTestResult:
        full = StandIn()(**ramp)
        n = 16 if ramp["mode"] == "exp" else full.lr.size
        return cyclr.RangeTestResult(
            lr=full.lr[:n],
            loss=full.loss[:n],
            smoothed_loss=full.smoothed_loss[:n],
            mode=ramp["mode"],
            stop_reason="data_exhausted",
            message=f"train_loader ran out of batches after {n} of {ramp['num_iter']} updates",
        )

    with pytest.raises(ValueError, match="ran dry after 16 updates of the exponential test") as e:
        recipe_tests(dry)
    assert "after 16 of 200 updates" in str(e.value)
    assert len(e.value.range_test_result) == 16  # type: ignore[attr-defined]
