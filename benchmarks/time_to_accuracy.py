"""Time to accuracy: cyclical LRs and 1cycle, bounds from cyclr's own range test, against fixed LRs.

For every task and seed:

1. **Baseline.** A grid of log-spaced fixed learning rates, each trained for the same budget. The
   best grid point (by final test accuracy, mean over seeds) sets the **target**: its mean final
   accuracy. Its **baseline iterations** are where its mean-over-seeds accuracy curve first
   reaches the target.
2. **Range test.** ``cyclr.torch.auto_schedule`` with its defaults (an exponential sweep, then the
   paper's linear sweep) reads ``base_lr`` and ``max_lr``; nothing is tuned by hand. Its
   optimizer updates are charged to every run that uses its bounds.
3. **Cyclical runs** (Smith 2015) between those bounds: triangular, triangular2, exp_range with
   decaying bounds (the paper) and with decaying amplitude (PyTorch/Keras). The budget is the
   baseline's, cut to whole cycles: ``step_size`` is the half cycle nearest to 4 epochs that fits
   a whole number (>= 3) of cycles, as ``auto_schedule`` does (the paper: 2-10 epochs, at least 3
   cycles, stop at the end of a cycle). Momentum stays fixed, as in the paper.
4. **1cycle runs** (Smith & Topin 2017; Smith 2018) with momentum cycling 0.95 -> 0.85 -> 0.95:
   ``Bounds.one_cycle`` (the paper's linear cycle up to ``max_lr`` and back, then annihilation),
   and the PyTorch ``OneCycleLR`` and fastai ``fit_one_cycle`` presets at ``max_lr``, each at a
   sweep of small budgets.

Reported per policy: final accuracy (mean ± std over seeds), how many seeds reach the target,
the iterations at which the mean curve reaches it (plus the range test), and the speed-up
``baseline iterations / (range test + iterations to the target)``.

    python benchmarks/time_to_accuracy.py              # 2 tasks x 3 seeds, ~4 min on 2 cores
    python benchmarks/time_to_accuracy.py --seeds 1    # one seed per task, a quick look
    python benchmarks/time_to_accuracy.py --quick      # tiny smoke run (seconds)

Writes ``time_to_accuracy.{json,md,png}`` to ``benchmarks/results/`` (``--out`` to change).
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing as mp
import os
import platform
import sys
import time
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

import cyclr
from cyclr.demo import mnist1d
from cyclr.range_test.recipe import COARSE_ITER, LINEAR_ITER
from cyclr.schedules.base import Schedule
from cyclr.suggest.bounds import MIN_CYCLES, STEP_EPOCHS, Bounds
from cyclr.torch import CyclicScheduler, auto_schedule

RESULTS = Path(__file__).parent / "results"
#: The CLR paper's speed-up on CIFAR-10 (fixed LR 70k iterations, triangular2 25k).
PAPER_CLR_SPEEDUP = 70_000 / 25_000
#: The speed-up goal for automatic 1cycle, range test included.
ONE_CYCLE_GOAL = 5.0

CLR_POLICIES = ("triangular", "triangular2", "exp_range", "exp_range_amplitude")
ONE_CYCLE_POLICIES = ("one_cycle", "one_cycle_pytorch", "one_cycle_fastai")
LABELS = {
    "fixed": "fixed LR",
    "triangular": "triangular",
    "triangular2": "triangular2",
    "exp_range": "exp_range (bounds decay)",
    "exp_range_amplitude": "exp_range (amplitude decay)",
    "one_cycle": "1cycle (Smith: linear + annihilation)",
    "one_cycle_pytorch": "1cycle (PyTorch preset)",
    "one_cycle_fastai": "1cycle (fastai preset)",
}
COLORS = {
    "fixed": "#222222",
    "triangular": "#1f77b4",
    "triangular2": "#2ca02c",
    "exp_range": "#9467bd",
    "exp_range_amplitude": "#17becf",
    "one_cycle": "#d62728",
    "one_cycle_pytorch": "#ff7f0e",
    "one_cycle_fastai": "#8c564b",
}


# -- tasks ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Task:
    """A model, an optimizer and the budgets it is benchmarked at."""

    key: str
    title: str
    arch: str  # "cnn" or "mlp" (cyclr.demo.mnist1d)
    optimizer: str  # "sgd" (momentum 0.9) or "adam"
    grid: tuple[float, ...]  # the fixed LRs of the baseline
    budget: int  # the baseline's iterations
    one_cycle_budgets: tuple[int, ...]
    n_train: int | None = None  # None: all 4000 MNIST-1D training examples
    batch_size: int = 100
    eval_every: int = 25
    rt_coarse: int = COARSE_ITER  # the range test's two sweeps (auto_schedule's defaults)
    rt_linear: int = LINEAR_ITER

    @property
    def iters_per_epoch(self) -> int:
        return max(1, (self.n_train or 4000) // self.batch_size)

    def data(self) -> mnist1d.Data:
        return mnist1d.load(self.n_train)

    def model(self, seed: int) -> torch.nn.Module:
        return mnist1d.cnn(seed) if self.arch == "cnn" else mnist1d.mlp(seed)

    def make_optimizer(self, model: torch.nn.Module, lr: float) -> torch.optim.Optimizer:
        if self.optimizer == "sgd":
            return torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
        return torch.optim.Adam(model.parameters(), lr=lr)

    def clr_step(self) -> tuple[int, int]:
        """``(step_size, iterations)``: whole cycles (>= 3) with the half cycle nearest to 4
        epochs that fit the baseline budget (``auto_schedule``'s rule)."""
        ipe = self.iters_per_epoch
        cycles = max(MIN_CYCLES, round(self.budget / (2 * STEP_EPOCHS * ipe)))
        step = max(1, self.budget // (2 * cycles))
        return step, 2 * cycles * step


TASKS = {
    "mnist1d-cnn-sgd": Task(
        "mnist1d-cnn-sgd",
        "MNIST-1D, 1D CNN, SGD momentum 0.9, batch 100",
        "cnn",
        "sgd",
        grid=tuple(float(f"{x:.3g}") for x in np.geomspace(0.005, 0.5, 7)),
        budget=3000,
        one_cycle_budgets=(300, 450, 600, 800, 1000, 1500, 2000),
    ),
    "mnist1d-mlp-adam": Task(
        "mnist1d-mlp-adam",
        "MNIST-1D, MLP (2 x 100), Adam, batch 100",
        "mlp",
        "adam",
        grid=tuple(float(f"{x:.3g}") for x in np.geomspace(1e-4, 0.1, 7)),
        budget=3000,
        one_cycle_budgets=(300, 450, 600, 800, 1000, 1500, 2000),
    ),
}


def quick_task(task: Task) -> Task:
    """A tiny version of ``task`` for smoke tests (a few seconds)."""
    return replace(
        task,
        grid=task.grid[2:5:2],
        budget=60,
        one_cycle_budgets=(20, 40),
        n_train=400,
        eval_every=10,
        rt_coarse=30,
        rt_linear=60,
    )


# -- jobs -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Job:
    """One range test or one training run, executed in a worker process."""

    task: Task
    seed: int
    policy: str  # "range_test", "fixed", one of CLR_POLICIES or ONE_CYCLE_POLICIES
    iters: int = 0
    lr: float | None = None  # fixed LR
    schedule: Schedule | None = None
    momentum: bool = False  # cycle momentum with the schedule
    tag: str = ""  # groups runs of the same setting across seeds
    n_train: int | None = None  # overrides task.n_train when given
    extra: dict[str, Any] = field(default_factory=dict)


def _worker_init() -> None:
    torch.set_num_threads(1)
    warnings.simplefilter("ignore")


def range_test_cost(results: Iterable[Any]) -> int:
    """Optimizer updates a range test ran (an update with a non-finite loss is not recorded)."""
    return sum(len(r) + (r.stop_reason == "non_finite_loss") for r in results)


def run_job(job: Job) -> dict[str, Any]:
    """Run ``job``; returns plain data (JSON-ready)."""
    task = job.task if job.n_train is None else replace(job.task, n_train=job.n_train)
    data = task.data()
    model = task.model(job.seed)
    out: dict[str, Any] = {
        "task": task.key,
        "seed": job.seed,
        "policy": job.policy,
        "tag": job.tag,
        "n_train": task.n_train,
        **job.extra,
    }
    t0 = time.perf_counter()
    if job.policy == "range_test":
        opt = task.make_optimizer(model, 0.01)
        loader = mnist1d.loader(data, task.batch_size, seed=10_000 + job.seed)
        try:
            sched = auto_schedule(
                model,
                opt,
                torch.nn.functional.cross_entropy,
                loader,
                policy="triangular",
                coarse_iter=task.rt_coarse,
                linear_iter=task.rt_linear,
                progress=False,
                seed=job.seed,
            )
        except Exception as exc:  # a failed reading: the automatic runs of this seed are lost
            err = getattr(exc, "range_test_result", None)
            cost = range_test_cost([err]) if err is not None else task.rt_coarse + task.rt_linear
            out.update(error=f"{type(exc).__name__}: {exc}", cost=cost)
        else:
            b: Bounds = sched.bounds
            results = sched.tests
            out.update(
                base_lr=b.base_lr,
                max_lr=b.max_lr,
                method=b.method,
                reason=b.reason,
                read_by=None if b.reading is None else b.reading.rule,
                peak_lr=None if b.reading is None else b.reading.plateau_centre,
                cost=range_test_cost(results),
                error=None,
                sweeps=[
                    {
                        "mode": r.mode,
                        "start_lr": float(r.lr[0]),
                        "end_lr": float(r.lr[-1]),
                        "updates": len(r),
                        "stop_reason": r.stop_reason,
                    }
                    for r in results
                ],
            )
        out["seconds"] = time.perf_counter() - t0
        return out
    opt = task.make_optimizer(model, job.lr if job.lr is not None else 0.01)
    sched = None
    if job.schedule is not None:
        sched = CyclicScheduler(opt, job.schedule, momentum=True if job.momentum else None)
    r = mnist1d.train(
        model,
        opt,
        data,
        job.iters,
        scheduler=sched,
        batch_size=task.batch_size,
        eval_every=task.eval_every,
        seed=job.seed,
    )
    acc = [round(a, 4) for a in r.test_acc]
    out.update(
        iters=r.iters,
        acc=acc,
        final_acc=acc[-1] if acc else math.nan,
        diverged=r.diverged,
        budget=job.iters,
        lr=job.lr,
        schedule=None if job.schedule is None else job.schedule.to_dict(),
        seconds=r.seconds,
    )
    return out


def run_pool(
    first: Sequence[Job],
    then: Callable[[list[dict[str, Any]]], Sequence[Job]] | None,
    others: Sequence[Job],
    workers: int,
    log: Callable[[str], None],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Run ``first`` (range tests) and ``others`` in a pool; once ``first`` is done, queue
    ``then(first_results)``. Returns ``(first_results, other_results)``."""
    start = time.perf_counter()
    done = [0]
    total = [len(first) + len(others)]

    def note(res: dict[str, Any]) -> None:
        done[0] += 1
        what = res["policy"] + (f" {res['tag']}" if res.get("tag") else "")
        acc = res.get("final_acc")
        tail = f" acc={acc:.3f}" if acc is not None else f" cost={res.get('cost')}"
        try:  # a failing progress line must not stop the pool's result thread
            log(
                f"[{time.perf_counter() - start:6.0f}s] {done[0]}/{total[0]} {res['task']} "
                f"seed {res['seed']}: {what}{tail} ({res['seconds']:.1f}s)"
            )
        except Exception:
            pass

    ctx = mp.get_context("spawn")
    if workers <= 1:
        _worker_init()
        firsts = [run_job(j) for j in first]
        for r in firsts:
            note(r)
        more = list(then(firsts)) if then else []
        total[0] += len(more)
        rest = []
        for j in [*others, *more]:
            rest.append(run_job(j))
            note(rest[-1])
        return firsts, rest
    with ctx.Pool(workers, initializer=_worker_init) as pool:
        first_async = [pool.apply_async(run_job, (j,), callback=note) for j in first]
        # Longest first, so the pool does not end on one long straggler.
        order = sorted(others, key=lambda j: -j.iters)
        other_async = [pool.apply_async(run_job, (j,), callback=note) for j in order]
        firsts = [a.get() for a in first_async]
        more = sorted(then(firsts) if then else [], key=lambda j: -j.iters)
        total[0] += len(more)
        more_async = [pool.apply_async(run_job, (j,), callback=note) for j in more]
        rest = [a.get() for a in other_async] + [a.get() for a in more_async]
    return firsts, rest


# -- schedules from bounds ------------------------------------------------------------------
def clr_schedule(bounds: Bounds, policy: str, task: Task) -> Schedule:
    """The CLR schedule ``policy`` between ``bounds`` (``Bounds.triangular``)."""
    step, _ = task.clr_step()
    ipe = task.iters_per_epoch
    if policy == "exp_range_amplitude":
        return bounds.triangular(step, ipe, "exp_range", decay="amplitude")
    return bounds.triangular(step, ipe, policy)


def one_cycle_schedule(bounds: Bounds, policy: str, total: int) -> Schedule:
    """The 1cycle variant ``policy`` over ``total`` updates, from ``bounds``."""
    if policy == "one_cycle":
        return bounds.one_cycle(total)
    if policy == "one_cycle_pytorch":
        return cyclr.OneCycle.pytorch(bounds.max_lr, total)
    return cyclr.OneCycle.fastai(bounds.max_lr, total)


def bounds_of(rt: dict[str, Any]) -> Bounds | None:
    if rt.get("error"):
        return None
    return Bounds(rt["base_lr"], rt["max_lr"], method=rt["method"], reason=rt["reason"])


# -- analysis -------------------------------------------------------------------------------
def mean_curve(runs: Sequence[dict[str, Any]]) -> tuple[list[int], list[float], list[float]]:
    """``(iters, mean, std)`` over runs on the longest run's evaluation grid; a run that diverged
    keeps its last accuracy from then on."""
    grid = max((r["iters"] for r in runs), key=len)
    rows = []
    for r in runs:
        its, acc = np.asarray(r["iters"]), np.asarray(r["acc"])
        idx = np.searchsorted(its, grid, side="right") - 1
        rows.append(acc[np.clip(idx, 0, len(acc) - 1)])
    a = np.vstack(rows)
    return list(grid), a.mean(0).tolist(), a.std(0).tolist()


def first_reach(iters: Sequence[int], acc: Sequence[float], target: float) -> int | None:
    """First evaluated iteration with accuracy >= ``target`` (None: never)."""
    for it, a in zip(iters, acc):
        if a >= target - 1e-9:
            return int(it)
    return None


def _std(x: Sequence[float]) -> float:
    return float(np.std(x, ddof=1)) if len(x) > 1 else 0.0


def describe(
    runs: Sequence[dict[str, Any]],
    target: float,
    offset: float,
    baseline_iters: float | None,
    baseline_budget: int | None = None,
) -> dict[str, Any]:
    """Summary of one setting over seeds: accuracy, iterations to ``target`` and speed-ups
    against the best fixed LR: against the iterations its mean curve needs to reach ``target``
    (``baseline_iters``), and against its whole ``baseline_budget`` (the CLR paper's Table 1)."""
    finals = [float(r["final_acc"]) for r in runs]
    its, mean, std = mean_curve(runs)
    reach = first_reach(its, mean, target)
    per_seed = [first_reach(r["iters"], r["acc"], target) for r in runs]
    cost = None if reach is None else offset + reach
    return {
        "seeds": len(runs),
        "final_mean": float(np.mean(finals)),
        "final_std": _std(finals),
        "best_mean": float(np.max(mean)),
        "diverged": sum(bool(r["diverged"]) for r in runs),
        "iters_to_target": reach,
        "iters_to_target_per_seed": per_seed,
        "seeds_reaching": sum(x is not None for x in per_seed),
        "range_test_iters": offset,
        "cost_to_target": cost,
        "speedup": None if cost is None or not baseline_iters else baseline_iters / cost,
        "speedup_training_only": None
        if not reach or not baseline_iters
        else baseline_iters / reach,
        "speedup_vs_budget": None
        if cost is None or not baseline_budget
        else baseline_budget / cost,
        "curve": {
            "iters": its,
            "mean": [round(x, 4) for x in mean],
            "std": [round(x, 4) for x in std],
        },
        "budget": runs[0].get("budget"),
    }


def summarize(task: Task, rts: list[dict[str, Any]], runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Per-task numbers: the baseline, the target and every automatic policy."""
    mine = [r for r in runs if r["task"] == task.key]
    fixed: dict[float, list[dict[str, Any]]] = {}
    for r in mine:
        if r["policy"] == "fixed":
            fixed.setdefault(r["lr"], []).append(r)
    means = {lr: float(np.mean([r["final_acc"] for r in rs])) for lr, rs in fixed.items()}
    best_lr = max(means, key=lambda lr: means[lr])
    target = means[best_lr]
    base_its, base_mean, _ = mean_curve(fixed[best_lr])
    baseline_iters = first_reach(base_its, base_mean, target)
    task_rts = [r for r in rts if r["task"] == task.key]
    rt_cost = float(np.mean([r["cost"] for r in task_rts])) if task_rts else 0.0
    out: dict[str, Any] = {
        "title": task.title,
        "target": target,
        "best_lr": best_lr,
        "baseline_budget": task.budget,
        "baseline_iters": baseline_iters,
        "grid_iters": len(task.grid) * task.budget,
        "range_test_iters": rt_cost,
        "rt_sweeps": [task.rt_coarse, task.rt_linear],
        "range_tests": [
            {
                k: r.get(k)
                for k in (
                    "seed",
                    "base_lr",
                    "max_lr",
                    "peak_lr",
                    "read_by",
                    "cost",
                    "reason",
                    "error",
                    "sweeps",
                )
            }
            for r in task_rts
        ],
        "clr_step_size": task.clr_step()[0],
        "clr_iters": task.clr_step()[1],
        "iters_per_epoch": task.iters_per_epoch,
        "fixed": {
            f"{lr:g}": describe(rs, target, 0.0, baseline_iters, task.budget)
            for lr, rs in sorted(fixed.items())
        },
        "policies": {},
        "one_cycle": {},
    }
    for pol in CLR_POLICIES:
        rs = [r for r in mine if r["policy"] == pol]
        if rs:
            out["policies"][pol] = describe(rs, target, rt_cost, baseline_iters, task.budget)
    for pol in ONE_CYCLE_POLICIES:
        per_budget = {}
        for b in task.one_cycle_budgets:
            rs = [r for r in mine if r["policy"] == pol and r["budget"] == b]
            if rs:
                per_budget[str(b)] = describe(rs, target, rt_cost, baseline_iters, task.budget)
        if not per_budget:
            continue
        reaching = [b for b, d in per_budget.items() if d["iters_to_target"] is not None]
        chosen = (
            min(reaching, key=lambda b: per_budget[b]["cost_to_target"])
            if reaching
            else max(per_budget, key=int)
        )
        out["one_cycle"][pol] = {"budgets": per_budget, "chosen_budget": int(chosen)}
        out["policies"][pol] = {**per_budget[chosen], "budget": int(chosen)}

    def best(pols: Sequence[str], key: str) -> float:
        return max(
            (out["policies"][p][key] or 0.0 for p in pols if p in out["policies"]), default=0.0
        )

    one, one_b = best(ONE_CYCLE_POLICIES, "speedup"), best(ONE_CYCLE_POLICIES, "speedup_vs_budget")
    clr, clr_b = best(CLR_POLICIES, "speedup"), best(CLR_POLICIES, "speedup_vs_budget")
    out["goals"] = {
        "one_cycle_speedup_goal": ONE_CYCLE_GOAL,
        "one_cycle_best_speedup": one,
        "one_cycle_best_speedup_vs_budget": one_b,
        "one_cycle_goal_met": one >= ONE_CYCLE_GOAL,
        "one_cycle_goal_met_vs_budget": one_b >= ONE_CYCLE_GOAL,
        "clr_speedup_goal": PAPER_CLR_SPEEDUP,
        "clr_best_speedup": clr,
        "clr_best_speedup_vs_budget": clr_b,
        "clr_goal_met": clr > PAPER_CLR_SPEEDUP,
        "clr_goal_met_vs_budget": clr_b > PAPER_CLR_SPEEDUP,
    }
    return out


# -- report ---------------------------------------------------------------------------------
def _pct(x: float | None) -> str:
    return "—" if x is None or not math.isfinite(x) else f"{100 * x:.1f}"


def _acc(d: dict[str, Any]) -> str:
    return f"{_pct(d['final_mean'])} ± {_pct(d['final_std'])}"


def _its(x: float | None) -> str:
    return "never" if x is None else f"{x:,.0f}"


def _x(x: float | None) -> str:
    return "—" if x is None else f"{x:.2f}×"


def markdown(summary: dict[str, Any], command: str) -> str:
    """The report tables."""
    lines = [f"Command: `{command}`", ""]
    for key, s in summary["tasks"].items():
        base = s["baseline_iters"]
        n_best = s["fixed"][f"{s['best_lr']:g}"]["seeds"]
        lines += [
            f"### {s['title']} (`{key}`)",
            "",
            f"- Target: **{_pct(s['target'])}%**, the final test accuracy of the best fixed LR "
            f"({s['best_lr']:g}) after {s['baseline_budget']:,} iterations (mean of "
            f"{n_best} seeds); its mean curve first reaches "
            f"it at **{_its(base)}** iterations (the baseline).",
            f"- Range test (`auto_schedule`: exponential sweep of {s['rt_sweeps'][0]} updates, "
            f"then linear sweep of {s['rt_sweeps'][1]}, each stopping early when the loss blows "
            f"up; charged to every automatic run): {s['range_test_iters']:.0f} iterations on "
            "average. Bounds per seed: "
            + ", ".join(
                f"{r['base_lr']:.3g}–{r['max_lr']:.3g}" if not r["error"] else "failed"
                for r in s["range_tests"]
            )
            + ".",
            f"- CLR: step_size {s['clr_step_size']} iterations "
            f"({s['clr_step_size'] / s['iters_per_epoch']:.2f} epochs), "
            f"{s['clr_iters'] // (2 * s['clr_step_size'])} cycles, {s['clr_iters']:,} iterations.",
            "",
            f"| policy | iterations run | final acc % (mean ± std) | seeds reaching the target "
            f"| iterations to target (+ range test) | speed-up vs {_its(base)} "
            f"| vs {s['baseline_budget']:,} | training only, vs {_its(base)} |",
            "|---|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for lr, d in s["fixed"].items():
            star = " **(best)**" if float(lr) == s["best_lr"] else ""
            lines.append(
                f"| fixed {lr}{star} | {d['budget']:,} | {_acc(d)} | "
                f"{d['seeds_reaching']}/{d['seeds']} | {_its(d['iters_to_target'])} "
                f"| {_x(d['speedup'])} | | |"
            )
        for pol, d in s["policies"].items():
            rt = d["range_test_iters"]
            reach = d["iters_to_target"]
            its = "never" if reach is None else f"{reach:,} + {rt:.0f} = {reach + rt:,.0f}"
            note = " (smallest reaching budget)" if pol in s["one_cycle"] and reach else ""
            lines.append(
                f"| {LABELS[pol]} | {d['budget']:,}{note} | {_acc(d)} | "
                f"{d['seeds_reaching']}/{d['seeds']} | {its} | {_x(d['speedup'])} | "
                f"{_x(d['speedup_vs_budget'])} | {_x(d['speedup_training_only'])} |"
            )
        if s["one_cycle"]:
            budgets = list(next(iter(s["one_cycle"].values()))["budgets"])
            lines += [
                "",
                "1cycle budget sweep: final accuracy % (mean ± std) and seeds reaching the target.",
                "",
                "| 1cycle variant | " + " | ".join(f"{int(b):,} it" for b in budgets) + " |",
                "|---|" + "---:|" * len(budgets),
            ]
            for pol, o in s["one_cycle"].items():
                cells = [
                    f"{_acc(d)} ({d['seeds_reaching']}/{d['seeds']})" for d in o["budgets"].values()
                ]
                lines.append(f"| {LABELS[pol]} | " + " | ".join(cells) + " |")
        g = s["goals"]

        def verdict(ok: bool) -> str:
            return "met" if ok else "missed"

        lines += [
            "",
            f"Goals, range test included (against {_its(base)} / against "
            f"{s['baseline_budget']:,} iterations): 1cycle ≥ {g['one_cycle_speedup_goal']:g}×: "
            f"best {_x(g['one_cycle_best_speedup'])} / {_x(g['one_cycle_best_speedup_vs_budget'])}"
            f" — {verdict(g['one_cycle_goal_met'])} / {verdict(g['one_cycle_goal_met_vs_budget'])}"
            f". CLR > {g['clr_speedup_goal']:.1f}× (the paper): best {_x(g['clr_best_speedup'])}"
            f" / {_x(g['clr_best_speedup_vs_budget'])} — {verdict(g['clr_goal_met'])} / "
            f"{verdict(g['clr_goal_met_vs_budget'])}. The grid search itself cost "
            f"{s['grid_iters']:,} iterations.",
            "",
        ]
    return "\n".join(lines)


def plot(summary: dict[str, Any], path: Path) -> None:
    """Mean test accuracy against iterations (range test included) for every policy."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tasks = summary["tasks"]
    fig, axes = plt.subplots(len(tasks), 2, figsize=(13, 4.6 * len(tasks)), squeeze=False)
    for row, s in zip(axes, tasks.values()):
        target, rt = s["target"], s["range_test_iters"]
        best = s["fixed"][f"{s['best_lr']:g}"]["curve"]
        tops = [max(best["mean"])]
        for ax, pols, title in (
            (row[0], CLR_POLICIES, "cyclical LR (auto bounds)"),
            (row[1], ONE_CYCLE_POLICIES, "1cycle (auto bounds)"),
        ):
            ax.axvspan(0, rt, color="#dddddd", alpha=0.6, lw=0)
            ax.text(
                rt / 2,
                0.02,
                "range\ntest",
                transform=ax.get_xaxis_transform(),
                ha="center",
                fontsize=8,
                color="#555555",
            )
            ax.plot(
                best["iters"],
                best["mean"],
                color=COLORS["fixed"],
                lw=2,
                label=f"best fixed LR {s['best_lr']:g}",
            )
            for pol in pols:
                d = s["policies"].get(pol)
                if d is None:
                    continue
                c = d["curve"]
                x = np.asarray(c["iters"]) + rt
                lab = LABELS[pol] + (f", {d['budget']:,} it" if pol in s["one_cycle"] else "")
                ax.plot(x, c["mean"], color=COLORS[pol], lw=1.6, label=lab)
                tops.append(max(c["mean"]))
                if pol in s["one_cycle"]:  # the end points of the whole budget sweep
                    pts = s["one_cycle"][pol]["budgets"]
                    bx = [int(b) + rt for b in pts]
                    by = [p["final_mean"] for p in pts.values()]
                    ax.plot(bx, by, ls=":", marker="o", ms=4, color=COLORS[pol], lw=1)
                    tops.extend(by)
            if pols == ONE_CYCLE_POLICIES and s["one_cycle"]:
                ax.plot(
                    [],
                    [],
                    ls=":",
                    marker="o",
                    ms=4,
                    color="#777777",
                    lw=1,
                    label="final accuracy at each budget of the sweep",
                )
            if s["baseline_iters"]:
                ax.axvline(
                    s["baseline_iters"],
                    color=COLORS["fixed"],
                    ls=":",
                    lw=1,
                    label=f"best fixed LR reaches the target ({s['baseline_iters']:,})",
                )
            ax.axhline(target, color="#444444", ls="--", lw=1, label=f"target {100 * target:.1f}%")
            ax.set_title(f"{s['title']}\n{title}", fontsize=10)
            ax.set_xlabel("iterations (automatic runs: range test included)")
            ax.set_ylabel("test accuracy, % (mean over seeds)")
            ax.yaxis.set_major_formatter(lambda y, _: f"{100 * y:.0f}")
            ax.grid(alpha=0.3)
        lo = max(0.0, target - 0.25)
        hi = min(1.0, max(tops) + 0.01)
        for ax in row:
            ax.set_ylim(lo, hi)
            ax.set_xlim(0, max(s["baseline_budget"], s["clr_iters"]) + rt)
            ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


# -- main -----------------------------------------------------------------------------------
def build_jobs(tasks: Sequence[Task], seeds: Sequence[int]) -> tuple[list[Job], list[Job]]:
    """``(range tests, fixed-LR runs)``."""
    rts = [Job(t, s, "range_test") for t in tasks for s in seeds]
    fixed = [
        Job(t, s, "fixed", t.budget, lr=lr, tag=f"lr={lr:g}")
        for t in tasks
        for lr in t.grid
        for s in seeds
    ]
    return rts, fixed


def policy_jobs(tasks: Sequence[Task], rts: list[dict[str, Any]]) -> list[Job]:
    """The automatic runs, once each seed's bounds are known."""
    by_key = {t.key: t for t in tasks}
    jobs = []
    for rt in rts:
        b = bounds_of(rt)
        if b is None:
            continue
        task, seed = by_key[rt["task"]], rt["seed"]
        _, clr_iters = task.clr_step()
        for pol in CLR_POLICIES:
            jobs.append(Job(task, seed, pol, clr_iters, schedule=clr_schedule(b, pol, task)))
        for pol in ONE_CYCLE_POLICIES:
            for total in task.one_cycle_budgets:
                jobs.append(
                    Job(
                        task,
                        seed,
                        pol,
                        total,
                        momentum=True,
                        tag=f"{total} it",
                        schedule=one_cycle_schedule(b, pol, total),
                    )
                )
    return jobs


def provenance() -> dict[str, Any]:
    """The git commit the run used, and the library files that differed from it."""
    import subprocess

    root = Path(__file__).resolve().parents[1]
    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "src"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.split("\n")
    except (OSError, subprocess.SubprocessError):
        return {}
    return {"commit": head, "src_changes": [x.strip() for x in dirty if x.strip()]}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=3, help="seeds per task (default 3)")
    ap.add_argument("--tasks", nargs="+", choices=list(TASKS), default=list(TASKS))
    ap.add_argument("--quick", action="store_true", help="tiny sizes, for smoke tests")
    ap.add_argument(
        "--workers",
        type=int,
        default=min(2, os.cpu_count() or 1),
        help="worker processes (one torch thread each)",
    )
    ap.add_argument("--out", type=Path, default=RESULTS, help="output folder")
    ap.add_argument("--quiet", action="store_true", help="no progress lines")
    ap.add_argument(
        "--from-json",
        type=Path,
        default=None,
        metavar="JSON",
        help="re-analyse the runs of an earlier report (no training) and rewrite "
        "the report in --out",
    )
    args = ap.parse_args(argv)
    if args.seeds < 1:
        ap.error("--seeds must be >= 1")
    if args.from_json is not None:
        return report_again(args.from_json, args.out)
    tasks = [TASKS[k] for k in args.tasks]
    if args.quick:
        tasks = [quick_task(t) for t in tasks]
    seeds = list(range(args.seeds))
    cmd = " ".join(
        ["python benchmarks/time_to_accuracy.py", *(sys.argv[1:] if argv is None else argv)]
    )

    def log(msg: str) -> None:
        if not args.quiet:
            print(msg, file=sys.stderr, flush=True)

    load0 = os.getloadavg() if hasattr(os, "getloadavg") else None
    t0 = time.perf_counter()
    rt_jobs, fixed_jobs = build_jobs(tasks, seeds)
    rts, runs = run_pool(
        rt_jobs, lambda res: policy_jobs(tasks, res), fixed_jobs, args.workers, log
    )
    wall = time.perf_counter() - t0
    summary = {
        "command": cmd,
        "quick": args.quick,
        "seeds": seeds,
        "workers": args.workers,
        "wall_s": wall,
        "cpu_seconds_in_runs": sum(r["seconds"] for r in [*rts, *runs]),
        "machine": {
            "cpus": os.cpu_count(),
            "loadavg_start": load0,
            "loadavg_end": os.getloadavg() if hasattr(os, "getloadavg") else None,
        },
        "versions": {
            "cyclr": cyclr.__version__,
            "torch": torch.__version__,
            "python": platform.python_version(),
        },
        "git": provenance(),
        "tasks_config": {t.key: asdict(t) for t in tasks},
        "tasks": {t.key: summarize(t, rts, runs) for t in tasks},
        "runs": [*rts, *runs],
    }
    write(summary, args.out)
    return 0


def dumps(report: dict[str, Any]) -> str:
    """JSON text: indented, but each run and each curve on one line (a smaller file)."""

    def compact(x: Any) -> Any:
        if isinstance(x, dict):
            if "iters" in x and isinstance(x["iters"], list):
                return _Raw(json.dumps(x))
            return {k: compact(v) for k, v in x.items()}
        if isinstance(x, list):
            return [compact(v) for v in x]
        return x

    raws: list[str] = []

    def enc(o: Any) -> str:
        if isinstance(o, _Raw):
            raws.append(o.text)
            return f"@@RAW{len(raws) - 1}@@"
        raise TypeError(type(o).__name__)

    text = json.dumps(compact(report), indent=1, default=enc)
    for i, raw in enumerate(raws):
        text = text.replace(f'"@@RAW{i}@@"', raw, 1)
    return text + "\n"


@dataclass(frozen=True)
class _Raw:
    text: str


def write(summary: dict[str, Any], out: Path) -> None:
    """Write ``time_to_accuracy.{json,md,png}`` to ``out`` and print the tables."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "time_to_accuracy.json").write_text(dumps(summary))
    md = markdown(summary, summary["command"])
    md += (
        f"\nWall time: {summary['wall_s'] / 60:.1f} min with {summary['workers']} worker "
        f"processes on {summary['machine']['cpus']} CPUs.\n"
    )
    (out / "time_to_accuracy.md").write_text(md)
    plot(summary, out / "time_to_accuracy.png")
    print(md)


def report_again(path: Path, out: Path) -> int:
    """Recompute the summary of the runs stored in an earlier JSON report and rewrite it."""
    summary = json.loads(path.read_text())
    tasks = [
        Task(**{k: tuple(x) if isinstance(x, list) else x for k, x in cfg.items()})
        for cfg in summary["tasks_config"].values()
    ]
    runs = summary["runs"]
    rts = [r for r in runs if r["policy"] == "range_test"]
    rest = [r for r in runs if r["policy"] != "range_test"]
    summary["tasks"] = {t.key: summarize(t, rts, rest) for t in tasks}
    write(summary, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
