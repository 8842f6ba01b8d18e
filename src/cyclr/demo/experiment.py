"""``cyclr demo``: cyclical learning rates and super-convergence end to end, on MNIST-1D
(generated locally; nothing is downloaded).

For each seed, side by side in processes: the LR range test and the CLR bounds read from it
(Smith 2015, §3.3; :func:`cyclr.torch.find_bounds`), then four runs of the same 1D CNN from the
seed's initial weights and batch order: a fixed LR (the baseline), triangular CLR, triangular2
(or exp_range), and 1cycle with cyclical momentum on under a third of the budget (Smith & Topin
2017; Smith 2018). By default the 1cycle reads its bounds from its own warm-up
(:func:`cyclr.torch.online_schedule`), runs no range test and is charged none; what it applied
is recorded (:func:`cyclr.demo.runs.recorded_schedule`). Then a table over seeds (mean ±
standard deviation) and the report folder (:func:`cyclr.demo.write_report`). The settings are
:class:`cyclr.demo.DemoConfig`'s.

Deterministic for a given seed: one torch thread per process, every random number from the seed.
"""

from __future__ import annotations

import platform
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cyclr.demo.config import N_TRAIN, DemoConfig
from cyclr.demo.report import write_report
from cyclr.demo.results import DemoResult
from cyclr.demo.runs import OnlineReading, PolicyRun, SeedRun, recorded_schedule
from cyclr.online import WARMUP_RANGE
from cyclr.range_test.result import RangeTestResult
from cyclr.schedules.compose import Constant
from cyclr.schedules.policies import policy

if TYPE_CHECKING:
    from cyclr.suggest.bounds import Bounds

__all__ = ["run", "run_seed"]


