"""One training run, and every method of the zoo: the oracle's grids, cyclr, and the peers.

Every run of a task and seed starts from the same initial weights (``make_model(task, seed)``)
and sees the same batches in the same order (``Batches(..., seed)``); range tests draw from a
loader of their own (seed ``10_000 + seed``), which cyclr puts back as it found it. A job is a
plain dict (it crosses process boundaries); :func:`run_job` returns one record per method it
trained, each with the metric, the max_lr it used, and the updates it spent (range tests
included).
"""

from __future__ import annotations

import contextlib
import io
import math
import time
import traceback
import warnings
from collections.abc import Callable
from typing import Any, NamedTuple

import torch
from torch import nn

import cyclr
from cyclr.schedules.base import Schedule
from zoo.tasks import TASKS, Batches, Task, evaluate, load, loss_fn, make_model, make_optimizer

__all__ = ["METHODS", "PEER_PACKAGES", "Method", "RT_SEED_OFFSET", "run_job", "train"]

#: Range tests draw their batches from a loader seeded ``RT_SEED_OFFSET + seed``.
RT_SEED_OFFSET = 10_000
#: Schedule-Free's warm-up: this fraction of the budget.
SF_WARMUP = 0.05
#: The BatchNorm statistics are recomputed over this many batches before evaluating a
#: Schedule-Free model (the package's recipe for models with BatchNorm).
SF_BN_BATCHES = 50


class Method(NamedTuple):
    """How a method is labelled in the report."""

    label: str
    short: str  # for the plot
    family: str  # "oracle", "cyclr" or "peer"
    what: str


#: Every method of the report, in its order.
METHODS: dict[str, Method] = {
    "oracle_one_cycle": Method(
        "oracle: best 1cycle", "oracle 1cycle", "oracle", "1cycle grid over max_lr"
    ),
    "oracle_fixed": Method("oracle: best fixed LR", "oracle fixed LR", "oracle", "fixed-LR grid"),
    "oracle_triangular": Method(
        "oracle: best triangular", "oracle triangular", "oracle", "(base_lr, max_lr) grid"
    ),
    "cyclr_auto": Method(
        "cyclr auto_schedule → 1cycle",
        "cyclr auto → 1cycle",
        "cyclr",
        "auto_schedule(policy='one_cycle'): two-stage range test, both bounds, 1cycle",
    ),
    "cyclr_readme": Method(
        "cyclr find_bounds → 1cycle",
        "cyclr README → 1cycle",
        "cyclr",
        "the README's first example: find_bounds with its defaults (the two-stage recipe), "
        "bounds.one_cycle(budget)",
    ),
    "cyclr_auto_triangular": Method(
        "cyclr auto bounds → triangular",
        "cyclr auto → triangular",
        "cyclr",
        "auto_schedule's bounds, bounds.schedule('triangular', ...)",
    ),
    "lr_finder": Method(
        "torch-lr-finder steepest → OneCycleLR",
        "torch-lr-finder",
        "peer",
        "LRFinder.range_test (exp to 10, 100 updates), steepest gradient, torch OneCycleLR",
    ),
    "valley_standin": Method(
        "fastai valley rule (cyclr stand-in) → fit_one_cycle schedule",
        "fastai valley (stand-in)",
        "peer",
        "fastai not installed: cyclr range_test (fastai's lr_find ramp: exp, 100 updates) + "
        "result.suggest('valley'), OneCycle.fastai(valley) with moms 0.95/0.85/0.95",
    ),
    "schedulefree": Method(
        "Schedule-Free (defaults, 5% warm-up)",
        "Schedule-Free",
        "peer",
        "SGDScheduleFree (SGD tasks) or AdamWScheduleFree at the package's default lr",
    ),
    "prodigy": Method(
        "Prodigy lr=1 + cosine",
        "Prodigy",
        "peer",
        "prodigyopt.Prodigy(lr=1), CosineAnnealingLR",
    ),
}

