"""Online bounds against the two-stage range test: time to accuracy, and the task zoo.

``online_schedule`` reads the 1cycle's bounds from the run's own warm-up (:mod:`cyclr.online`);
``auto_schedule`` runs a two-stage range test first and charges its ~600 updates to the run.
Both are measured side by side in one run:

1. **MNIST-1D CNN** (the demo's task: SGD momentum 0.9, batch 100). The target is the mean final
   test accuracy of the best fixed LR (0.05, the demo's grid) after 3,000 updates. For each
   method the mean-over-seeds accuracy curve (evaluated every 50 updates) gives the updates to
   reach it, range test included; the speed-up is ``3000 / that``. Online 1cycle runs at
   several budgets; two-stage 1cycle at 1,000 updates.
2. **The task zoo** (``benchmarks/zoo``): on every task and seed, two-stage ``auto_schedule``
   and ``online_schedule`` train a 1cycle for the task's budget from the same initial
   weights and batches. Reported: the metric of each (mean ± SE), the paired difference and its
   worst seed, and whether online is within the noise of two-stage: the mean difference no worse
   than the zoo's regret goal (0.3 pp, 5% MSE, 1% LM loss) or one standard error of the
   two-stage seed mean, if larger.

    python benchmarks/online.py            # 3 seeds, ~5 min on 2 cores
    python benchmarks/online.py --quick    # smoke run (1 seed, tiny budgets)

Writes ``online.{json,md,png}`` to ``benchmarks/results/`` (``--out`` to change).
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing as mp
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

RESULTS = Path(__file__).resolve().parent / "results"
FIXED_LR = 0.05
FIXED_ITERS = 3000
ONLINE_BUDGETS = (600, 800, 1000, 1200)
TWO_STAGE_BUDGET = 1000
EVAL_EVERY = 50


# -- jobs (run in worker processes, one torch thread each) -------------------------------------
def _mnist1d_job(job: dict[str, Any]) -> dict[str, Any]:
    import torch

    from cyclr.demo import mnist1d
    from cyclr.torch import auto_schedule, online_schedule

    torch.set_num_threads(1)
    warnings.simplefilter("ignore")
    kind, budget, seed = job["kind"], job["budget"], job["seed"]
    data = mnist1d.load(n_train=job.get("n_train"))
    model = mnist1d.cnn(seed)
    opt = torch.optim.SGD(model.parameters(), lr=FIXED_LR, momentum=0.9)
    sched: Any = None
    rt, info = 0, {}
    t0 = time.perf_counter()
    if kind == "online":
        sched = online_schedule(model, opt, total_steps=budget)
    elif kind == "two_stage":
        loader = mnist1d.loader(data, 100, seed)
        sched = auto_schedule(
            model,
            opt,
            torch.nn.CrossEntropyLoss(),
            loader,
            total_steps=budget,
            seed=seed,
            progress=False,
        )
        rt = sum(len(r) for r in sched.tests)
    tr = mnist1d.train(
        model, opt, data, budget, scheduler=sched, batch_size=100, eval_every=EVAL_EVERY, seed=seed
    )
    if sched is not None and sched.bounds is not None:
        info = {"max_lr": sched.bounds.max_lr, "base_lr": sched.bounds.base_lr}
        if kind == "online":
            info["decided_at"] = sched.decided_at
            info["log"] = sched.log
    return {
        **job,
        **info,
        "rt_updates": rt,
        "iters": tr.iters,
        "acc": tr.test_acc,
        "final": tr.final_acc,
        "seconds": time.perf_counter() - t0,
    }


def _zoo_job(job: dict[str, Any]) -> dict[str, Any]:
    import torch
    from zoo import methods
    from zoo.tasks import TASKS, loss_fn, make_model, make_optimizer

    from cyclr.torch import auto_schedule, online_schedule

    torch.set_num_threads(1)
    warnings.simplefilter("ignore")
    task, seed, kind = TASKS[job["task"]], job["seed"], job["kind"]
    budget = job.get("budget") or task.budget
    model = make_model(task, seed)
    opt = make_optimizer(task, model.parameters(), 1e-3)
    sched: Any
    t0 = time.perf_counter()
    try:
        if kind in ("online", "online_keep"):  # online_keep: rollback=False
            sched = online_schedule(model, opt, total_steps=budget, rollback=kind == "online")
            rt = 0
        else:
            sched = auto_schedule(
                model,
                opt,
                loss_fn(task),
                methods._rt_loader(task, seed),
                total_steps=budget,
                seed=seed,
                progress=False,
                **job.get("rt", {}),
            )
            rt = sum(len(r) for r in sched.tests)
        run = methods.train(task, seed, model, opt, budget, sched)
    except Exception as exc:  # recorded, not raised: one failure must not stop the run
        return {**job, "error": f"{type(exc).__name__}: {exc}"}
    out = {**job, **run, "rt_updates": rt, "seconds": time.perf_counter() - t0}
    if sched.bounds is not None:
        out.update(max_lr=sched.bounds.max_lr, base_lr=sched.bounds.base_lr)
    if kind in ("online", "online_keep"):
        out.update(decided_at=sched.decided_at, log=sched.log)
    return out


def _run(job: dict[str, Any]) -> dict[str, Any]:
    return _mnist1d_job(job) if job["part"] == "mnist1d" else _zoo_job(job)


# -- analysis -------------------------------------------------------------------------------
def _mean_curve(runs: list[dict[str, Any]]) -> tuple[list[int], list[float]]:
    n = min(len(r["iters"]) for r in runs)
    iters = runs[0]["iters"][:n]
    return iters, [float(np.mean([r["acc"][i] for r in runs])) for i in range(n)]


def _first_reach(iters: list[int], acc: list[float], target: float) -> int | None:
    return next((it for it, a in zip(iters, acc) if a >= target - 1e-12), None)


def _se(x: list[float]) -> float:
    return float(np.std(x, ddof=1) / math.sqrt(len(x))) if len(x) > 1 else float("nan")


def summarize_mnist1d(records: list[dict[str, Any]]) -> dict[str, Any]:
    fixed = [r for r in records if r["kind"] == "fixed"]
    target = float(np.mean([r["final"] for r in fixed]))
    fixed_iters = fixed[0]["budget"]
    rows = []
    groups: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for r in records:
        groups.setdefault((r["kind"], r["budget"]), []).append(r)
    for (kind, budget), runs in sorted(groups.items()):
        iters, acc = _mean_curve(runs)
        reach = _first_reach(iters, acc, target)
        rt = float(np.mean([r["rt_updates"] for r in runs]))
        total = None if reach is None else reach + rt
        finals = [r["final"] for r in runs]
        rows.append(
            {
                "kind": kind,
                "budget": budget,
                "final_mean": float(np.mean(finals)),
                "final_se": _se(finals),
                "seeds_reaching": sum(f >= target for f in finals),
                "seeds": len(runs),
                "reach": reach,
                "rt_updates": rt,
                "total_to_target": total,
                "speedup": None if total is None else fixed_iters / total,
                "max_lr": [r.get("max_lr") for r in runs],
                "decided_at": [r.get("decided_at") for r in runs],
                "curve": [iters, acc],
            }
        )
    return {"target": target, "fixed_iters": fixed_iters, "rows": rows}


def summarize_zoo(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    from zoo.tasks import TASKS

    out = []
    for key in dict.fromkeys(r["task"] for r in records):
        task = TASKS[key]
        by = {
            k: {r["seed"]: r for r in records if r["task"] == key and r["kind"] == k}
            for k in ("two_stage", "online", "online_keep")
        }
        seeds = sorted(set(by["two_stage"]) & set(by["online"]))
        ok = [s for s in seeds if "metric" in by["two_stage"][s] and "metric" in by["online"][s]]
        row: dict[str, Any] = {
            "task": key,
            "title": task.title,
            "holdout": task.holdout,
            "metric": task.metric,
            "higher_is_better": task.higher_is_better,
            "budget": next(
                (r["budget"] for r in records if r["task"] == key and r.get("budget")), task.budget
            ),
            "seeds": len(seeds),
        }
        row["errors"] = {
            k: {s: by[k][s]["error"] for s in seeds if "error" in by[k][s]} for k in by
        }
        keep = [r["metric"] for r in by["online_keep"].values() if "metric" in r]
        if keep:
            row["online_keep"] = [float(np.mean(keep)), _se(keep)]
        alone = [by["online"][s] for s in seeds if "metric" in by["online"][s]]
        if alone and not ok:  # online trained where two-stage could not read its test
            on = [r["metric"] for r in alone]
            row.update(
                online=[float(np.mean(on)), _se(on)],
                max_lr={"online": [r.get("max_lr") for r in alone]},
                decided_at=[r.get("decided_at") for r in alone],
            )
        if ok:
            two = [by["two_stage"][s]["metric"] for s in ok]
            on = [by["online"][s]["metric"] for s in ok]
            sign = 1.0 if task.higher_is_better else -1.0
            scale = 100.0 if task.higher_is_better else 100.0 / abs(float(np.mean(two)))
            gain = [sign * (b - a) * scale for a, b in zip(two, on)]  # > 0: online better
            every = [r["metric"] for r in alone]  # online on every seed it trained
            row.update(
                two_stage=[float(np.mean(two)), _se(two)],
                online=[float(np.mean(every)), _se(every)],
                paired=len(ok),
                gain=[float(np.mean(gain)), _se(gain)],
                gain_unit="pp" if task.higher_is_better else "%",
                max_lr={k: [by[k][s].get("max_lr") for s in ok] for k in ("two_stage", "online")},
                rt_updates=float(np.mean([by["two_stage"][s]["rt_updates"] for s in ok])),
                decided_at=[by["online"][s].get("decided_at") for s in ok],
            )
            # The noise is the two-stage reference's: the zoo's regret goal for the metric, or
            # one standard error of the two-stage seed mean if larger (online's own spread
            # must not widen it).
            ref_se = _se(two) * scale
            tol = max(task.regret_goal, ref_se if math.isfinite(ref_se) else 0.0)
            row.update(tolerance=tol, worst_gain=float(min(gain)))
            row["within_noise"] = bool(row["gain"][0] >= -tol)
        out.append(row)
    return out


def add_oracle(zoo: list[dict[str, Any]], path: Path) -> None:
    """Regret of both methods against the zoo's oracle (``benchmarks/zoo``'s saved run: the
    best 1cycle grid point at the same budget, from the same initial weights and batches), and
    the zoo's regret goal for auto 1cycle. Left out when that run is not there."""
    if not path.exists():
        return
    summary = json.loads(path.read_text()).get("summary", {})
    for row in zoo:
        s = summary.get(row["task"])
        if s is None or "online" not in row:
            continue
        oracle = s["rows"]["oracle_one_cycle"]["mean"]
        higher = row["higher_is_better"]
        goals = s.get("goals", {})
        row["oracle"] = {
            "mean": oracle,
            "max_lr": s["rows"]["oracle_one_cycle"]["max_lr"][0],
            "regret_two_stage": (
                _regret(oracle, row["two_stage"][0], higher) if "two_stage" in row else None
            ),
            "regret_online": _regret(oracle, row["online"][0], higher),
            "tolerance": goals.get("regret_tolerance"),
        }


