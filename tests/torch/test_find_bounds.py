"""cyclr.torch.find_bounds: the one two-stage recipe; every argument checked before an update."""

from __future__ import annotations

import functools
import io
import math
import pickle
from typing import Any

import pytest

torch = pytest.importorskip("torch")

import cyclr  # noqa: E402
import cyclr.torch  # noqa: E402
from cyclr.range_test.recipe import COARSE_ITER, LINEAR_ITER, linear_range  # noqa: E402

nn = torch.nn
F = torch.nn.functional


class CountingLoss:
    """cross-entropy that counts its calls (one per update here)."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, out: Any, target: Any) -> Any:
        self.calls += 1
        return F.cross_entropy(out, target)


def setup(seed: int = 0) -> tuple[Any, Any, Any]:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(512, 10, generator=g)
    y = (x[:, 0] + x[:, 1] > 0).long()
    loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(x, y), batch_size=32, shuffle=True, generator=g
    )
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(10, 32), nn.ReLU(), nn.Linear(32, 2))
    return model, torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9), loader


FAST = {"coarse_iter": 60, "linear_iter": 120, "progress": False, "seed": 0}


def test_two_stage_recipe_runs_exp_then_linear_below_the_blow_up() -> None:
    model, opt, loader = setup()
    seen: list[cyclr.RangeTestResult] = []
    found = cyclr.torch.find_bounds(
        model, opt, F.cross_entropy, loader, on_test=seen.append, **FAST
    )
    coarse, fine = found.tests
    assert seen == [coarse, fine] and found.result is fine
    assert (coarse.mode, len(coarse)) == ("exp", 60) or coarse.stop_reason != "end"
    assert fine.mode == "linear" and (len(fine) == 120 or fine.stop_reason != "end")
    lo, hi = linear_range(coarse)
    assert fine.config["start_lr"] == pytest.approx(lo) and fine.config["end_lr"] == pytest.approx(
        hi
    )
    assert found.bounds == fine.suggest("auto")


def test_defaults_are_the_recipes() -> None:
    import inspect

    sig = inspect.signature(cyclr.torch.find_bounds)
    assert sig.parameters["coarse_iter"].default == COARSE_ITER == 200
    assert sig.parameters["linear_iter"].default == LINEAR_ITER == 400


@pytest.mark.parametrize(
    "option", [{"num_iter": 80}, {"start_lr": 1e-3}, {"end_lr": 2.0}, {"mode": "linear"}]
)
def test_find_bounds_refuses_the_options_of_a_single_ramp(option: dict[str, Any]) -> None:
    model, opt, loader = setup()
    loss = CountingLoss()
    ((name, value),) = option.items()
    message = (
        f"find_bounds() does not take {name}={value!r}: it runs the two-stage test, whose ramps "
        "are set by coarse_iter and linear_iter; call cyclr.torch.range_test() for a single ramp"
    )
    with pytest.raises(TypeError) as info:
        cyclr.torch.find_bounds(model, opt, loss, loader, progress=False, **option)
    assert str(info.value) == message and loss.calls == 0


def test_the_loader_is_rewound_so_both_tests_draw_the_same_batches() -> None:
    model, opt, loader = setup()
    state = loader.generator.get_state()
    cyclr.torch.find_bounds(model, opt, F.cross_entropy, loader, **FAST)
    assert torch.equal(loader.generator.get_state(), state)


@pytest.mark.parametrize(
    ("options", "error", "match"),
    [
        ({"method": "acuracy"}, cyclr.SuggestionError, "method must be one of"),
        ({"suggest_kwargs": {"margn": 2}}, TypeError, "takes no option 'margn'"),
        ({"linear_iter": 5}, ValueError, "linear_iter must be >= 10, got 5"),
        ({"coarse_iter": 3}, ValueError, "coarse_iter must be >= 10"),
        ({"on_test": 3}, TypeError, "on_test must be callable, got 3"),
        ({"val_every": 0}, ValueError, "val_every must be >= 1"),
        ({"smooth": 1.5}, ValueError, "smooth"),
        ({"not_an_option": 1}, TypeError, "not_an_option"),
    ],
)
@pytest.mark.parametrize("entry", ["find_bounds", "auto_schedule"])
def test_bad_arguments_cost_no_update(
    entry: str, options: dict[str, Any], error: type, match: str
) -> None:
    model, opt, loader = setup()
    loss = CountingLoss()
    kwargs = {"progress": False, **options}
    if entry == "auto_schedule":
        kwargs["epochs"] = 2
    with pytest.raises(error, match=match):
        getattr(cyclr.torch, entry)(model, opt, loss, loader, **kwargs)
    assert loss.calls == 0


def test_auto_scheduler_declares_what_it_read_and_saves_as_plain_data() -> None:
    model, opt, loader = setup()
    sched = cyclr.torch.auto_schedule(model, opt, F.cross_entropy, loader, epochs=2, **FAST)
    assert isinstance(sched, cyclr.torch.AutoScheduler)
    assert isinstance(sched, torch.optim.lr_scheduler.LRScheduler)
    assert sched.range_test_result is sched.tests[-1]
    assert "bounds" in cyclr.torch.AutoScheduler.__annotations__
    buf = io.BytesIO()
    torch.save(sched.state_dict(), buf)
    buf.seek(0)
    state = torch.load(buf, weights_only=True)
    assert state["schedules"][0]["max_lr"] == sched.bounds.max_lr
    copy = pickle.loads(pickle.dumps(sched))
    assert copy.bounds == sched.bounds


# -- range_test runs one ramp; find_bounds is two of them ---------------------------------------
def test_range_test_given_no_ramp_runs_one_exponential_ramp_of_100_updates() -> None:
    model, opt, loader = setup()
    counting = CountingLoss()
    r = cyclr.torch.range_test(model, opt, counting, loader, progress=False, seed=0, diverge=None)
    assert (r.mode, len(r), counting.calls, r.coarse) == ("exp", 100, 100, None)
    assert (r.config["start_lr"], r.config["end_lr"], r.config["num_iter"]) == (1e-7, 10.0, 100)
    assert r.lr[0] == 1e-7 and r.lr[-1] == pytest.approx(10.0, rel=1e-12)


def test_find_bounds_is_two_range_tests_bit_for_bit() -> None:
    """The exponential test over the default range, then the linear one up to its blow-up: the
    same curves as the two range tests called by hand, and the bounds ``suggest()`` reads."""
    from tests.support.state import assert_same, capture

    model, opt, loader = setup()
    before = capture(model, opt)
    found = cyclr.torch.find_bounds(model, opt, F.cross_entropy, loader, progress=False, seed=0)
    assert_same(before, capture(model, opt))
    coarse, fine = found.tests
    run = functools.partial(
        cyclr.torch.range_test, model, opt, F.cross_entropy, loader, progress=False, seed=0
    )
    first = run(num_iter=COARSE_ITER)
    lo, hi = linear_range(first)
    assert (fine.config["start_lr"], fine.config["end_lr"]) == (lo, hi)
    by_hand = (first, run(mode="linear", start_lr=lo, end_lr=hi, num_iter=LINEAR_ITER))
    for theirs, mine in zip((coarse, fine), by_hand):
        for name in ("lr", "loss", "smoothed_loss", "metric"):
            assert getattr(mine, name).tobytes() == getattr(theirs, name).tobytes(), name
    assert fine.coarse is coarse and by_hand[1].suggest() == found.bounds


@pytest.mark.parametrize(
    ("given", "mode", "n"),
    [
        ({}, "exp", 100),
        ({"num_iter": 30}, "exp", 30),
        ({"mode": "linear"}, "linear", 100),
        ({"mode": "exp"}, "exp", 100),
        ({"end_lr": 1.0}, "exp", 100),
    ],
)
def test_range_test_runs_one_test_whatever_ramp_options_it_is_given(given, mode, n) -> None:
    model, opt, loader = setup()
    counting = CountingLoss()
    r = cyclr.torch.range_test(
        model, opt, counting, loader, progress=False, seed=0, diverge=None, **given
    )
    assert r.coarse is None and r.mode == mode and len(r) == n == counting.calls
    assert r.config["num_iter"] == n


def test_a_recipe_whose_first_test_cannot_be_read_stops_after_it_saying_why() -> None:
    """A loss that never falls gives the linear ramp no range: the exponential test is the only
    one, its message saying why, and nothing can be read off it."""
    model, opt, loader = setup()
    counting = CountingLoss()

    def flat(out: Any, target: Any) -> Any:  # the same value whatever the LR, with a gradient
        counting(out, target)
        return 0.0 * out.sum() + 1.0

    seen: list[cyclr.RangeTestResult] = []
    with pytest.raises(cyclr.SuggestionError, match="flat"):
        cyclr.torch.find_bounds(
            model, opt, flat, loader, progress=False, seed=0, on_test=seen.append
        )
    (r,) = seen
    assert r.coarse is None and r.mode == "exp" and len(r) == COARSE_ITER == counting.calls


def test_find_bounds_reads_the_coarse_test_when_it_cannot_run_the_linear_one() -> None:
    """When the loss never falls, find_bounds reads the exponential test: a metric that rose
    gives bounds, those ``suggest()`` reads off the same test run by hand."""
    model, opt, loader = setup()

    def flat(out: Any, target: Any) -> Any:
        return 0.0 * out.sum() + 1.0

    def score(out: Any, target: Any) -> float:  # rises around lr 1e-3, falls past 1e-1
        x = math.log10(opt.param_groups[0]["lr"])
        return 0.1 + 0.8 / (1 + math.exp(-(x + 3) * 3)) / (1 + math.exp((x + 1) * 3))

    seen: list[cyclr.RangeTestResult] = []
    found = cyclr.torch.find_bounds(
        model, opt, flat, loader, metric=score, progress=False, seed=0, on_test=seen.append
    )
    (coarse,) = found.tests
    assert coarse.mode == "exp" and len(coarse) == COARSE_ITER
    assert [t.mode for t in seen] == ["exp"] and (seen[0].loss == coarse.loss).all()
    assert "the two-stage recipe stopped after its exponential test: the loss is flat" in (
        coarse.message
    )
    assert found.bounds.reading is not None and found.bounds.reading.rule == "accuracy"
    assert 1e-4 < found.bounds.base_lr < found.bounds.max_lr < 1e-1
    r = cyclr.torch.range_test(
        model, opt, flat, loader, metric=score, num_iter=COARSE_ITER, progress=False, seed=0
    )
    assert r.suggest() == found.bounds


def test_a_bad_argument_fails_before_the_first_update() -> None:
    model, opt, loader = setup()
    counting = CountingLoss()
    with pytest.raises(ValueError, match="val_every"):
        cyclr.torch.range_test(model, opt, counting, loader, val_every=0)
    assert counting.calls == 0


def _batches(n: int) -> list[Any]:
    g = torch.Generator().manual_seed(1)
    x = torch.randn(32 * n, 10, generator=g)
    y = (x[:, 0] + x[:, 1] > 0).long()
    return [(x[i : i + 32], y[i : i + 32]) for i in range(0, 32 * n, 32)]


@pytest.mark.parametrize("entry", ["find_bounds", "auto_schedule"])
def test_a_one_shot_iterator_is_refused_before_the_first_update(entry: str) -> None:
    model, opt, _ = setup()
    batches = _batches(300)
    gen = (b for b in batches)
    loss = CountingLoss()
    call = getattr(cyclr.torch, entry)
    if entry == "auto_schedule":
        call = functools.partial(call, total_steps=100)
    with pytest.raises(TypeError, match=r"^train_loader is a one-shot iterator \(generator\).*"):
        call(model, opt, loss, gen, progress=False, seed=0)
    assert loss.calls == 0 and len(list(gen)) == 300  # nothing drawn, nothing trained
    with pytest.raises(TypeError, match=r"^val_loader is a one-shot iterator \(list_iterator\)"):
        call(model, opt, loss, batches, val_loader=iter(batches), progress=False, seed=0)
    assert loss.calls == 0


def test_a_single_ramp_still_reads_a_one_shot_iterator_once() -> None:
    model, opt, _ = setup()
    r = cyclr.torch.range_test(
        model, opt, F.cross_entropy, iter(_batches(30)), num_iter=50, progress=False
    )
    assert (len(r), r.stop_reason) == (30, "data_exhausted")
    assert r.message == "train_loader ran out of batches after 30 of 50 updates"


class Passes:
    """Iterable whose first ``full`` passes yield ``n`` batches each, and every later one none."""

    def __init__(self, n: int, full: int) -> None:
        self.batches, self.full, self.passes = _batches(n), full, 0

    def __iter__(self) -> Any:
        self.passes += 1
        return iter(self.batches if self.passes <= self.full else [])


@pytest.mark.parametrize(("n", "full", "stage"), [(16, 1, "exponential"), (100, 2, "linear")])
def test_a_loader_that_runs_dry_mid_recipe_says_after_how_many_updates(
    n: int, full: int, stage: str
) -> None:
    model, opt, _ = setup()
    with pytest.raises(ValueError, match=rf"ran dry after {n} updates of the {stage} test") as e:
        cyclr.torch.find_bounds(
            model, opt, F.cross_entropy, Passes(n, full), coarse_iter=60, progress=False, seed=0
        )
    test = e.value.range_test_result  # type: ignore[attr-defined]
    assert (len(test), test.stop_reason) == (n, "data_exhausted")