#: The peer packages: import name -> distribution name.
PEER_PACKAGES = {
    "torch_lr_finder": "torch-lr-finder",
    "schedulefree": "schedulefree",
    "prodigyopt": "prodigyopt",
}


def _has_bn(model: nn.Module) -> bool:
    return any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules())


def train(
    task: Task,
    seed: int,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    budget: int,
    scheduler: Any = None,
    schedule_free: bool = False,
    on_step: Callable[[], None] | None = None,
) -> dict[str, Any]:
    """Train ``model`` for ``budget`` updates on the task's batches in the seed's order, then
    score it on the held-out set.

    A run whose loss turns non-finite stops there (``diverged``). A loss metric that is not
    finite, or worse than the untrained model's, is recorded as the untrained model's
    (``capped``): a broken run counts as no training at all, not as an infinite loss.
    """
    from cyclr.torch import OnlineScheduler

    online = isinstance(scheduler, OnlineScheduler)
    data = load(task.data)
    fn = loss_fn(task)
    init_metric = None if task.higher_is_better else evaluate(task, model, data)
    batches = Batches(data.x_train, data.y_train, task.batch_size, seed)
    torch.manual_seed(seed)
    t0 = time.perf_counter()
    model.train()
    if schedule_free:
        optimizer.train()  # type: ignore[attr-defined]
    steps, diverged = 0, False
    while steps < budget and not diverged:
        for x, y in batches:
            optimizer.zero_grad(set_to_none=True)
            loss = fn(model(x), y)
            if not torch.isfinite(loss):
                diverged = True
                break
            loss.backward()
            optimizer.step()
            if scheduler is not None:
                if online:  # an OnlineScheduler reads the batch loss
                    scheduler.step(loss.detach())
                else:
                    scheduler.step()
            if on_step is not None:
                on_step()
            steps += 1
            if steps >= budget:
                break
    if schedule_free:
        optimizer.eval()  # type: ignore[attr-defined]
        if _has_bn(model):
            model.train()
            with torch.no_grad():
                for i, (x, _) in enumerate(Batches(data.x_train, data.y_train, task.batch_size, 0)):
                    if i >= SF_BN_BATCHES:
                        break
                    model(x)
    seconds = time.perf_counter() - t0
    metric = evaluate(task, model, data)
    capped = False
    if init_metric is not None and not (math.isfinite(metric) and metric <= init_metric):
        metric, capped = init_metric, True
    if task.higher_is_better and not math.isfinite(metric):
        metric = 0.0
    return {
        "metric": metric,
        "diverged": diverged,
        "capped": capped,
        "steps": steps,
        "train_seconds": seconds,
    }


def _momentum(opt: torch.optim.Optimizer) -> bool | None:
    """``True`` (cycle momentum with the schedule) when the optimizer has momentum or betas."""
    g = opt.param_groups[0]
    return True if ("betas" in g or g.get("momentum", 0) > 0) else None


def _scheduled(task: Task, seed: int, schedule: Schedule, budget: int) -> dict[str, Any]:
    """A fresh model trained with a cyclr schedule (momentum cycled inversely)."""
    from cyclr.torch import CyclicScheduler

    model = make_model(task, seed)
    opt = make_optimizer(task, model.parameters(), schedule(0))
    sched = CyclicScheduler(opt, schedule, momentum=_momentum(opt))
    return train(task, seed, model, opt, budget, sched)


def _rt_loader(task: Task, seed: int) -> Batches:
    data = load(task.data)
    return Batches(data.x_train, data.y_train, task.batch_size, RT_SEED_OFFSET + seed)


def _rt_cost(results: Any) -> int:
    """Optimizer updates a range test ran (an update with a non-finite loss is not recorded)."""
    return sum(len(r) + (r.stop_reason == "non_finite_loss") for r in results)