def run(
    config: DemoConfig | None = None,
    out: str | Path | None = "cyclr-report",
    *,
    progress: bool = False,
    echo: Callable[[str], None] | None = None,
) -> DemoResult:
    """Run the demo for every seed of ``config`` and write the report folder ``out`` (``None``:
    no files).

    Seeds run side by side in ``config.workers`` processes. ``progress`` shows tqdm bars on
    stderr; ``echo`` receives the few lines worth printing (the setup, each seed's bounds).
    Raises :class:`cyclr.SuggestionError` if a range test gives no bounds.
    """
    config = DemoConfig() if config is None else config
    say = echo if echo is not None else (lambda line: None)
    start = time.perf_counter()
    say(_setup_line(config))
    workers = min(config.workers, len(config.seeds))
    if workers == 1:
        seeds = []
        for seed in config.seeds:
            seeds.append(run_seed(config, seed, progress))
            say(seeds[-1].choice_line())
    else:
        seeds = _run_in_processes(config, workers, progress, say)
    first = seeds[0]
    ipe = max(1, first.n_train // config.batch_size)
    result = DemoResult(config, seeds, first.n_train, first.n_test, ipe, versions=_versions())
    result.wall_s = time.perf_counter() - start
    if out is not None:
        write_report(result, out)
    return result


def _setup_line(c: DemoConfig) -> str:
    n_train = c.n_train if c.n_train is not None else N_TRAIN
    ipe = max(1, n_train // c.batch_size)
    seeds = ", ".join(map(str, c.seeds))
    return (
        f"MNIST-1D ({n_train} training sequences), 1D CNN, SGD momentum "
        f"{c.momentum:g}, batch {c.batch_size} ({ipe} iterations per epoch), "
        f"seed{'s' if len(c.seeds) > 1 else ''} {seeds}"
    )


def _run_in_processes(
    c: DemoConfig, workers: int, progress: bool, say: Callable[[str], None]
) -> list[SeedRun]:
    """Every seed in its own process (one torch thread each), in the seeds' order."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    bar = _bar(len(c.seeds), "seeds", progress, unit="seed")
    done: dict[int, SeedRun] = {}
    try:
        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(workers, mp_context=ctx) as pool:
            futures = {pool.submit(run_seed, c, seed, False): seed for seed in c.seeds}
            for future in as_completed(futures):
                r = future.result()
                done[r.seed] = r
                say(r.choice_line())
                if bar is not None:
                    bar.update()
    finally:
        if bar is not None:
            bar.close()
    return [done[seed] for seed in c.seeds]


def run_seed(c: DemoConfig, seed: int, progress: bool = False) -> SeedRun:
    """The range test and the four policies for one seed (on ``c.threads`` torch threads).

    Raises :class:`cyclr.SuggestionError` if the range test (or the online 1cycle's warm-up)
    gives no bounds."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(c.threads)
    try:
        return _run_seed(c, seed, progress)
    finally:
        torch.set_num_threads(threads)


def _run_seed(c: DemoConfig, seed: int, progress: bool) -> SeedRun:
    from cyclr.demo import mnist1d

    data = mnist1d.load(n_train=c.n_train)
    ipe = max(1, len(data.x_train) // c.batch_size)
    t0 = time.perf_counter()
    tests, bounds = _range_test(c, data, seed, progress)
    rt_wall = time.perf_counter() - t0
    runs = _policies(c, bounds, ipe)
    for r in runs:  # from the same initial weights and batch order
        bar = _bar(r.iterations, r.label, progress)
        try:
            if r.key == "one_cycle" and c.one_cycle_bounds == "online":
                _train_online(c, r, data, seed, bar)
            else:
                _train(c, r, data, seed, bar)
        finally:
            if bar is not None:
                bar.close()
    n_train, n_test = len(data.x_train), len(data.x_test)
    return SeedRun(seed, list(tests), bounds, rt_wall, runs, n_train, n_test)


def _range_test(
    c: DemoConfig, data: Any, seed: int, progress: bool
) -> tuple[tuple[RangeTestResult, ...], Bounds]:
    """The range test (the two-stage recipe, or one linear sweep), and the bounds read from it."""
    import torch
    from torch import nn

    from cyclr.demo import mnist1d
    from cyclr.torch import find_bounds, range_test

    model = mnist1d.cnn(seed)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=c.momentum)
    setup = (model, opt, nn.CrossEntropyLoss(), mnist1d.loader(data, c.batch_size, seed))
    if c.range_test == "linear":  # one linear sweep, read with c.method
        sweep = range_test(
            *setup,
            start_lr=c.range_start_lr,
            end_lr=c.range_end_lr,
            num_iter=c.range_test_iters,
            mode="linear",
            seed=seed,
            progress=progress,
        )
        return (sweep,), sweep.suggest(c.method)
    found = find_bounds(
        *setup,
        method=c.method,
        coarse_iter=c.coarse_iters,
        linear_iter=c.range_test_iters,
        seed=seed,
        progress=progress,
    )
    return found.tests, found.bounds


def _policies(c: DemoConfig, bounds: Bounds, ipe: int) -> list[PolicyRun]:
    """The four policies to train, their schedules from ``bounds`` (the online 1cycle's is
    recorded as it runs)."""
    step = c.step_epochs * ipe
    budget = c.cycles * 2 * step
    hold = Constant(c.momentum)
    total = c.one_cycle_epochs * ipe
    runs = [
        PolicyRun("fixed", policy("constant").label, Constant(c.baseline_lr), hold, budget, False)
    ]
    for name in ("triangular", c.third_policy):
        clr = bounds.triangular(step_size=step, policy=name)
        runs.append(PolicyRun(name, policy(name).label, clr, hold, budget, True))
    label = f"{policy('one_cycle').label} + momentum"
    if c.one_cycle_bounds == "online":
        # Its schedule is known once it has run (recorded by _train_online); until then, the
        # warm-up's first LR and momentum.
        lr0, m0 = Constant(WARMUP_RANGE[0]), Constant(0.95)
        runs.append(PolicyRun("one_cycle", f"{label} (online)", lr0, m0, total, False))
    else:
        one = bounds.one_cycle(total_steps=total)
        runs.append(PolicyRun("one_cycle", label, one, one.momentum(), total, True))
    return runs


def _train(c: DemoConfig, r: PolicyRun, data: Any, seed: int, bar: Any) -> None:
    """Train ``r`` from the seed's initial weights with its schedule, and record it."""
    import torch

    from cyclr.demo import mnist1d
    from cyclr.torch import CyclicScheduler

    model = mnist1d.cnn(seed)
    opt = torch.optim.SGD(model.parameters(), lr=r.schedule(0), momentum=c.momentum)
    sched = None
    if r.key != "fixed":
        sched = CyclicScheduler(
            opt, r.schedule, momentum=r.momentum if r.key == "one_cycle" else None
        )
    on_step = None if bar is None else lambda _: bar.update()
    _record(r, _fit(c, r, model, opt, sched, data, seed, on_step))


def _fit(
    c: DemoConfig,
    r: PolicyRun,
    model: Any,
    opt: Any,
    sched: Any,
    data: Any,
    seed: int,
    on_step: Callable[[int], None] | None,
) -> Any:
    """:func:`cyclr.demo.mnist1d.train` for ``r.iterations`` updates, at ``c``'s batch size."""
    from cyclr.demo import mnist1d

    return mnist1d.train(
        model,
        opt,
        data,
        r.iterations,
        scheduler=sched,
        batch_size=c.batch_size,
        eval_every=c.eval_every,
        seed=seed,
        on_step=on_step,
    )


def _train_online(c: DemoConfig, r: PolicyRun, data: Any, seed: int, bar: Any) -> None:
    """Train ``r`` as a 1cycle that reads its bounds from its own warm-up, and record the LR
    and momentum it applied at every update as ``r.schedule`` and ``r.momentum``."""
    import torch

    from cyclr.demo import mnist1d
    from cyclr.torch import online_schedule

    model = mnist1d.cnn(seed)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=c.momentum)
    sched = online_schedule(model, opt, total_steps=r.iterations)
    group = opt.param_groups[0]
    lrs, moms = [float(group["lr"])], [float(group["momentum"])]  # those of update 0

    def on_step(it: int) -> None:  # after update it - 1: the scheduler has set update it's
        if it < r.iterations:
            lrs.append(float(group["lr"]))
            moms.append(float(group["momentum"]))
        if bar is not None:
            bar.update()

    with warnings.catch_warnings():
        # A blow-up it handles is warned about; here it is in the log, and the report says so.
        warnings.filterwarnings("ignore", "cyclr online schedule:", RuntimeWarning)
        tr = _fit(c, r, model, opt, sched, data, seed, on_step)
    _record(r, tr)
    if tr.diverged:  # the last LR set was never applied: the loss was not finite
        del lrs[max(tr.iters[-1], 1) :], moms[max(tr.iters[-1], 1) :]
    r.schedule, r.momentum = recorded_schedule(lrs), recorded_schedule(moms)
    r.online = OnlineReading(sched.bounds, sched.decided_at, sched.range_test_result, sched.log)


def _record(r: PolicyRun, tr: Any) -> None:
    """Copy what :func:`cyclr.demo.mnist1d.train` measured into ``r``."""
    r.iters, r.test_acc, r.final_acc = tr.iters, tr.test_acc, tr.final_acc
    r.diverged, r.wall_s = tr.diverged, tr.seconds


def _bar(total: int, desc: str, enabled: bool, unit: str = "it") -> Any:
    if not enabled:
        return None
    from tqdm.auto import tqdm

    return tqdm(
        total=total, desc=f"{desc:<17}", unit=unit, leave=False, file=sys.stderr, dynamic_ncols=True
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