def _plural_seeds(n: int) -> str:
    return f"{n} seed" + ("" if n == 1 else "s")


def _keep(r: dict[str, Any]) -> str:
    return _metric(r["metric"], *r["online_keep"]) if "online_keep" in r else "—"


def _signed(x: float | None, unit: str) -> str:
    return "—" if x is None else f"{x:+.2f} {unit}"


def _regret(oracle: float, m: float, higher: bool) -> float:
    """Percentage points of accuracy below the oracle, or percent of loss above it."""
    return 100 * (oracle - m) if higher else 100 * (m / oracle - 1)


# -- report ------------------------------------------------------------------------------------
def _pct(x: float) -> str:
    return f"{100 * x:.2f}%"


def _metric(task_metric: str, m: float, se: float) -> str:
    if task_metric == "accuracy":
        return f"{100 * m:.2f}% ± {100 * se:.2f}" if math.isfinite(se) else f"{100 * m:.2f}%"
    return f"{m:.4g} ± {se:.2g}" if math.isfinite(se) else f"{m:.4g}"


def _lrs(xs: list[Any]) -> str:
    return ", ".join("—" if x is None else f"{x:.3g}" for x in xs)


def markdown(report: dict[str, Any]) -> str:
    m, zoo = report["mnist1d"], report["zoo"]
    lines = [
        "# Online bounds: the warm-up read as a range test, against the two-stage test",
        "",
        f"Command: `{report['command']}`",
        "",
        f"Seeds {report['seeds']}, {report['workers']} worker processes with one torch thread "
        f"each; wall time {report['wall_s'] / 60:.1f} min. Versions: {report['versions']}.",
        "",
        "## MNIST-1D CNN: updates to the best fixed LR's 3,000-update accuracy",
        "",
        f"Target: {_pct(m['target'])}, the mean final test accuracy of SGD at the fixed LR "
        f"{FIXED_LR} after {m['fixed_iters']:,} updates. Updates to the target are read off the "
        f"mean-over-seeds accuracy curve (every {EVAL_EVERY} updates) and include the range "
        "test; speed-up = the fixed LR's updates / updates to the target.",
        "",
        "| method | budget | final accuracy (mean ± SE) | seeds at target | updates to target "
        "(range test) | speed-up | max_lr per seed | read at update |",
        "|---|---:|---:|---:|---:|---:|---|---|",
    ]
    names = {
        "fixed": f"fixed LR {FIXED_LR}",
        "two_stage": "two-stage auto 1cycle",
        "online": "**online auto 1cycle**",
    }
    for r in m["rows"]:
        total = (
            "never"
            if r["total_to_target"] is None
            else (f"{r['total_to_target']:,.0f} ({r['rt_updates']:,.0f})")
        )
        sp = "—" if r["speedup"] is None else f"{r['speedup']:.2f}×"
        lines.append(
            f"| {names[r['kind']]} | {r['budget']:,} | {_pct(r['final_mean'])} ± "
            f"{100 * r['final_se']:.2f} | {r['seeds_reaching']}/{r['seeds']} | {total} | {sp} | "
            f"{_lrs(r['max_lr'])} | {', '.join(str(d) for d in r['decided_at'] if d is not None)}"
            " |"
        )
    lines += [
        "",
        "## The task zoo: online against two-stage auto 1cycle at the same budget",
        "",
        "Gain > 0: online is better (accuracy in percentage points; a loss in percent of the "
        "two-stage loss); worst seed: the worst paired gain. *Within noise*: the mean gain is "
        "at least -tolerance, the zoo's regret goal for the metric (0.3 pp accuracy, 5% MSE, 1% "
        "validation loss of the language model) or one standard error of the two-stage seed "
        "mean if larger. Updates: two-stage spends its range test on top of the budget; online "
        "spends none. *No rollback*: online with `rollback=False` (the weights are kept as the "
        "warm-up left them at the decision), for comparison.",
        "",
        "| task | metric | two-stage (mean ± SE) | online (mean ± SE) | gain of online | worst "
        "seed | within noise (tolerance) | online, no rollback | max_lr two-stage | max_lr "
        "online | online read at | two-stage test updates |",
        "|---|---|---:|---:|---:|---:|---|---:|---|---|---|---:|",
    ]
    for holdout in (False, True):
        for r in zoo:
            if r["holdout"] != holdout:
                continue
            name = f"`{r['task']}`" + (" (holdout)" if holdout else "")
            if "gain" not in r:
                on = _metric(r["metric"], *r["online"]) if "online" in r else "errors (below)"
                lr = _lrs(r["max_lr"]["online"]) if "online" in r else ""
                at = ", ".join(str(d) for d in r.get("decided_at", []))
                lines.append(
                    f"| {name} | {r['metric']} | errors (below) | {on} | | | — | {_keep(r)} | | "
                    f"{lr} | {at} / {r['budget']:,} | |"
                )
                continue
            g, se = r["gain"]
            verdict = "yes" if r["within_noise"] else "**no**"
            unit = r["gain_unit"]
            paired = r.get("paired", r["seeds"])
            two = _metric(r["metric"], *r["two_stage"])
            note = ""
            if paired < r["seeds"]:  # the gain is over the seeds both trained
                two += f" ({r['seeds'] - paired} of {r['seeds']} seeds failed)"
                note = f" (over {_plural_seeds(paired)} both trained)"
            lines.append(
                f"| {name} | {r['metric']} | {two} | "
                f"{_metric(r['metric'], *r['online'])} | {g:+.2f}"
                f"{f' ± {se:.2f}' if math.isfinite(se) else ''} {unit}{note} | "
                f"{r['worst_gain']:+.2f} {unit} | {verdict} ({r['tolerance']:.2f} {unit}) | "
                f"{_keep(r)} | {_lrs(r['max_lr']['two_stage'])} | {_lrs(r['max_lr']['online'])} "
                f"| {', '.join(str(d) for d in r['decided_at'])} / {r['budget']:,} | "
                f"{r['rt_updates']:,.0f} |"
            )
    met = [r for r in zoo if r.get("within_noise")]
    lines += ["", f"Online within the noise of two-stage on {len(met)} of {len(zoo)} tasks."]
    with_oracle = [r for r in zoo if "oracle" in r]
    if with_oracle:
        lines += [
            "",
            "### Against the zoo's oracle",
            "",
            "Regret against the best 1cycle of the zoo's grid over max_lr (`benchmarks/zoo`, "
            "the saved run in `benchmarks/results/zoo.json`: same budget, initial weights and "
            "batches), in percentage points of accuracy or percent of the loss; the goal is the "
            "zoo's for auto 1cycle.",
            "",
            "| task | oracle max_lr | regret two-stage | regret online | goal | online meets it |",
            "|---|---:|---:|---:|---:|---|",
        ]
        for r in with_oracle:
            o, unit = r["oracle"], ("pp" if r["higher_is_better"] else "%")
            tol = o["tolerance"]
            ok = "—" if tol is None else ("yes" if o["regret_online"] <= tol + 1e-12 else "**no**")
            name = f"`{r['task']}`" + (" (holdout)" if r["holdout"] else "")
            lines.append(
                f"| {name} | {o['max_lr']:.3g} | {_signed(o['regret_two_stage'], unit)} | "
                f"{o['regret_online']:+.2f} {unit} | "
                f"{'—' if tol is None else f'≤ {tol:.2f} {unit}'} | {ok} |"
            )
        n_ok = sum(
            1
            for r in with_oracle
            if r["oracle"]["tolerance"] is not None
            and r["oracle"]["regret_online"] <= r["oracle"]["tolerance"] + 1e-12
        )
        lines += ["", f"Online meets the zoo's regret goal on {n_ok} of {len(with_oracle)} tasks."]
    errors = [
        (r["task"], k, s, e) for r in zoo for k, d in r["errors"].items() for s, e in d.items()
    ]
    if errors:
        lines += ["", "Errors:", ""] + [f"- `{t}` {k} seed {s}: {e}" for t, k, s, e in errors]
    return "\n".join(lines) + "\n"


