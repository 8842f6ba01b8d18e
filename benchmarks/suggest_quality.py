"""How good are the suggested bounds? cyclr's auto bounds vs a grid search vs torch-lr-finder.

For each task and seed, at a fixed budget of ``T`` optimizer updates:

- **grid**: fixed LRs on a half-decade grid (1e-4 … 1), and (base, max) pairs for triangular
  and 1cycle (max on the same grid from 1e-3, base = max / 4 or max / 10; the 1cycle starts and
  ends at base); the best seed-mean test accuracy over all of them is the reference;
- **cyclr auto**: ``cyclr.torch.auto_schedule`` (two-stage range test, ``method="auto"``) for
  ``policy="one_cycle"`` and ``policy="triangular"``, then training with the returned scheduler;
- **torch-lr-finder**: its ``range_test`` (100 updates, up to LR 10, from 1e-7) and steepest-
  gradient suggestion, used as a fixed LR and as the ``max_lr`` of PyTorch's 1cycle
  (``cyclr.OneCycle.pytorch``, what ``OneCycleLR(max_lr=suggestion)`` does).

Reported side by side: accuracy, regret against the grid's best (percentage points), compute
(updates, range test included) against the grid's, and the spread of the suggested max_lr
across seeds (max / min). Targets: regret <= 0.5 pp, spread <= 1.3x, compute <= 1/20 of the grid.

    .venv/bin/python benchmarks/suggest_quality.py            # full run, about 10-15 min
    .venv/bin/python benchmarks/suggest_quality.py --quick    # a tiny smoke run

Results go to ``benchmarks/results/suggest_quality.{json,md}``.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import io
import json
import math
import multiprocessing as mp
import os
import platform
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results"
GRID = (1e-4, 3e-4, 1e-3, 3e-3, 0.01, 0.03, 0.1, 0.3, 1.0)
PAIR_MAX_FROM = 1e-3
PAIR_RATIOS = (4.0, 10.0)
TARGET_REGRET_PP = 0.5
TARGET_SPREAD = 1.3
TARGET_COMPUTE = 1 / 20


@dataclass(frozen=True)
class Task:
    name: str
    title: str
    batch_size: int
    optimizer: str  # "sgd" (momentum 0.9) or "adam"
    model: str  # "cnn", "mlp" (MNIST-1D) or "digits_mlp"


TASKS = {
    "mnist1d_cnn_sgd": Task(
        "mnist1d_cnn_sgd", "MNIST-1D CNN, SGD momentum 0.9, batch 100", 100, "sgd", "cnn"
    ),
    "mnist1d_mlp_adam": Task(
        "mnist1d_mlp_adam", "MNIST-1D MLP, Adam, batch 100", 100, "adam", "mlp"
    ),
    "digits_mlp_sgd": Task(
        "digits_mlp_sgd", "sklearn digits MLP, SGD momentum 0.9, batch 32", 32, "sgd", "digits_mlp"
    ),
}


# -- tasks ---------------------------------------------------------------------------------
@functools.lru_cache(maxsize=4)
def _data(task: Task) -> Any:
    import torch

    from cyclr.demo import mnist1d

    if task.model in ("cnn", "mlp"):
        return mnist1d.load()
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    x, y = load_digits(return_X_y=True)
    xa, xb, ya, yb = train_test_split(x / 16.0, y, test_size=450, random_state=0, stratify=y)

    def f(a: Any) -> Any:
        return torch.tensor(a, dtype=torch.float32)

    return mnist1d.Data(f(xa), torch.tensor(ya), f(xb), torch.tensor(yb))


def _model(task: Task, seed: int) -> Any:
    import torch
    from torch import nn

    from cyclr.demo import mnist1d

    if task.model == "cnn":
        return mnist1d.cnn(seed)
    if task.model == "mlp":
        return mnist1d.mlp(seed)
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10)
    )


def _optimizer(task: Task, model: Any, lr: float) -> Any:
    import torch

    if task.optimizer == "adam":
        return torch.optim.Adam(model.parameters(), lr=lr)
    return torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)


def _iters_per_epoch(task: Task) -> int:
    return max(1, len(_data(task).x_train) // task.batch_size)


def _step_size(task: Task, total: int) -> int:
    """The triangular half cycle auto_schedule picks: whole cycles (>= 3) of about 4 epochs."""
    from cyclr.suggest.bounds import MIN_CYCLES, STEP_EPOCHS

    ipe = _iters_per_epoch(task)
    cycles = max(MIN_CYCLES, round(total / (2 * STEP_EPOCHS * ipe)))
    return max(1, total // (2 * cycles))


def _train(
    task: Task,
    seed: int,
    make_schedule: Callable[[Any], Any] | None,
    total: int,
    lr: float,
    momentum: bool,
) -> float:
    """Train a fresh model for ``total`` updates and return its test accuracy."""
    import cyclr
    from cyclr.demo import mnist1d
    from cyclr.torch import CyclicScheduler

    data = _data(task)
    model = _model(task, seed)
    opt = _optimizer(task, model, lr)
    schedule = make_schedule(opt) if make_schedule else cyclr.Constant(lr)
    if not isinstance(schedule, CyclicScheduler):
        schedule = CyclicScheduler(opt, schedule, momentum=True if momentum else None)
    res = mnist1d.train(
        model,
        opt,
        data,
        total,
        scheduler=schedule,
        batch_size=task.batch_size,
        eval_every=total,
        seed=seed,
    )
    return float(res.final_acc)


# -- jobs ----------------------------------------------------------------------------------
def _init_worker(tasks: list[str]) -> None:
    """One thread per worker, and the data generated before any job is timed."""
    import torch

    torch.set_num_threads(1)
    for name in tasks:
        _data(TASKS[name])


def _job(spec: dict[str, Any]) -> dict[str, Any]:
    import torch

    torch.set_num_threads(1)
    task = TASKS[spec["task"]]
    seed, total, kind = spec["seed"], spec["total"], spec["kind"]
    start = time.perf_counter()
    out = dict(spec)
    if kind == "fixed":
        out["acc"] = _train(task, seed, None, total, spec["lr"], momentum=False)
        out["updates"] = total
    elif kind in ("triangular", "one_cycle"):
        import cyclr

        b = cyclr.Bounds(spec["base_lr"], spec["max_lr"], method="grid", reason="grid")
        step = _step_size(task, total)

        def make(_: Any) -> Any:
            if kind == "one_cycle":
                return b.one_cycle(total, div_factor=b.max_lr / b.base_lr)
            return b.triangular(step, _iters_per_epoch(task))

        out["acc"] = _train(task, seed, make, total, spec["max_lr"], momentum=True)
        out["updates"] = total
    elif kind == "auto":
        out.update(_auto(task, seed, total, spec["policy"], spec["rt"]))
    elif kind == "lr_finder":
        out.update(_lr_finder(task, seed, total, spec["rt"]))
    else:  # pragma: no cover
        raise ValueError(kind)
    out["seconds"] = time.perf_counter() - start
    return out


def _auto(task: Task, seed: int, total: int, policy: str, rt: dict[str, Any]) -> dict[str, Any]:
    from torch import nn

    from cyclr.demo import mnist1d
    from cyclr.torch import auto_schedule

    data = _data(task)
    model = _model(task, seed)
    opt = _optimizer(task, model, 0.01)
    loader = mnist1d.loader(data, task.batch_size, seed=seed + 10_000)
    t0 = time.perf_counter()
    sched = auto_schedule(
        model,
        opt,
        nn.functional.cross_entropy,
        loader,
        policy=policy,
        total_steps=total,
        seed=seed,
        progress=False,
        **rt,
    )
    rt_seconds = time.perf_counter() - t0
    rt_updates = sum(len(r) for r in sched.tests)
    res = mnist1d.train(
        model,
        opt,
        data,
        total,
        scheduler=sched,
        batch_size=task.batch_size,
        eval_every=total,
        seed=seed,
    )
    b = sched.bounds
    return {
        "acc": float(res.final_acc),
        "updates": total + rt_updates,
        "rt_updates": rt_updates,
        "rt_seconds": rt_seconds,
        "base_lr": b.base_lr,
        "max_lr": b.max_lr,
        "read_by": None if b.reading is None else b.reading.rule,
        "reason": b.reason,
    }


def _lr_finder(task: Task, seed: int, total: int, rt: dict[str, Any]) -> dict[str, Any]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import torch
    from torch_lr_finder import LRFinder

    import cyclr

    data = _data(task)
    model = _model(task, seed)
    opt = _optimizer(task, model, 1e-7)
    g = torch.Generator().manual_seed(seed + 10_000)
    train_set = torch.utils.data.TensorDataset(data.x_train, data.y_train)
    dl = torch.utils.data.DataLoader(
        train_set, batch_size=task.batch_size, shuffle=True, generator=g
    )
    t0 = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        finder = LRFinder(model, opt, torch.nn.CrossEntropyLoss())
        finder.range_test(dl, end_lr=10, num_iter=rt["num_iter"])
        fig, ax = plt.subplots()
        _, lr = finder.plot(suggest_lr=True, ax=ax)
        plt.close(fig)
        rt_updates = len(finder.history["lr"])
        finder.reset()
    rt_seconds = time.perf_counter() - t0
    lr = float(lr)
    fixed = _train(task, seed, None, total, lr, momentum=False)
    one = _train(task, seed, lambda _: cyclr.OneCycle.pytorch(lr, total), total, lr, momentum=True)
    return {
        "max_lr": lr,
        "acc_fixed": fixed,
        "acc_one_cycle": one,
        "rt_updates": rt_updates,
        "rt_seconds": rt_seconds,
        "updates": total + rt_updates,
    }


def _jobs(
    tasks: list[str],
    seeds: list[int],
    total: int,
    grid: tuple[float, ...],
    rt: dict[str, Any],
    finder_rt: dict[str, Any],
) -> list[dict[str, Any]]:
    jobs: list[dict[str, Any]] = []
    for name in tasks:
        for seed in seeds:
            base = {"task": name, "seed": seed, "total": total}
            jobs.append({**base, "kind": "auto", "policy": "one_cycle", "rt": rt})
            jobs.append({**base, "kind": "auto", "policy": "triangular", "rt": rt})
            jobs.append({**base, "kind": "lr_finder", "rt": finder_rt})
            for lr in grid:
                jobs.append({**base, "kind": "fixed", "lr": lr})
            for peak in grid:
                if peak < PAIR_MAX_FROM:
                    continue
                for ratio in PAIR_RATIOS:
                    for kind in ("triangular", "one_cycle"):
                        jobs.append({**base, "kind": kind, "max_lr": peak, "base_lr": peak / ratio})
    # the slow CNN jobs first, so the pool does not end on one long job
    return sorted(jobs, key=lambda j: (j["task"] != "mnist1d_cnn_sgd", j["kind"] != "auto"))


# -- summary -------------------------------------------------------------------------------
def _mean(xs: list[float]) -> float:
    return float(np.mean(xs)) if xs else math.nan


def _spread(xs: list[float]) -> float:
    return float(max(xs) / min(xs)) if xs and min(xs) > 0 else math.nan


def summarize(runs: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in dict.fromkeys(r["task"] for r in runs):
        rs = [r for r in runs if r["task"] == name]
        seeds = sorted({r["seed"] for r in rs})
        total = rs[0]["total"]
        configs: dict[str, list[float]] = {}
        grid_updates = 0
        grid_seconds = 0.0
        for r in rs:
            if r["kind"] == "fixed":
                key = f"fixed lr={r['lr']:g}"
            elif r["kind"] in ("triangular", "one_cycle"):
                key = f"{r['kind']} {r['base_lr']:.3g}-{r['max_lr']:g}"
            else:
                continue
            configs.setdefault(key, []).append(r["acc"])
            grid_updates += r["updates"]
            grid_seconds += r["seconds"]
        means = {k: _mean(v) for k, v in configs.items()}
        best_key = max(means, key=lambda k: means[k])
        best = means[best_key]
        fixed = {k: m for k, m in means.items() if k.startswith("fixed")}
        best_fixed = max(fixed, key=lambda k: fixed[k])
        policy_best = {
            p: max(m for k, m in means.items() if k.startswith(p))
            for p in ("fixed", "triangular", "one_cycle")
        }
        grid_updates //= len(seeds)
        grid_seconds /= len(seeds)

        rows = []
        for policy in ("one_cycle", "triangular"):
            a = sorted(
                (r for r in rs if r["kind"] == "auto" and r["policy"] == policy),
                key=lambda r: r["seed"],
            )
            accs = [r["acc"] for r in a]
            upd = _mean([r["updates"] for r in a])
            rows.append(
                {
                    "method": "cyclr auto",
                    "use": "1cycle" if policy == "one_cycle" else "triangular",
                    "max_lr": [r["max_lr"] for r in a],
                    "base_lr": [r["base_lr"] for r in a],
                    "acc": accs,
                    "acc_mean": _mean(accs),
                    "regret_pp": 100 * (best - _mean(accs)),
                    "regret_policy_pp": 100 * (policy_best[policy] - _mean(accs)),
                    "spread": _spread([r["max_lr"] for r in a]),
                    "updates": upd,
                    "compute_vs_grid": upd / grid_updates,
                    "seconds": _mean([r["seconds"] for r in a]),
                    "seconds_vs_grid": _mean([r["seconds"] for r in a]) / grid_seconds,
                    "read_by": [r["read_by"] for r in a],
                }
            )
        f = sorted((r for r in rs if r["kind"] == "lr_finder"), key=lambda r: r["seed"])
        for key, use, policy in (
            ("acc_fixed", "fixed LR", "fixed"),
            ("acc_one_cycle", "1cycle (OneCycleLR)", "one_cycle"),
        ):
            accs = [r[key] for r in f]
            upd = _mean([r["rt_updates"] + total for r in f])
            rows.append(
                {
                    "method": "torch-lr-finder",
                    "use": use,
                    "max_lr": [r["max_lr"] for r in f],
                    "base_lr": None,
                    "acc": accs,
                    "acc_mean": _mean(accs),
                    "regret_pp": 100 * (best - _mean(accs)),
                    "regret_policy_pp": 100 * (policy_best[policy] - _mean(accs)),
                    "spread": _spread([r["max_lr"] for r in f]),
                    "updates": upd,
                    "compute_vs_grid": upd / grid_updates,
                    "seconds": _mean([r["seconds"] for r in f]) / 2,
                    "seconds_vs_grid": _mean([r["seconds"] for r in f]) / 2 / grid_seconds,
                }
            )
        out[name] = {
            "title": TASKS[name].title,
            "seeds": seeds,
            "total_updates": total,
            "grid_best": best_key,
            "grid_best_acc": best,
            "grid_best_fixed": best_fixed,
            "grid_best_fixed_acc": fixed[best_fixed],
            "grid_configs": len(configs),
            "grid_best_by_policy": policy_best,
            "grid_updates": grid_updates,
            "grid_seconds": grid_seconds,
            "grid": means,
            "rows": rows,
        }
    return out


def _frac(x: float) -> str:
    return f"1/{1 / x:.0f}" if 0 < x < 1 else f"{x:.2g}x"


def _ok(value: float, target: float) -> str:
    return "yes" if value <= target + 1e-12 else "**no**"


def markdown(summary: dict[str, Any], config: dict[str, Any]) -> str:
    lines = [
        "| task | method | used as | suggested max_lr per seed | spread | test acc (mean) "
        "| regret vs grid best | vs grid best of that schedule | compute vs grid |",
        "|---|---|---|---|---:|---:|---:|---:|---:|",
    ]
    checks = []
    for s in summary.values():
        pb = s["grid_best_by_policy"]
        lines.append(
            f"| {s['title']} | grid best | {s['grid_best']} | | | "
            f"{100 * s['grid_best_acc']:.2f}% | 0 | | 1 ({s['grid_configs']} runs) |"
        )
        lines.append(
            f"| | grid best per schedule | fixed / triangular / 1cycle | | | "
            f"{100 * pb['fixed']:.2f}% / {100 * pb['triangular']:.2f}% / "
            f"{100 * pb['one_cycle']:.2f}% | | | |"
        )
        for r in s["rows"]:
            lrs = ", ".join(f"{x:.3g}" for x in r["max_lr"])
            lines.append(
                f"| | {r['method']} | {r['use']} | {lrs} | {r['spread']:.2f}x | "
                f"{100 * r['acc_mean']:.2f}% | {r['regret_pp']:.2f} pp | "
                f"{r['regret_policy_pp']:.2f} pp | {_frac(r['compute_vs_grid'])} |"
            )
            if r["method"] == "cyclr auto":
                checks.append(
                    f"| {s['title']} | {r['use']} | {r['regret_pp']:.2f} pp: "
                    f"{_ok(r['regret_pp'], TARGET_REGRET_PP)} | {r['spread']:.2f}x: "
                    f"{_ok(r['spread'], TARGET_SPREAD)} | {_frac(r['compute_vs_grid'])} "
                    f"(wall {_frac(r['seconds_vs_grid'])}): "
                    f"{_ok(r['compute_vs_grid'], TARGET_COMPUTE)} |"
                )
    head = [
        f"{len(next(iter(summary.values()))['seeds'])} seeds, {config['total']} updates per "
        f"training run; grid: fixed LR in {list(config['grid'])}, and (max_lr / r, max_lr) for "
        f"triangular and 1cycle with max_lr >= {PAIR_MAX_FROM:g}, r in {list(PAIR_RATIOS)}. "
        "Accuracy is the seed mean on the held-out test set; regret is the grid's best seed "
        "mean minus the method's; compute counts optimizer updates, range tests included.",
        "",
    ]
    target = [
        "",
        f"Targets for cyclr auto: regret <= {TARGET_REGRET_PP} pp, spread <= {TARGET_SPREAD}x, "
        f"compute <= 1/{round(1 / TARGET_COMPUTE)} of the grid.",
        "",
        "| task | cyclr auto as | regret | spread | compute |",
        "|---|---|---|---|---|",
        *checks,
    ]
    return "\n".join(head + lines + target) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="a tiny smoke run (seconds)")
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--total", type=int, default=1000, help="updates per training run")
    p.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1))
    p.add_argument("--tasks", default=",".join(TASKS))
    p.add_argument("--out", type=Path, default=RESULTS)
    args = p.parse_args(argv)
    tasks = args.tasks.split(",")
    for t in tasks:
        if t not in TASKS:
            p.error(f"unknown task {t!r}; known: {', '.join(TASKS)}")
    if args.quick:
        seeds, total, grid = [0], 60, (0.01, 0.1)
        rt = {"linear_iter": 100, "coarse_iter": 80}
        finder_rt = {"num_iter": 30}
    else:
        seeds, total, grid = list(range(args.seeds)), args.total, GRID
        rt, finder_rt = {}, {"num_iter": 100}
    jobs = _jobs(tasks, seeds, total, grid, rt, finder_rt)
    start = time.perf_counter()
    runs: list[dict[str, Any]] = []
    ctx = mp.get_context("fork" if sys.platform != "win32" else "spawn")
    with ctx.Pool(args.workers, initializer=_init_worker, initargs=(tasks,)) as pool:
        for i, r in enumerate(pool.imap_unordered(_job, jobs), 1):
            runs.append(r)
            if i % 20 == 0 or i == len(jobs):
                print(f"{i}/{len(jobs)} runs, {time.perf_counter() - start:.0f} s", flush=True)
    summary = summarize(runs)
    config = {
        "quick": args.quick,
        "seeds": seeds,
        "total": total,
        "grid": grid,
        "pair_ratios": PAIR_RATIOS,
        "range_test": rt or "auto_schedule defaults",
        "lr_finder_range_test": finder_rt,
        "workers": args.workers,
        "wall_seconds": time.perf_counter() - start,
        "python": platform.python_version(),
    }
    import torch

    import cyclr

    config["versions"] = {"cyclr": cyclr.__version__, "torch": torch.__version__}
    args.out.mkdir(parents=True, exist_ok=True)
    name = "suggest_quality" + ("_quick" if args.quick else "")
    (args.out / f"{name}.json").write_text(
        json.dumps({"config": config, "summary": summary, "runs": runs}, indent=1, default=str)
    )
    md = markdown(summary, config)
    (args.out / f"{name}.md").write_text(md)
    print(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
