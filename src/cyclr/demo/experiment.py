"""``cyclr demo``: cyclical learning rates and super-convergence end to end, on MNIST-1D.

The pipeline behind the ``cyclr demo`` command, on a laptop CPU in about a minute, with nothing
downloaded (MNIST-1D is generated locally):

1. an LR range test (Smith 2015, §3.3) with the paper's linear sweep, and the CLR bounds read
   from it by :meth:`cyclr.RangeTestResult.suggest`;
2. four training runs of the same 1D CNN (SGD, momentum 0.9, batch 100), all from the same
   initial weights and batch order:

   - **fixed LR**, the baseline: 0.05, the best fixed LR of a grid search on this task
     (:data:`BASELINE_GRID`);
   - **triangular** CLR between the suggested bounds, ``step_size`` = 4 epochs (the paper:
     2–10), for a whole number of cycles (>= 3);
   - **triangular2** (or **exp_range**) with the same bounds and cycles;
   - **1cycle** with cyclical momentum 0.95 → 0.85 → 0.95 (Smith & Topin 2017; Smith 2018) on
     under a third of the budget (25 epochs against 80): super-convergence;

3. a table: final test accuracy, iterations to reach the fixed-LR baseline's final accuracy,
   speed-up against the baseline (charging the range test to the runs that use its bounds) and
   wall time;
4. a report folder: ``range_test.png``, ``schedules.png``, ``accuracy.png``, ``results.json``,
   ``range_test.json`` and ``summary.md``.

Everything is deterministic for a given seed: PyTorch runs on one thread (results on the same
machine do not depend on the number of cores) and every random number comes from ``seed``.

Example:
    >>> from cyclr.demo import DemoConfig
    >>> c = DemoConfig.quick(seed=3)
    >>> c.seed, c.cycles, c.one_cycle_epochs
    (3, 4, 10)
"""

from __future__ import annotations

import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cyclr.demo.config import DemoConfig
from cyclr.demo.report import write_report
from cyclr.demo.results import DemoResult, PolicyRun
from cyclr.schedules.compose import Constant
from cyclr.schedules.policies import policy

__all__ = ["run"]


def run(
    config: DemoConfig | None = None,
    out: str | Path | None = "cyclr-report",
    *,
    progress: bool = False,
    echo: Callable[[str], None] | None = None,
) -> DemoResult:
    """Run the demo and write the report folder ``out`` (``None``: no files).

    ``progress`` shows a tqdm bar per run on stderr; ``echo`` receives the few lines worth
    printing (the setup, the range test's choice). Raises :class:`cyclr.SuggestionError` if
    the range test gives no bounds.
    """
    import torch

    config = DemoConfig() if config is None else config
    say = echo if echo is not None else (lambda line: None)
    threads = torch.get_num_threads()
    torch.set_num_threads(config.threads)
    try:
        start = time.perf_counter()
        result = _run(config, progress, say)
        result.wall_s = time.perf_counter() - start
        if out is not None:
            write_report(result, out)
        return result
    finally:
        torch.set_num_threads(threads)


def _run(c: DemoConfig, progress: bool, say: Callable[[str], None]) -> DemoResult:
    import torch
    from torch import nn

    from cyclr.demo import mnist1d
    from cyclr.torch import CyclicScheduler, find_bounds

    data = mnist1d.load(n_train=c.n_train)
    n_train, n_test = len(data.x_train), len(data.x_test)
    ipe = max(1, n_train // c.batch_size)
    say(
        f"MNIST-1D ({n_train} train / {n_test} test sequences), 1D CNN, SGD momentum "
        f"{c.momentum:g}, batch {c.batch_size} ({ipe} iterations per epoch), seed {c.seed}"
    )

    # 1. The range test, and the bounds read from it.
    model = mnist1d.cnn(c.seed)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=c.momentum)
    single: dict[str, Any] = {}
    if c.range_test == "linear":
        single = {"mode": "linear", "start_lr": c.range_start_lr, "end_lr": c.range_end_lr}
    t0 = time.perf_counter()
    found = find_bounds(
        model,
        opt,
        nn.CrossEntropyLoss(),
        mnist1d.loader(data, c.batch_size, c.seed),
        method=c.method,
        coarse_iter=c.coarse_iters,
        num_iter=c.range_test_iters,
        seed=c.seed,
        progress=progress,
        **single,
    )
    rt_wall = time.perf_counter() - t0
    bounds = found.bounds

    # 2. The four policies.
    step = c.step_epochs * ipe
    budget = c.cycles * 2 * step
    fixed = Constant(c.baseline_lr)
    hold = Constant(c.momentum)
    one = bounds.one_cycle(total_steps=c.one_cycle_epochs * ipe)
    runs = [PolicyRun("fixed", policy("constant").label, fixed, hold, budget, False)]
    for name in ("triangular", c.third_policy):
        clr = bounds.triangular(step_size=step, policy=name)
        runs.append(PolicyRun(name, policy(name).label, clr, hold, budget, True))
    label = f"{policy('one_cycle').label} + momentum"
    runs.append(PolicyRun("one_cycle", label, one, one.momentum(), one.total_steps, True))
    result = DemoResult(
        c, list(found.tests), bounds, rt_wall, runs, n_train, n_test, ipe, versions=_versions()
    )
    say(result.choice_line())

    trained = []
    for r in runs:
        model = mnist1d.cnn(c.seed)
        opt = torch.optim.SGD(model.parameters(), lr=r.schedule(0), momentum=c.momentum)
        sched = None
        if r.key != "fixed":
            sched = CyclicScheduler(
                opt, r.schedule, momentum=r.momentum if r.key == "one_cycle" else None
            )
        bar = _bar(r.iterations, r.label, progress)
        try:
            tr = mnist1d.train(
                model,
                opt,
                data,
                r.iterations,
                scheduler=sched,
                batch_size=c.batch_size,
                eval_every=c.eval_every,
                seed=c.seed,
                on_step=None if bar is None else (lambda it, b=bar: b.update()),
            )
        finally:
            if bar is not None:
                bar.close()
        r.iters, r.test_acc, r.final_acc = tr.iters, tr.test_acc, tr.final_acc
        r.diverged, r.wall_s = tr.diverged, tr.seconds
        trained.append(tr)

    # 3. Time to the baseline's final accuracy.
    target = result.target
    for r, tr in zip(runs, trained):
        r.iters_to_target = tr.iters_to_reach(target)
    base_reach = result.baseline.iters_to_target
    for r in runs:
        if r.iters_to_target is None:
            continue
        r.cost = r.iters_to_target + (result.range_test_iters if r.uses_range_test else 0)
        if base_reach is not None and r.cost > 0:
            r.speedup = base_reach / r.cost
    return result


def _bar(total: int, desc: str, enabled: bool) -> Any:
    if not enabled:
        return None
    from tqdm.auto import tqdm

    return tqdm(
        total=total, desc=f"{desc:<17}", unit="it", leave=False, file=sys.stderr, dynamic_ncols=True
    )


def _versions() -> dict[str, str]:
    from importlib import metadata

    import cyclr

    out = {"cyclr": cyclr.__version__, "python": platform.python_version()}
    for name in ("torch", "numpy", "mnist1d", "matplotlib"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    out["platform"] = platform.platform(terse=True)
    return out