def plot(report: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    m = report["mnist1d"]
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(12, 4.6), constrained_layout=True)
    colours = {"fixed": "0.5", "two_stage": "tab:blue", "online": "tab:orange"}
    for r in m["rows"]:
        iters, acc = r["curve"]
        x = np.asarray(iters) + r["rt_updates"]
        style = (
            "-"
            if r["kind"] != "online"
            else ["--", "-.", "-", ":"][ONLINE_BUDGETS.index(r["budget"]) % 4]
            if r["budget"] in ONLINE_BUDGETS
            else "-"
        )
        label = {
            "fixed": f"fixed LR {FIXED_LR}",
            "two_stage": "two-stage auto 1cycle (incl. range test)",
            "online": "online auto 1cycle",
        }[r["kind"]]
        a1.plot(
            x,
            100 * np.asarray(acc),
            style,
            color=colours[r["kind"]],
            label=f"{label}, {r['budget']:,}",
        )
    a1.axhline(100 * m["target"], color="k", lw=0.8, ls=":", label="target")
    a1.set(
        xlabel="updates (range test included)",
        ylabel="test accuracy (%), mean of seeds",
        title="MNIST-1D CNN",
        ylim=(60, 100),
        xscale="log",
    )
    a1.legend(fontsize=7, loc="lower right")
    rows = [r for r in report["zoo"] if "gain" in r]
    y = np.arange(len(rows))
    gains = [r["gain"][0] for r in rows]
    errs = [2 * r["gain"][1] if math.isfinite(r["gain"][1]) else 0 for r in rows]
    tols = [-r["tolerance"] for r in rows]
    a2.barh(
        y,
        tols,
        height=0.8,
        color="0.88",
        label="tolerance: within noise while a red bar stays in the grey band",
    )
    a2.barh(
        y,
        gains,
        height=0.45,
        xerr=errs,
        capsize=3,
        error_kw={"lw": 1},
        color=["tab:green" if g >= 0 else "tab:red" for g in gains],
    )
    a2.set_yticks(
        y,
        [
            r["task"]
            + (" (holdout)" if r["holdout"] else "")
            + f" [{r['gain_unit']}]"
            + (f"\n{_plural_seeds(r['paired'])} paired" if r["paired"] < r["seeds"] else "")
            for r in rows
        ],
        fontsize=8,
    )
    a2.axvline(0, color="k", lw=0.8)
    a2.invert_yaxis()
    a2.legend(fontsize=7, loc="lower left")
    a2.set(
        xlabel="online − two-stage, mean ± 2 SE (> 0: online better; pp or %)",
        title="Task zoo, same budget",
        xscale="symlog",
    )
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python benchmarks/online.py", description=__doc__.split("\n")[0]
    )
    ap.add_argument("--quick", action="store_true", help="smoke run: 1 seed, tiny budgets")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", type=Path, default=RESULTS)
    ap.add_argument("--skip-zoo", action="store_true", help="only the MNIST-1D part")
    ap.add_argument("--from-json", type=Path, help="re-render a saved report, run nothing")
    args = ap.parse_args(argv)
    if args.from_json is not None:
        report = json.loads(args.from_json.read_text())
        records = report["records"]
        report["mnist1d"] = summarize_mnist1d([r for r in records if r["part"] == "mnist1d"])
        report["zoo"] = summarize_zoo([r for r in records if r["part"] == "zoo"])
        add_oracle(report["zoo"], RESULTS / "zoo.json")
        name = args.from_json.stem
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / f"{name}.md").write_text(markdown(report))
        plot(report, args.out / f"{name}.png")
        print(f"Wrote {args.out / name}.{{md,png}}.")
        return 0
    from zoo.tasks import TASKS

    seeds = list(range(1 if args.quick else args.seeds))
    jobs: list[dict[str, Any]] = []
    n_train = 1000 if args.quick else None
    fixed_iters = 300 if args.quick else FIXED_ITERS
    budgets = (200,) if args.quick else ONLINE_BUDGETS
    for s in seeds:
        jobs.append(
            {
                "part": "mnist1d",
                "kind": "fixed",
                "budget": fixed_iters,
                "seed": s,
                "n_train": n_train,
            }
        )
        jobs.append(
            {
                "part": "mnist1d",
                "kind": "two_stage",
                "budget": 200 if args.quick else TWO_STAGE_BUDGET,
                "seed": s,
                "n_train": n_train,
            }
        )
        jobs += [
            {"part": "mnist1d", "kind": "online", "budget": b, "seed": s, "n_train": n_train}
            for b in budgets
        ]
    if not args.skip_zoo:
        keys = ["friedman_mlp_sgd"] if args.quick else list(TASKS)
        for k in keys:
            for s in seeds:
                for kind in ("two_stage", "online", "online_keep"):
                    job = {"part": "zoo", "task": k, "seed": s, "kind": kind}
                    if args.quick:
                        job.update(budget=200, rt={"coarse_iter": 40, "linear_iter": 60})
                    jobs.append(job)
    t0 = time.perf_counter()
    ctx = mp.get_context("spawn")
    records = []
    with ctx.Pool(args.workers) as pool:
        for i, r in enumerate(pool.imap_unordered(_run, jobs), 1):
            records.append(r)
            print(
                f"[{i}/{len(jobs)}] {r['part']} {r.get('task', '')} {r['kind']} seed {r['seed']}",
                file=sys.stderr,
                flush=True,
            )
    wall = time.perf_counter() - t0
    import platform

    import torch

    import cyclr

    report = {
        "command": "python benchmarks/online.py" + (" " + " ".join(argv or sys.argv[1:])).rstrip(),
        "seeds": seeds,
        "workers": args.workers,
        "wall_s": wall,
        "versions": f"cyclr {cyclr.__version__}, torch {torch.__version__}, python "
        f"{platform.python_version()}",
        "mnist1d": summarize_mnist1d([r for r in records if r["part"] == "mnist1d"]),
        "zoo": summarize_zoo([r for r in records if r["part"] == "zoo"]),
        "records": records,
    }
    if not args.quick:
        add_oracle(report["zoo"], RESULTS / "zoo.json")
    args.out.mkdir(parents=True, exist_ok=True)
    name = "online_quick" if args.quick else "online"
    (args.out / f"{name}.json").write_text(json.dumps(report, indent=1, default=str))
    md = markdown(report)
    (args.out / f"{name}.md").write_text(md)
    plot(report, args.out / f"{name}.png")
    print(md)
    print(f"Wrote {args.out / name}.{{json,md,png}} in {wall / 60:.1f} min.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