def _error(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


# -- the oracle's grid points ---------------------------------------------------------------
def _grid_point(job: dict[str, Any]) -> list[dict[str, Any]]:
    task, seed, budget, kind = TASKS[job["task"]], job["seed"], job["budget"], job["kind"]
    if kind == "one_cycle":
        res = _scheduled(task, seed, cyclr.OneCycle(job["max_lr"], budget), budget)
    elif kind == "triangular":
        b = cyclr.Bounds(job["base_lr"], job["max_lr"], method="grid", reason="")
        s = b.schedule("triangular", total_steps=budget, iters_per_epoch=task.iters_per_epoch)
        res = _scheduled(task, seed, s, budget)
    else:
        model = make_model(task, seed)
        opt = make_optimizer(task, model.parameters(), job["max_lr"])
        res = train(task, seed, model, opt, budget)
    return [dict(res, updates=budget, rt_updates=0)]


# -- cyclr ----------------------------------------------------------------------------------
def _cyclr_auto(job: dict[str, Any]) -> list[dict[str, Any]]:
    """``auto_schedule`` → 1cycle, and the same bounds → triangular."""
    from cyclr.torch import auto_schedule

    task, seed, budget = TASKS[job["task"]], job["seed"], job["budget"]
    model = make_model(task, seed)
    opt = make_optimizer(task, model.parameters(), 1e-3)
    t0 = time.perf_counter()
    tests: list[Any] = []  # every range test that ran, also when the reading fails
    try:
        sched = auto_schedule(
            model,
            opt,
            loss_fn(task),
            _rt_loader(task, seed),
            policy="one_cycle",
            total_steps=budget,
            seed=seed,
            progress=False,
            on_test=tests.append,
            **job.get("rt", {}),
        )
    except Exception as exc:
        partial = getattr(exc, "range_test_result", None)
        seen = any(t is partial for t in tests)  # on_test may have had it already
        cost = _rt_cost([*tests, *([partial] if partial is not None and not seen else [])])
        fail = {"error": _error(exc), "rt_updates": cost, "updates": cost}
        return [dict(fail, method="cyclr_auto"), dict(fail, method="cyclr_auto_triangular")]
    rt_seconds = time.perf_counter() - t0
    b = sched.bounds
    cost = _rt_cost(sched.tests)
    info = {
        "max_lr": b.max_lr,
        "base_lr": b.base_lr,
        "read_by": None if b.reading is None else b.reading.rule,
        "reason": b.reason,
        "rt_updates": cost,
        "rt_seconds": rt_seconds,
        "updates": budget + cost,
        "sweeps": [
            {"mode": r.mode, "updates": len(r), "stop_reason": r.stop_reason} for r in sched.tests
        ],
    }
    one = train(task, seed, model, opt, budget, sched)
    tri_schedule = b.schedule(
        "triangular", total_steps=budget, iters_per_epoch=task.iters_per_epoch
    )
    tri = _scheduled(task, seed, tri_schedule, budget)
    step = getattr(tri_schedule, "step_size", None)
    return [
        dict(one, **info, method="cyclr_auto"),
        dict(tri, **info, method="cyclr_auto_triangular", step_size=step),
    ]


def _cyclr_readme(job: dict[str, Any]) -> list[dict[str, Any]]:
    """The README's path: ``find_bounds`` with its defaults (the two-stage recipe), then
    ``bounds.one_cycle(budget)``; and fastai's valley rule, read off a ``range_test`` with
    fastai's ``lr_find`` ramp (exp, 1e-7 to 10, 100 updates)."""
    from cyclr.torch import find_bounds, range_test

    task, seed, budget = TASKS[job["task"]], job["seed"], job["budget"]
    rt = dict(job.get("rt", {}))
    valley_iter = rt.pop("valley_num_iter", 100)

    def fresh() -> tuple[Any, Any, dict[str, Any]]:
        model = make_model(task, seed)
        opt = make_optimizer(task, model.parameters(), 1e-3)
        return model, opt, {"seed": seed, "progress": False, **rt}

    out = []
    model, opt, kw = fresh()
    tests: list[Any] = []
    t0 = time.perf_counter()
    try:
        found = find_bounds(
            model, opt, loss_fn(task), _rt_loader(task, seed), on_test=tests.append, **kw
        )
    except cyclr.SuggestionError as exc:  # the tests ran, but nothing could be read
        cost, seconds = _rt_cost(tests), time.perf_counter() - t0
        out.append(
            {"rt_updates": cost, "rt_seconds": seconds, "updates": cost}  # nothing trained
            | {"method": "cyclr_readme", "error": _error(exc)}
        )
    except Exception as exc:
        out.append({"error": _error(exc), "rt_updates": 0, "updates": 0, "method": "cyclr_readme"})
    else:
        b, cost = found.bounds, _rt_cost(found.tests)
        common = {"rt_updates": cost, "rt_seconds": time.perf_counter() - t0}
        res = train(task, seed, model, opt, budget, _cyclic(opt, b.one_cycle(budget)))
        out.append(
            dict(res, **common, updates=budget + cost, method="cyclr_readme")
            | {"max_lr": b.max_lr, "base_lr": b.base_lr}
            | {"read_by": None if b.reading is None else b.reading.rule, "reason": b.reason}
        )

    model, opt, kw = fresh()
    t0 = time.perf_counter()
    try:
        result = range_test(
            model, opt, loss_fn(task), _rt_loader(task, seed), num_iter=valley_iter, **kw
        )
    except Exception as exc:
        out.append(
            {"error": _error(exc), "rt_updates": 0, "updates": 0, "method": "valley_standin"}
        )
        return out
    cost = _rt_cost([result])
    common = {"rt_updates": cost, "rt_seconds": time.perf_counter() - t0, "updates": budget + cost}
    try:
        lr = result.suggest("valley").max_lr
        res = _scheduled(task, seed, cyclr.OneCycle.fastai(lr, budget), budget)
        out.append(dict(res, **common, method="valley_standin", max_lr=lr))
    except cyclr.SuggestionError as exc:
        failed = dict(common, updates=cost)  # nothing trained
        out.append(dict(failed, method="valley_standin", error=_error(exc)))
    return out


def _cyclic(opt: torch.optim.Optimizer, schedule: Schedule) -> Any:
    from cyclr.torch import CyclicScheduler

    return CyclicScheduler(opt, schedule, momentum=_momentum(opt))


# -- peers ----------------------------------------------------------------------------------
def _lr_finder(job: dict[str, Any]) -> list[dict[str, Any]]:
    """torch-lr-finder's range test and steepest-gradient suggestion, then torch's
    ``OneCycleLR(max_lr=suggestion)`` at its defaults."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from torch_lr_finder import LRFinder, TrainDataLoaderIter

    task, seed, budget = TASKS[job["task"]], job["seed"], job["budget"]
    model = make_model(task, seed)
    opt = make_optimizer(task, model.parameters(), 1e-7)
    t0 = time.perf_counter()
    torch.manual_seed(seed)
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        finder = LRFinder(model, opt, loss_fn(task))
        finder.range_test(
            TrainDataLoaderIter(_rt_loader(task, seed)),
            end_lr=10,
            num_iter=job.get("rt", {}).get("num_iter", 100),
        )
        fig, ax = plt.subplots()
        try:
            _, lr = finder.plot(suggest_lr=True, ax=ax)
        finally:
            plt.close(fig)
        cost = len(finder.history["lr"])
        finder.reset()
    rt_seconds = time.perf_counter() - t0
    lr = float(lr)
    model = make_model(task, seed)  # the same initial weights, and a fresh optimizer
    opt = make_optimizer(task, model.parameters(), lr)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=budget)
    res = train(task, seed, model, opt, budget, sched)
    return [
        dict(
            res,
            method="lr_finder",
            max_lr=lr,
            rt_updates=cost,
            rt_seconds=rt_seconds,
            updates=budget + cost,
        )
    ]


def _schedulefree(job: dict[str, Any]) -> list[dict[str, Any]]:
    """Schedule-Free SGD (SGD tasks) or AdamW (Adam/AdamW tasks) at the package's defaults,
    with the task's weight decay and a 5% warm-up."""
    import schedulefree

    task, seed, budget = TASKS[job["task"]], job["seed"], job["budget"]
    model = make_model(task, seed)
    warmup = max(1, round(SF_WARMUP * budget))
    if task.optimizer == "sgd":
        opt = schedulefree.SGDScheduleFree(
            model.parameters(), warmup_steps=warmup, weight_decay=task.weight_decay
        )
    else:
        opt = schedulefree.AdamWScheduleFree(
            model.parameters(), warmup_steps=warmup, weight_decay=task.weight_decay
        )
    lr = float(opt.param_groups[0]["lr"])
    res = train(task, seed, model, opt, budget, schedule_free=True)
    return [
        dict(
            res,
            method="schedulefree",
            max_lr=lr,
            optimizer=type(opt).__name__,
            rt_updates=0,
            updates=budget,
        )
    ]


def _prodigy(job: dict[str, Any]) -> list[dict[str, Any]]:
    """Prodigy at lr=1 with cosine annealing over the budget. Its peak effective step size
    ``d * lr`` is reported as its max_lr."""
    from prodigyopt import Prodigy

    task, seed, budget = TASKS[job["task"]], job["seed"], job["budget"]
    model = make_model(task, seed)
    wd = task.weight_decay if task.optimizer == "adamw" else 0.0
    with contextlib.redirect_stdout(io.StringIO()):
        opt = Prodigy(model.parameters(), lr=1.0, weight_decay=wd)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=budget)
    peak = [0.0]

    def track() -> None:
        g = opt.param_groups[0]
        peak[0] = max(peak[0], float(g["d"]) * float(g["lr"]))

    res = train(task, seed, model, opt, budget, sched, on_step=track)
    d = float(opt.param_groups[0]["d"])
    return [dict(res, method="prodigy", max_lr=peak[0], d_final=d, rt_updates=0, updates=budget)]


