"""The rule registry: names, functions passed as ``method``, registering and unregistering."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import cyclr
import cyclr.suggest as sg

ALL = ("accuracy", "auto", "loss", "minimum", "slide", "steepest", "valley")


def tanh_valley() -> cyclr.RangeTestResult:
    lr = np.geomspace(1e-5, 1, 100)
    loss = 2.0 - np.tanh((np.log(lr) - np.log(1e-2)) / 0.7) + 3 * (lr / 0.5) ** 3
    return cyclr.RangeTestResult(lr=lr, loss=loss, smoothed_loss=loss, mode="exp")


def halved(result: cyclr.RangeTestResult, *, by: float = 2.0) -> cyclr.Bounds:
    b = sg.suggest(result, "steepest")
    return cyclr.Bounds(b.base_lr / by, b.max_lr / by, "halved", f"steepest / {by:g}")


def test_methods_registry() -> None:
    assert sg.methods() == ALL
    sg.register("half_steepest")(halved)
    try:
        assert "half_steepest" in sg.methods()
        b = tanh_valley().suggest("half_steepest", by=4.0)
        assert b.method == "halved" and b.max_lr == tanh_valley().suggest("steepest").max_lr / 4
    finally:
        assert sg.unregister("half_steepest") is halved
    assert sg.methods() == ALL


def test_unregister_an_unknown_name() -> None:
    with pytest.raises(cyclr.SuggestionError, match="method must be one of") as e:
        sg.unregister("nope")
    assert e.value.kind == "unknown_method"


def test_register_refuses_bad_names_and_non_functions() -> None:
    with pytest.raises(TypeError, match="name must be a non-empty string"):
        sg.register("")
    with pytest.raises(TypeError, match="decorates a function"):
        sg.register("x")(3)  # type: ignore[arg-type]
    assert "x" not in sg.methods()


def test_a_function_as_the_method() -> None:
    r = tanh_valley()
    steep = r.suggest("steepest")
    b = sg.suggest(r, halved)
    assert (b.base_lr, b.max_lr) == (steep.base_lr / 2, steep.max_lr / 2)
    assert r.suggest(halved, by=4.0).max_lr == steep.max_lr / 4
    assert sg.check_method(halved, {"by": 3.0}) is halved


def test_a_function_is_checked_like_a_rule() -> None:
    r = tanh_valley()
    with pytest.raises(TypeError, match=r"method=halved takes no option 'bye'; it takes by"):
        sg.suggest(r, halved, bye=3.0)

    def anything(result: cyclr.RangeTestResult, **options: Any) -> cyclr.Bounds:
        return halved(result, by=options.get("by", 2.0))

    assert sg.suggest(r, anything, whatever=1).method == "halved"

    def positional(result: cyclr.RangeTestResult, by: float = 2.0) -> cyclr.Bounds:
        return halved(result, by=by)

    assert sg.suggest(r, positional, by=8.0).max_lr == r.suggest("steepest").max_lr / 8

    def not_bounds(result: cyclr.RangeTestResult) -> float:
        return 0.1

    with pytest.raises(TypeError, match=r"returned float, not a cyclr\.Bounds"):
        sg.suggest(r, not_bounds)


def test_unknown_methods() -> None:
    for bad in ("best", 3, None):
        with pytest.raises(cyclr.SuggestionError, match="method must be one of") as e:
            sg.check_method(bad)  # type: ignore[arg-type]
        assert e.value.kind == "unknown_method"


def test_options_are_named_bandwidth_not_smooth() -> None:
    with pytest.raises(TypeError, match="takes no option 'smooth'; it takes bandwidth, "):
        sg.check_method("loss", {"smooth": 1 / 40})
    for method in ("accuracy", "auto", "loss"):
        assert sg.check_method(method, {"bandwidth": 1 / 20})


@pytest.mark.parametrize("with_metric", [True, False])
def test_auto_refuses_an_unknown_option_with_and_without_a_metric(with_metric: bool) -> None:
    """``auto`` reads the accuracy or the loss depending on the metric; an unknown option is a
    ``TypeError`` naming it either way (it was ignored on one branch)."""
    r = tanh_valley()
    if with_metric:
        r = cyclr.RangeTestResult(
            lr=r.lr, loss=r.loss, smoothed_loss=r.smoothed_loss, metric=2.5 - r.loss, mode="exp"
        )
    with pytest.raises(TypeError, match=r"method='auto' takes no option 'windw'; it takes ") as e:
        r.suggest("auto", windw=3)
    assert "use_validation" in str(e.value) and "margin" in str(e.value)
    with pytest.raises(TypeError, match="takes no option 'windw'"):
        sg.suggest(r, "auto", margin=2.0, windw=3)
    assert r.suggest("auto", margin=3.0).details["margin"] == 3.0


def test_a_suggestion_error_pickles_with_its_kind() -> None:
    import pickle

    from cyclr.suggest import SuggestionError

    back = pickle.loads(pickle.dumps(SuggestionError("the loss is flat", "flat")))
    assert isinstance(back, SuggestionError) and back.kind == "flat"
    assert str(back) == "the loss is flat"


# -- every reading refuses an LR column that does not increase ---------------------------------
def _valley() -> cyclr.RangeTestResult:
    lr = np.geomspace(1e-5, 1, 100)
    loss = 2.3 - 1.5 / (1 + np.exp(-(np.log10(lr) + 2) * 4)) + 8 * lr
    return cyclr.RangeTestResult(lr=lr, loss=loss, smoothed_loss=loss, metric=-loss, mode="exp")


@pytest.mark.parametrize("method", ALL)
def test_every_rule_refuses_an_lr_changed_to_not_increase(method: str) -> None:
    r = _valley()
    assert r.suggest(method).max_lr > 0  # the ramp as recorded reads
    r.lr = r.lr[::-1].copy()
    with pytest.raises(ValueError, match=r"^lr must increase strictly: lr\[1\] = 0\.890215 is"):
        r.suggest(method)
    with pytest.raises(ValueError, match=r"^lr must increase strictly: lr\[1\] = 0\.890215 is"):
        sg.blow_up_lr(r)
    r.lr = np.full(100, 0.01)
    with pytest.raises(ValueError, match=r"lr\[1\] = 0\.01 is not above lr\[0\] = 0\.01"):
        sg.suggest(r, method)


def test_any_object_with_a_range_test_s_fields_is_read_as_one() -> None:
    from dataclasses import dataclass, field

    lr = np.geomspace(1e-4, 1.0, 200)
    loss = 2.3 - 1.5 / (1 + np.exp(-(np.log10(lr) + 2) * 4)) + 20 * lr**3

    @dataclass
    class Curve:
        lr: Any
        loss: Any
        smoothed_loss: Any
        metric: Any = None
        metric_name: str | None = None
        val_step: Any = None
        val_loss: Any = None
        val_metric: Any = None
        mode: str = "exp"
        stop_reason: str = "end"
        message: str = ""
        config: dict[str, Any] = field(default_factory=dict)

    mine = Curve(lr, loss, loss)
    r = cyclr.RangeTestResult(lr=lr, loss=loss, smoothed_loss=loss, mode="exp")
    assert isinstance(mine, sg.RangeCurve)
    for method in ("loss", "valley", "minimum"):
        assert sg.suggest(mine, method) == r.suggest(method)
    with pytest.raises(TypeError, match=r"result must be a cyclr\.RangeTestResult, got dict"):
        sg.suggest({"lr": lr, "loss": loss}, "loss")
