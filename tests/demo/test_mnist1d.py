"""The built-in MNIST-1D task: local data, models and the training loop."""

from __future__ import annotations

import torch

import cyclr
from cyclr.demo import mnist1d
from cyclr.torch import CyclicScheduler


def test_load_is_deterministic_and_subsets():
    a, b = mnist1d.load(), mnist1d.load(n_train=300)
    assert a.x_train.shape == (4000, 1, 40) and a.x_test.shape == (1000, 1, 40)
    assert torch.equal(a.x_train[:300], b.x_train) and torch.equal(a.y_test, b.y_test)
    assert set(a.y_train.tolist()) == set(range(10))
    assert a.iters_per_epoch == 40


def test_models_output_ten_logits():
    x = mnist1d.load(n_train=8).x_train
    assert mnist1d.cnn(0)(x).shape == (8, 10)
    assert mnist1d.mlp(0)(x).shape == (8, 10)
    p0 = [p.clone() for p in mnist1d.cnn(3).parameters()]
    assert all(torch.equal(p, q) for p, q in zip(p0, mnist1d.cnn(3).parameters(), strict=True))


def test_short_one_cycle_run_learns_and_is_deterministic():
    data = mnist1d.load(n_train=1000)

    def run():
        model = mnist1d.cnn(0)
        opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        sched = CyclicScheduler(opt, cyclr.OneCycle(0.2, 300), momentum=True)
        return mnist1d.train(model, opt, data, 300, sched, eval_every=100)

    r1, r2 = run(), run()
    assert r1.iters == [100, 200, 300]
    assert r1.test_acc == r2.test_acc
    assert r1.final_acc > 0.5  # chance is 0.1
    assert r1.iters_to_reach(0.0) == 100 and r1.iters_to_reach(1.01) is None