_RUNNERS: dict[str, Callable[[dict[str, Any]], list[dict[str, Any]]]] = {
    "one_cycle": _grid_point,
    "fixed": _grid_point,
    "triangular": _grid_point,
    "cyclr_auto": _cyclr_auto,
    "cyclr_readme": _cyclr_readme,
    "lr_finder": _lr_finder,
    "schedulefree": _schedulefree,
    "prodigy": _prodigy,
}

#: The methods each job kind produces.
JOB_METHODS = {
    "cyclr_auto": ("cyclr_auto", "cyclr_auto_triangular"),
    "cyclr_readme": ("cyclr_readme", "valley_standin"),
    "lr_finder": ("lr_finder",),
    "schedulefree": ("schedulefree",),
    "prodigy": ("prodigy",),
}


def run_job(job: dict[str, Any]) -> list[dict[str, Any]]:
    """Run one job in this process; one record per method trained (an error is recorded, not
    raised). Each record carries the job's fields, ``method`` and ``seconds``."""
    torch.set_num_threads(1)
    t0 = time.perf_counter()
    warnings.simplefilter("ignore")
    try:
        records = _RUNNERS[job["kind"]](job)
    except Exception as exc:
        methods = JOB_METHODS.get(job["kind"], (job["kind"],))
        detail = traceback.format_exc(limit=-3)
        records = [{"method": m, "error": _error(exc), "traceback": detail} for m in methods]
    seconds = time.perf_counter() - t0
    out = []
    for r in records:
        rec = {**job, "seconds": seconds / len(records), **r}
        rec.setdefault("method", job["kind"])
        rec.pop("rt", None)
        out.append(rec)
    return out
