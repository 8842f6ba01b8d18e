"""The zoo's command line: run the tasks (or re-render a stored run) and write the report.

    python benchmarks/zoo                      # the full run: every task, 3 seeds, 2 workers
    python benchmarks/zoo --estimate           # time each task, print the full run's time, exit
    python benchmarks/zoo --quick              # a smoke run: 2 tasks, 1 seed, tiny budgets
    python benchmarks/zoo --tasks mnist1d_cnn_sgd,friedman_mlp_sgd --seeds 2
    python benchmarks/zoo --from-json benchmarks/results/zoo.json   # re-render, no training

Writes ``zoo.{json,md,png}`` (``zoo_quick.*`` with ``--quick``) to ``benchmarks/results/``
(``--out`` to change).
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from zoo import report as rep
from zoo.methods import PEER_PACKAGES, train
from zoo.plan import GridSpec, Planner, run_pool
from zoo.tasks import TASKS, Task, evaluate, load, make_model, make_optimizer

__all__ = ["main"]

RESULTS = Path(__file__).resolve().parents[1] / "results"
#: The tasks of ``--quick`` unless ``--tasks`` says otherwise (one classifier, one regression).
QUICK_TASKS = ("mnist1d_mlp_adam", "friedman_mlp_sgd")
#: A range-test update costs about this much more than a training update (recording).
RT_OVERHEAD = 1.2
#: Updates of the short training run timed per task for the estimate.
TIMED_UPDATES = 40
#: Per job: starting it, building the model, and the evaluations of a range test.
JOB_OVERHEAD_S = 0.3

NOTES = [
    "fastai was not run: its `lr_find` needs fastai, and fastai needs torchvision, which does "
    "not work beside this torch (2.13.0, CPU), so neither is installed. The row *fastai valley "
    "rule (cyclr stand-in)* reproduces it: cyclr's `range_test` with fastai's `lr_find` ramp "
    "(`mode='exp'`, 1e-7 → 10 over 100 updates, smoothing 0.98, stop at 4× the minimum), "
    "`result.suggest('valley')` (fastai's valley rule), then fastai's `fit_one_cycle` schedule "
    "(`cyclr.OneCycle.fastai`, moms 0.95/0.85/0.95).",
    "The *cyclr range_test → suggest() → 1cycle* row is the README's first example: "
    "`range_test` with its defaults, which run the two-stage recipe (the test `auto_schedule` "
    "runs), then `result.suggest()` and `bounds.one_cycle(budget)`.",
    "torch-lr-finder: `LRFinder.range_test(end_lr=10, num_iter=100)` from LR 1e-7, the "
    "steepest-gradient suggestion of `plot(suggest_lr=True)`, then torch's "
    "`OneCycleLR(max_lr=suggestion, total_steps=budget)` at its defaults (cos, pct_start 0.3, "
    "div 25, momentum cycling 0.85–0.95).",
    "Schedule-Free at the package's defaults: `SGDScheduleFree` (lr 1.0, momentum 0.9) on the "
    "SGD tasks, `AdamWScheduleFree` (lr 0.0025) on the Adam/AdamW tasks, the task's weight "
    "decay, a warm-up of 5% of the budget, `optimizer.train()` / `.eval()` around training; on "
    "models with BatchNorm the statistics are recomputed over 50 training batches before "
    "evaluating (the package's recipe).",
    "Prodigy: `Prodigy(lr=1)` (defaults otherwise; decoupled weight decay of the task on the "
    "AdamW tasks) with `CosineAnnealingLR` over the budget; its max_lr column is the peak "
    "effective step size d·lr.",
    "cyclr's and the grid's 1cycle and triangular runs cycle momentum inversely to the LR "
    "(0.95 → 0.85 → 0.95: SGD's momentum or Adam's beta1). Triangular runs take their step "
    "size from `Bounds.schedule('triangular', total_steps=budget, iters_per_epoch=...)`: whole "
    "cycles (at least 3), half cycle nearest to 4 epochs; the grid's pairs are "
    "(max_lr / r, max_lr), r in (4, 10), max_lr at the best 1cycle point and half a decade "
    "below (grown past a best end).",
    "Range tests (cyclr's and torch-lr-finder's) draw batches from a loader of their own "
    "(seed + 10000); cyclr restores the model, optimizer, RNGs and loader after each test.",
    "A run whose loss turns non-finite stops there. For losses, a final value that is not "
    "finite or worse than the untrained model's counts as the untrained model's; such seeds "
    "are counted as diverged.",
    "Goals for the autoencoder's validation MSE: 5% (as regression); for the language model's "
    "validation loss (cross-entropy per character): 1%. Accuracy: 0.3 pp, or one standard "
    "error of the oracle's seed mean when larger. The triangular goal is 0.5 pp of accuracy, "
    "or the task's regret goal for losses.",
]


# -- the estimate ---------------------------------------------------------------------------
def time_task(task: Task, updates: int = TIMED_UPDATES) -> dict[str, float]:
    """One short training run of ``task`` in this process (one torch thread), through the
    zoo's own loop with a 1cycle schedule: milliseconds per update, and per evaluation."""
    import torch

    import cyclr
    from cyclr.torch import CyclicScheduler

    torch.set_num_threads(1)
    data = load(task.data)
    model = make_model(task, 0)
    opt = make_optimizer(task, model.parameters(), task.lr_center)
    sched = CyclicScheduler(opt, cyclr.OneCycle(task.lr_center, updates), momentum=True)
    res = train(task, 0, model, opt, updates, sched)
    t0 = time.perf_counter()
    evaluate(task, model, data)
    return {
        "ms_per_update": 1000 * res["train_seconds"] / max(1, res["steps"]),
        "ms_per_eval": 1000 * (time.perf_counter() - t0),
    }


