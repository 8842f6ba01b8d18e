"""The smoothed loss: the bias-corrected EMA and the divergence test."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cyclr.range_test.smoothing import DIVERGE_WARMUP, SmoothedLoss

losses = st.lists(st.floats(1e-3, 1e3), min_size=1, max_size=60)


@given(losses, st.floats(0, 0.999))
def test_the_smoothed_loss_is_the_bias_corrected_ema(values: list[float], beta: float) -> None:
    s = SmoothedLoss(beta, None)
    got = [s.add(x) for x in values]
    for n in range(1, len(values) + 1):
        weights = [(1 - beta) * beta ** (n - 1 - k) for k in range(n)]
        expected = sum(w * x for w, x in zip(weights, values)) / (1 - beta**n)
        assert math.isclose(got[n - 1], expected, rel_tol=1e-9)
    assert s.best == min(got) and s.last == got[-1] and s.n == len(values)


@given(losses)
def test_beta_zero_records_the_raw_loss(values: list[float]) -> None:
    s = SmoothedLoss(0.0, 4.0)
    assert [s.add(x) for x in values] == values


@given(losses, st.floats(0, 0.99), st.floats(1.01, 10))
def test_divergence_is_the_first_update_past_diverge_times_the_best(
    values: list[float], beta: float, diverge: float
) -> None:
    s = SmoothedLoss(beta, diverge)
    never = SmoothedLoss(beta, None)
    for i, x in enumerate(values):
        smoothed = s.add(x)
        never.add(x)
        expected = i >= DIVERGE_WARMUP and smoothed > diverge * s.best
        assert s.diverged(i) is expected
        assert not never.diverged(i)


def test_no_divergence_while_the_best_loss_is_not_positive() -> None:
    s = SmoothedLoss(0.0, 2.0)
    for x in (0.0, 0.0, 0.0, 0.0, 0.0, 5.0):
        s.add(x)
    assert s.best == 0.0 and not s.diverged(5)


@pytest.mark.parametrize("i", [DIVERGE_WARMUP - 1, DIVERGE_WARMUP])
def test_divergence_waits_for_the_warm_up(i: int) -> None:
    s = SmoothedLoss(0.0, 2.0)
    s.add(1.0)
    s.add(10.0)
    assert s.diverged(i) is (i >= DIVERGE_WARMUP)
