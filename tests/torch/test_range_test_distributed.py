"""``range_test`` under ``torch.distributed``: two gloo processes on localhost.

Every rank must record the same (all-reduced) curve, stop on the same update, and return an
identical result. The test starts two copies of this file as worker processes (see
``_worker``), each writing its results to JSON, and compares them.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from tests.support.distributed import run_ranks, worker_main

WORLD = 2
JOIN_TIMEOUT_S = 150

pytestmark = [
    pytest.mark.skipif(
        not torch.distributed.is_available(), reason="torch.distributed is not available"
    ),
    pytest.mark.slow,  # two processes per test
]


@pytest.fixture(scope="module")
def outputs(tmp_path_factory) -> Path:
    """Run both ranks once; every test below reads what they wrote."""
    out = tmp_path_factory.mktemp("dist")
    run_ranks(__file__, WORLD, out, JOIN_TIMEOUT_S)
    return out


def _load(out: Path, scenario: str) -> list[dict]:
    return [json.loads((out / f"{scenario}_rank{r}.json").read_text()) for r in range(WORLD)]


SCENARIOS = ["ddp_end", "ddp_val", "nan_on_one_rank", "exhausted_on_one_rank", "diverged"]


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_every_rank_returns_the_same_result(outputs, scenario):
    results = _load(outputs, scenario)
    assert results[0]["result"] == results[1]["result"]
    assert all(r["restored"] for r in results)
    assert results[0]["result"]["config"]["world_size"] == WORLD


def test_the_recorded_loss_is_the_mean_over_ranks(outputs):
    results = _load(outputs, "ddp_end")
    local = [np.array(r["local_losses"]) for r in results]
    assert not np.allclose(local[0], local[1])  # each rank saw different data
    recorded = np.array(results[0]["result"]["loss"])
    assert results[0]["result"]["stop_reason"] == "end" and len(recorded) == 20
    np.testing.assert_allclose(recorded, (local[0] + local[1]) / 2, rtol=1e-6)


def test_validation_is_reduced_too(outputs):
    r = _load(outputs, "ddp_val")[0]["result"]
    assert r["val_step"] == [0, 5, 10, 15]
    assert len(r["val_loss"]) == 4 and all(v is not None for v in r["val_metric"])


def test_a_nan_on_one_rank_stops_all_ranks(outputs):
    r = _load(outputs, "nan_on_one_rank")[0]["result"]
    assert r["stop_reason"] == "non_finite_loss" and len(r["lr"]) == 7


def test_a_loader_running_dry_on_one_rank_stops_all_ranks(outputs):
    r = _load(outputs, "exhausted_on_one_rank")[0]["result"]
    assert r["stop_reason"] == "data_exhausted" and len(r["lr"]) == 8


def test_divergence_is_decided_together(outputs):
    r = _load(outputs, "diverged")[0]["result"]
    assert r["stop_reason"] in ("diverged", "non_finite_loss") and len(r["lr"]) < 60


# -- the worker ------------------------------------------------------------------------------
def _worker(rank: int, world: int, out: Path) -> None:
    from tests.support.models import digits, mlp
    from tests.support.state import assert_same, capture
    from torch import nn
    from torch.nn.parallel import DistributedDataParallel as DDP

    from cyclr.torch import range_test

    x, y = digits()
    shard = (x[rank:1200:world], y[rank:1200:world])  # different data on each rank
    held_out = (x[1200 + rank :: world], y[1200 + rank :: world])

    def batches(data, size=30):
        return [
            (data[0][i : i + size], data[1][i : i + size]) for i in range(0, len(data[0]), size)
        ]

    def run(name, model, loss_fn=nn.functional.cross_entropy, data=None, **kw):
        opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
        before = capture(model, opt)
        local: list[float] = []

        def recording_loss(out_, target):
            loss = loss_fn(out_, target)
            if torch.is_grad_enabled():
                local.append(float(loss.detach()))
            return loss

        result = range_test(
            model,
            opt,
            recording_loss,
            batches(shard) if data is None else data,
            progress=False,
            seed=0,
            **kw,
        )
        try:
            assert_same(before, capture(model, opt))
            restored = True
        except AssertionError:
            restored = False
        payload = {"result": result.to_dict(), "local_losses": local, "restored": restored}
        (out / f"{name}_rank{rank}.json").write_text(json.dumps(payload))

    run("ddp_end", DDP(mlp(0)), num_iter=20, start_lr=1e-3, end_lr=1.0, diverge=None)
    run(
        "ddp_val",
        DDP(mlp(0)),
        num_iter=20,
        val_loader=batches(held_out),
        val_every=5,
        val_batches=2,
    )

    calls = {"n": 0}

    def nan_on_rank1(out_, target):
        calls["n"] += 1
        loss = nn.functional.cross_entropy(out_, target)
        return loss * float("nan") if rank == 1 and calls["n"] > 7 else loss

    run("nan_on_one_rank", mlp(0), loss_fn=nan_on_rank1, num_iter=20)

    if rank == 1:  # a one-shot generator with 8 batches on one rank only
        data = (b for b in batches(shard)[:8])
    else:
        data = batches(shard)
    run("exhausted_on_one_rank", DDP(mlp(0)), data=data, num_iter=20)
    run("diverged", DDP(mlp(0)), num_iter=60, start_lr=1e-2, end_lr=1e4, smooth=0.5)


if __name__ == "__main__":
    worker_main(_worker)