def updates_per_seed(task: Task, spec: GridSpec) -> dict[str, float]:
    """Training and range-test updates of one seed of ``task`` (grids without growth)."""
    from cyclr.range_test.recipe import COARSE_ITER, LINEAR_ITER

    budget = spec.budget(task)
    n_grid = (
        len(spec.one_cycle)
        + (2 if spec.refine else 0)
        + len(spec.fixed)
        + len(spec.tri_max) * len(spec.tri_ratios)
    )
    trainings = {"cyclr_auto": 2, "cyclr_readme": 2}
    n_methods = sum(trainings.get(m, 1) for m in spec.methods)
    rt = spec.rt
    rt_updates = 0
    if "cyclr_auto" in spec.methods:
        a = rt.get("cyclr_auto", {})
        rt_updates += a.get("coarse_iter", COARSE_ITER) + a.get("linear_iter", LINEAR_ITER)
    if "cyclr_readme" in spec.methods:
        # the README's range test (the recipe), and the valley stand-in's own test
        rt_updates += (
            COARSE_ITER + LINEAR_ITER + rt.get("cyclr_readme", {}).get("valley_num_iter", 100)
        )
    if "lr_finder" in spec.methods:
        rt_updates += rt.get("lr_finder", {}).get("num_iter", 100)
    return {
        "training_runs": n_grid + n_methods,
        "train_updates": (n_grid + n_methods) * budget,
        "rt_updates": rt_updates,
    }


def estimate(
    tasks: list[Task], seeds: int, spec: GridSpec, workers: int, timing: dict[str, dict[str, float]]
) -> dict[str, Any]:
    """The run's wall time from the per-task timings (``time_task``)."""
    per_task = {}
    total = 0.0
    for t in tasks:
        u = updates_per_seed(t, spec)
        ms, ev = timing[t.key]["ms_per_update"], timing[t.key]["ms_per_eval"]
        sec = seeds * (
            (u["train_updates"] + RT_OVERHEAD * u["rt_updates"]) * ms / 1000
            + u["training_runs"] * (ev / 1000 + JOB_OVERHEAD_S)
        )
        per_task[t.key] = {**u, "ms_per_update": ms, "ms_per_eval": ev, "seconds": sec}
        total += sec
    wall = total / max(1, workers)
    return {
        "per_task": per_task,
        "cpu_seconds": total,
        "workers": workers,
        "seeds": seeds,
        "minutes": wall / 60,
        "note": "without grid growth: each extra grid point adds seeds x budget updates",
    }


