"""``cyclr.torch.range_test`` and ``cyclr.keras.range_test`` reject the same bad options with the
same error and message, and word their stop messages alike."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from tests.support.bad_options import BAD, BAD_IDS

from cyclr.range_test.ramp import DEFAULT_RANGE

# Keras' torch backend converts tensors with np.array(x), which numpy 2 flags for every tensor.
pytestmark = pytest.mark.filterwarnings(
    "ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning"
)


def torch_range_test() -> tuple[Callable[..., Any], list[Any]]:
    torch = pytest.importorskip("torch")
    from cyclr.torch import range_test

    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(64, 4, generator=g), torch.randint(0, 3, (64,), generator=g)
    batches = [(x[i : i + 16], y[i : i + 16]) for i in range(0, 64, 16)]
    model = torch.nn.Linear(4, 3)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)

    def run(data: Any = batches, **kw: Any) -> Any:
        kw.setdefault("progress", False)
        return range_test(model, opt, torch.nn.functional.cross_entropy, data, **kw)

    return run, batches


def keras_range_test() -> tuple[Callable[..., Any], list[Any]]:
    keras = pytest.importorskip("keras", minversion="3.0")
    if keras.backend.backend() != "torch":
        pytest.skip(f"needs KERAS_BACKEND=torch, got {keras.backend.backend()}")
    from cyclr.keras import range_test

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
    model.compile(
        optimizer=keras.optimizers.SGD(0.1),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(64, 4)).astype("float32"), rng.integers(0, 3, 64)
    batches = [(x[i : i + 16], y[i : i + 16]) for i in range(0, 64, 16)]

    def run(data: Any = batches, **kw: Any) -> Any:
        return range_test(model, dataset=data, **kw)

    return run, batches


ADAPTERS = {"torch": torch_range_test, "keras": keras_range_test}


@pytest.mark.parametrize(("bad", "error", "message"), BAD, ids=BAD_IDS)
def test_both_adapters_reject_a_bad_option_alike(
    bad: dict[str, Any], error: type, message: str
) -> None:
    for name, make in ADAPTERS.items():
        run, _ = make()
        with pytest.raises(Exception) as info:
            run(**bad)
        assert type(info.value) is error, name
        assert str(info.value) == message, name


@pytest.mark.parametrize("adapter", list(ADAPTERS))
def test_both_adapters_ramp_and_stop_alike(adapter: str) -> None:
    run, batches = ADAPTERS[adapter]()
    r = run(num_iter=10, mode="linear", diverge=None)
    assert (r.stop_reason, r.message) == ("end", "linear ramp 0.001 -> 1 over 10 updates")
    assert (r.config["start_lr"], r.config["end_lr"]) == DEFAULT_RANGE["linear"]
    source = "train_loader" if adapter == "torch" else "dataset"
    r = run(iter(batches * 2), num_iter=12)
    assert (r.stop_reason, r.message) == (
        "data_exhausted",
        f"{source} ran out of batches after 8 of 12 updates",
    )


@pytest.mark.parametrize(("num_iter", "val_every"), [(25, 10), (10, 4), (12, 1), (10, 20)])
def test_both_adapters_validate_after_the_same_updates(num_iter: int, val_every: int) -> None:
    """After updates 0, val_every, 2*val_every, … (and not also after the last)."""
    steps = {}
    for name, make in ADAPTERS.items():
        run, batches = make()
        held_out = (
            {"val_loader": batches[:1]} if name == "torch" else {"validation_data": batches[0]}
        )
        r = run(num_iter=num_iter, val_every=val_every, diverge=None, **held_out)
        assert r.stop_reason == "end" and r.val_step is not None and r.val_loss is not None, name
        assert np.isfinite(r.val_loss).all(), name
        steps[name] = r.val_step.tolist()
    assert steps["torch"] == steps["keras"] == list(range(0, num_iter, val_every))
