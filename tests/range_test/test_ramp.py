"""The LR ramp of one range test: endpoints, monotonicity, even steps (Smith 2015, §3.3)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from cyclr.range_test.checks import check_options
from cyclr.range_test.ramp import DEFAULT_RANGE, MIN_ITER, MODES, ramp_lr

ramps = st.tuples(
    st.floats(-8, 1),  # log10(start_lr)
    st.floats(0.01, 8),  # decades up to end_lr
    st.integers(MIN_ITER, 2000),
    st.sampled_from(MODES),
)


@given(ramps)
def test_the_ramp_starts_at_start_lr_ends_at_end_lr_and_rises_strictly(ramp) -> None:
    log_start, decades, n, mode = ramp
    start, end = 10.0**log_start, 10.0 ** (log_start + decades)
    lrs = np.array([ramp_lr(i, start, end, n, mode) for i in range(n)])
    assert lrs[0] == start
    assert math.isclose(lrs[-1], end, rel_tol=1e-12)
    assert np.all(np.diff(lrs) > 0)
    assert np.all(lrs >= start) and np.all(lrs <= end * (1 + 1e-12))


@given(ramps)
def test_linear_steps_are_even_and_exp_ratios_are_even(ramp) -> None:
    log_start, decades, n, mode = ramp
    start, end = 10.0**log_start, 10.0 ** (log_start + decades)
    lrs = np.array([ramp_lr(i, start, end, n, mode) for i in range(n)])
    if mode == "linear":
        np.testing.assert_allclose(np.diff(lrs), (end - start) / (n - 1), rtol=1e-6)
    else:
        np.testing.assert_allclose(lrs[1:] / lrs[:-1], (end / start) ** (1 / (n - 1)), rtol=1e-9)


@pytest.mark.parametrize("mode", MODES)
def test_the_options_ramp_is_ramp_lr(mode: str) -> None:
    o = check_options(
        start_lr=None,
        end_lr=None,
        num_iter=25,
        mode=mode,
        smooth=0.98,
        diverge=4.0,
        val_every=10,
        seed=None,
        metric="auto",
    )
    assert (o.start_lr, o.end_lr) == DEFAULT_RANGE[mode]
    assert [o.lr(i) for i in range(25)] == [
        ramp_lr(i, *DEFAULT_RANGE[mode], 25, mode) for i in range(25)
    ]


def test_the_defaults() -> None:
    assert MODES == ("exp", "linear") and MIN_ITER == 10
    assert DEFAULT_RANGE == {"exp": (1e-7, 10.0), "linear": (1e-3, 1.0)}