def estimate_table(est: dict[str, Any], title: str) -> str:
    """The estimate as a small text table."""
    lines = [
        title,
        f"{'task':24s} {'ms/update':>9s} {'runs/seed':>9s} {'updates/seed':>12s} "
        f"{'range test':>10s} {'minutes':>8s}",
    ]
    for k, e in est["per_task"].items():
        lines.append(
            f"{k:24s} {e['ms_per_update']:9.2f} {e['training_runs']:9d} "
            f"{e['train_updates']:12,d} {e['rt_updates']:10,d} {e['seconds'] / 60:8.1f}"
        )
    lines.append(
        f"total: {est['cpu_seconds'] / 60:.1f} CPU-minutes; with {est['workers']} workers about "
        f"{est['minutes']:.0f} min ({est['seeds']} seeds; {est['note']}; timed on this machine "
        "under its current load)"
    )
    return "\n".join(lines)


# -- the report -----------------------------------------------------------------------------
def versions() -> dict[str, str]:
    """cyclr, torch, Python and the peers' versions."""
    import torch

    import cyclr

    out = {"cyclr": cyclr.__version__, "torch": torch.__version__}
    for dist in PEER_PACKAGES.values():
        try:
            out[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            out[dist] = "not installed"
    out["python"] = platform.python_version()
    return out


def provenance() -> dict[str, Any]:
    """The git commit, and the library files that differed from it."""
    root = Path(__file__).resolve().parents[2]
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


def write(report: dict[str, Any], out: Path) -> str:
    """Write ``zoo[_quick].{json,md,png}`` to ``out``; returns the Markdown."""
    out.mkdir(parents=True, exist_ok=True)
    name = "zoo_quick" if report["quick"] else "zoo"
    text = json.dumps(report, indent=1, default=_json_default, allow_nan=False)
    (out / f"{name}.json").write_text(text + "\n")
    md = rep.markdown(report)
    (out / f"{name}.md").write_text(md)
    rep.plot(report, out / f"{name}.png")
    return md


def _json_default(o: Any) -> Any:
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def _clean(x: Any) -> Any:
    """NaN and infinities as ``None``; tuples as lists; keys as strings."""
    if isinstance(x, dict):
        return {str(k): _clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_clean(v) for v in x]
    if isinstance(x, float) and (x != x or x in (float("inf"), float("-inf"))):
        return None
    return x


def _summarize(report: dict[str, Any]) -> None:
    tasks = [Task.from_dict(d) for d in report["tasks_config"].values()]
    summary = rep.summarize(tasks, report["records"], report["config"]["seeds"])
    report["summary"] = _clean(summary)


def from_json(path: Path, out: Path) -> int:
    """Re-analyse the records of a stored run and rewrite its report (no training)."""
    report = json.loads(path.read_text())
    _summarize(report)
    print(write(report, out))
    return 0


# -- main -----------------------------------------------------------------------------------
def _parse(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        prog="python benchmarks/zoo",
        description="The task zoo: cyclr's automatic bounds against a grid search and the peers.",
    )
    ap.add_argument("--quick", action="store_true", help="smoke run: 2 tasks, 1 seed, tiny budgets")
    ap.add_argument("--tasks", default=None, help=f"comma-separated; known: {', '.join(TASKS)}")
    ap.add_argument(
        "--seeds", type=int, default=None, help="seeds per task (default: the tasks' 3; quick 1)"
    )
    ap.add_argument(
        "--workers",
        type=int,
        default=2,
        help="worker processes, one torch thread each (default 2; 1 runs in this process)",
    )
    ap.add_argument("--out", type=Path, default=RESULTS, help="output folder")
    ap.add_argument("--quiet", action="store_true", help="no progress lines")
    ap.add_argument("--estimate", action="store_true", help="print the run's estimate and exit")
    ap.add_argument(
        "--from-json",
        type=Path,
        default=None,
        metavar="JSON",
        help="re-analyse a stored run's records and rewrite its report in --out (no training)",
    )
    args = ap.parse_args(argv)
    if args.seeds is not None and args.seeds < 1:
        ap.error("--seeds must be >= 1")
    if args.workers < 1:
        ap.error("--workers must be >= 1")
    if args.tasks is not None:
        keys = [k.strip() for k in args.tasks.split(",") if k.strip()]
        unknown = [k for k in keys if k not in TASKS]
        if unknown or not keys:
            ap.error(f"unknown task(s) {unknown}; known: {', '.join(TASKS)}")
        args.tasks = keys
    return args


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    if args.from_json is not None:
        return from_json(args.from_json, args.out)
    keys = args.tasks or (list(QUICK_TASKS) if args.quick else list(TASKS))
    tasks = [TASKS[k] for k in keys]
    declared = sorted({s for t in tasks for s in t.seeds})  # every task declares (0, 1, 2)
    n_seeds = args.seeds or (1 if args.quick else len(declared))
    seeds = declared[:n_seeds] if n_seeds <= len(declared) else list(range(n_seeds))
    full = GridSpec()
    spec = GridSpec.quick() if args.quick else full
    missing = [d for m, d in PEER_PACKAGES.items() if _missing(m)]
    if missing:
        dropped = {"torch-lr-finder": "lr_finder", "schedulefree": "schedulefree"}
        dropped["prodigyopt"] = "prodigy"
        keep = tuple(m for m in spec.methods if m not in {dropped[d] for d in missing})
        spec = GridSpec(**{**spec.__dict__, "methods": keep})
    cmd = " ".join(["python benchmarks/zoo", *(sys.argv[1:] if argv is None else argv)])

    # The estimate: the full run of these tasks (with --quick: of the whole zoo).
    est_tasks = list(TASKS.values()) if args.quick else tasks
    timing = {t.key: time_task(t) for t in est_tasks}
    est_full = estimate(est_tasks, 3 if args.quick else n_seeds, full, args.workers, timing)
    title = (
        "Estimated full run (all tasks, 3 seeds)"
        if args.quick
        else f"Estimated run ({len(tasks)} tasks, {n_seeds} seeds)"
    )
    print(estimate_table(est_full, title + ":"), flush=True)
    if args.estimate:
        return 0
    est_run = estimate(tasks, n_seeds, spec, args.workers, timing)
    ms = {k: v["ms_per_update"] for k, v in timing.items()}

    def log(msg: str) -> None:
        if not args.quiet:
            print(msg, file=sys.stderr, flush=True)

    t0 = time.perf_counter()
    load0 = os.getloadavg() if hasattr(os, "getloadavg") else None
    planner = Planner(tasks, seeds, spec, ms)
    records = run_pool(planner, args.workers, log)
    wall = time.perf_counter() - t0
    notes = list(NOTES)
    if missing:
        notes.append(f"Peer packages not installed, their rows skipped: {', '.join(missing)}.")
    report: dict[str, Any] = {
        "format": "cyclr.zoo/1",
        "command": cmd,
        "quick": args.quick,
        "config": {"tasks": keys, "seeds": seeds, "workers": args.workers, "grid": spec.to_dict()},
        "tasks_config": {t.key: t.to_dict() for t in tasks},
        "estimate": est_run,
        "estimate_full_zoo": est_full if args.quick else None,
        "wall_s": wall,
        "cpu_s_in_jobs": sum(r.get("seconds", 0.0) for r in records),
        "machine": {
            "cpus": os.cpu_count(),
            "loadavg_start": load0,
            "loadavg_end": os.getloadavg() if hasattr(os, "getloadavg") else None,
        },
        "versions": versions(),
        "git": provenance(),
        "notes": notes,
        "records": _clean(sorted(records, key=_record_order)),
    }
    _summarize(report)
    report = _clean(report)
    md = write(report, args.out)
    print(md)
    name = "zoo_quick" if args.quick else "zoo"
    print(f"Wrote {args.out / name}.{{json,md,png}} in {wall / 60:.1f} min.")
    return 0


def _missing(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is None


def _record_order(r: dict[str, Any]) -> tuple[Any, ...]:
    return (r["task"], r["method"], r.get("max_lr") or 0.0, r.get("base_lr") or 0.0, r["seed"])
