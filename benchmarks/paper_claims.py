"""The papers' claims, re-checked on MNIST-1D (1D CNN, SGD momentum 0.9, batch 100).

Four short experiments, 3 seeds each; every bound comes from cyclr's own range test
(``cyclr.torch.auto_schedule`` with its defaults) unless said otherwise:

- **step size** (Smith 2015, §3.2: "step_size = 2-10 times the iterations per epoch" are about
  equally good): triangular CLR between the range-test bounds with step sizes of 2, 4, 6, 8 and
  10 epochs, each trained for whole cycles (>= 3) near a common budget.
- **bounds** (Smith 2015, §3.3: bounds read off the range test work as well as a grid search):
  triangular CLR with the range-test bounds against a grid of hand-set bounds (``max_lr`` x
  ``max_lr / base_lr``) at the same budget.
- **super-convergence** (Smith & Topin 2017): one cycle with a large ``max_lr`` (the range
  test's) in a short budget against a fixed-LR grid trained 4x longer; the same cycle at a
  quarter of that ``max_lr`` shows whether the large LR is what matters.
- **less data** (Smith & Topin 2017: the benefit of super-convergence grows as training data
  shrinks): the same comparison on 1000, 2000 and all 4000 training examples (each with its own
  range test).

    python benchmarks/paper_claims.py              # ~3.5 min on 2 cores
    python benchmarks/paper_claims.py --seeds 1    # one seed, a quick look
    python benchmarks/paper_claims.py --quick      # tiny smoke run (seconds)

Writes ``paper_claims.{json,md,png}`` to ``benchmarks/results/`` (``--out`` to change).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

import cyclr
from cyclr.range_test.recipe import COARSE_ITER, LINEAR_ITER
from cyclr.suggest.bounds import Bounds

sys.path.insert(0, str(Path(__file__).resolve().parent))
from time_to_accuracy import (
    RESULTS,
    TASKS,
    Job,
    Task,
    bounds_of,
    provenance,
    run_pool,
)


@dataclass(frozen=True)
class Config:
    """Sizes of the four experiments."""

    step_epochs: tuple[int, ...] = (2, 4, 6, 8, 10)
    step_budget: int = 2400  # whole cycles nearest to this
    bounds_max: tuple[float, ...] = (0.05, 0.1, 0.2, 0.4)
    bounds_ratio: tuple[float, ...] = (3.0, 10.0)
    bounds_step_epochs: int = 4
    bounds_cycles: int = 4
    sizes: tuple[int, ...] = (1000, 2000, 4000)
    fixed_lrs: tuple[float, ...] = (0.02, 0.05, 0.1)
    fixed_budget: int = 4000
    one_cycle_budget: int = 1000
    small_max_factor: float = 0.25
    eval_every: int = 100
    rt_coarse: int = COARSE_ITER  # auto_schedule's defaults
    rt_linear: int = LINEAR_ITER

    @classmethod
    def quick(cls) -> Config:
        return cls(
            step_epochs=(2, 4),
            step_budget=48,
            bounds_max=(0.1, 0.2),
            bounds_ratio=(4.0,),
            bounds_step_epochs=2,
            bounds_cycles=3,
            sizes=(400, 800),
            fixed_lrs=(0.05,),
            fixed_budget=40,
            one_cycle_budget=20,
            eval_every=10,
            rt_coarse=30,
            rt_linear=60,
        )


def whole_cycles(step: int, budget: int) -> int:
    """Iterations of the whole number (>= 3) of cycles of half-length ``step`` nearest
    ``budget``."""
    return 2 * step * max(3, round(budget / (2 * step)))


def base_task(cfg: Config, n_train: int | None) -> Task:
    t = TASKS["mnist1d-cnn-sgd"]
    full = n_train is None or n_train >= 4000
    return replace(
        t,
        key=f"cnn-n{n_train or 4000}",
        n_train=None if full else n_train,
        eval_every=cfg.eval_every,
        rt_coarse=cfg.rt_coarse,
        rt_linear=cfg.rt_linear,
    )


def range_tests(cfg: Config, seeds: Sequence[int]) -> list[Job]:
    return [
        Job(base_task(cfg, n), s, "range_test", extra={"n": n}) for n in cfg.sizes for s in seeds
    ]


def independent_jobs(cfg: Config, seeds: Sequence[int]) -> list[Job]:
    """Runs that need no range test: the bounds grid and the fixed-LR runs."""
    full = base_task(cfg, max(cfg.sizes))
    step = cfg.bounds_step_epochs * full.iters_per_epoch
    iters = 2 * step * cfg.bounds_cycles
    jobs = []
    for hi in cfg.bounds_max:
        for ratio in cfg.bounds_ratio:
            sched = cyclr.Triangular(hi / ratio, hi, step)
            for s in seeds:
                jobs.append(
                    Job(
                        full,
                        s,
                        "triangular",
                        iters,
                        schedule=sched,
                        tag=f"grid {hi:g}/{ratio:g}",
                        extra={"exp": "bounds", "max_lr": hi, "ratio": ratio},
                    )
                )
    for n in cfg.sizes:
        task = base_task(cfg, n)
        for lr in cfg.fixed_lrs:
            for s in seeds:
                jobs.append(
                    Job(
                        task,
                        s,
                        "fixed",
                        cfg.fixed_budget,
                        lr=lr,
                        tag=f"n={n} lr={lr:g}",
                        extra={"exp": "data", "n": n},
                    )
                )
    return jobs


def dependent_jobs(cfg: Config, rts: list[dict[str, Any]]) -> list[Job]:
    """Runs that use a range test's bounds."""
    jobs = []
    full_n = max(cfg.sizes)
    for rt in rts:
        b = bounds_of(rt)
        if b is None:
            continue
        n, seed = rt["n"], rt["seed"]
        task = base_task(cfg, n)
        ipe = task.iters_per_epoch
        if n == full_n:
            for ep in cfg.step_epochs:
                step = ep * ipe
                iters = whole_cycles(step, cfg.step_budget)
                jobs.append(
                    Job(
                        task,
                        seed,
                        "triangular",
                        iters,
                        schedule=b.triangular(step, ipe),
                        tag=f"step {ep} ep",
                        extra={"exp": "step", "step_epochs": ep},
                    )
                )
            step = cfg.bounds_step_epochs * ipe
            jobs.append(
                Job(
                    task,
                    seed,
                    "triangular",
                    2 * step * cfg.bounds_cycles,
                    schedule=b.triangular(step, ipe),
                    tag="range-test bounds",
                    extra={
                        "exp": "bounds",
                        "max_lr": b.max_lr,
                        "ratio": b.max_lr / b.base_lr,
                        "auto": True,
                    },
                )
            )
        total = cfg.one_cycle_budget
        small = Bounds(
            b.base_lr * cfg.small_max_factor,
            b.max_lr * cfg.small_max_factor,
            method="scaled",
            reason="range-test bounds x factor",
        )
        for label, bb in (("large", b), ("small", small)):
            jobs.append(
                Job(
                    task,
                    seed,
                    "one_cycle",
                    total,
                    schedule=bb.one_cycle(total),
                    momentum=True,
                    tag=f"n={n} 1cycle {label} max_lr",
                    extra={"exp": "data", "n": n, "max_lr": bb.max_lr, "which": label},
                )
            )
    return jobs


# -- analysis -------------------------------------------------------------------------------
def _stats(xs: Sequence[float]) -> dict[str, float]:
    a = np.asarray(xs, dtype=float)
    return {
        "mean": float(a.mean()),
        "std": float(a.std(ddof=1)) if len(a) > 1 else 0.0,
        "n": len(a),
    }


def _fmt(s: dict[str, float]) -> str:
    return f"{100 * s['mean']:.1f} ± {100 * s['std']:.1f}"


def analyse(cfg: Config, rts: list[dict[str, Any]], runs: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    ipe = base_task(cfg, max(cfg.sizes)).iters_per_epoch
    out["range_tests"] = [
        {k: r.get(k) for k in ("n", "seed", "base_lr", "max_lr", "cost", "error")} for r in rts
    ]
    # step size
    step = {}
    for ep in cfg.step_epochs:
        rs = [r for r in runs if r.get("exp") == "step" and r["step_epochs"] == ep]
        if rs:
            step[str(ep)] = {
                **_stats([r["final_acc"] for r in rs]),
                "iters": rs[0]["budget"],
                "cycles": rs[0]["budget"] // (2 * ep * ipe),
            }
    out["step"] = step
    # bounds
    grid: dict[str, Any] = {}
    for hi in cfg.bounds_max:
        for ratio in cfg.bounds_ratio:
            rs = [
                r
                for r in runs
                if r.get("exp") == "bounds"
                and not r.get("auto")
                and r["max_lr"] == hi
                and r["ratio"] == ratio
            ]
            if rs:
                grid[f"{hi:g}/{ratio:g}"] = {
                    **_stats([r["final_acc"] for r in rs]),
                    "base_lr": hi / ratio,
                    "max_lr": hi,
                }
    auto = [r for r in runs if r.get("exp") == "bounds" and r.get("auto")]
    best = max(grid, key=lambda k: grid[k]["mean"]) if grid else None
    out["bounds"] = {
        "grid": grid,
        "grid_best": best,
        "auto": _stats([r["final_acc"] for r in auto]) if auto else None,
        "auto_bounds": [[r["max_lr"] / r["ratio"], r["max_lr"]] for r in auto],
        "auto_rank": (
            1
            + sum(g["mean"] > _stats([r["final_acc"] for r in auto])["mean"] for g in grid.values())
        )
        if auto
        else None,
        "iters": 2 * cfg.bounds_cycles * cfg.bounds_step_epochs * ipe,
    }
    # super-convergence and data size
    data = {}
    for n in cfg.sizes:
        fixed = {}
        for lr in cfg.fixed_lrs:
            rs = [
                r
                for r in runs
                if r.get("exp") == "data"
                and r["n"] == n
                and r["policy"] == "fixed"
                and r["lr"] == lr
            ]
            if rs:
                fixed[f"{lr:g}"] = _stats([r["final_acc"] for r in rs])
        one = {}
        for which in ("large", "small"):
            rs = [
                r
                for r in runs
                if r.get("exp") == "data"
                and r["n"] == n
                and r["policy"] == "one_cycle"
                and r["which"] == which
            ]
            if rs:
                one[which] = {
                    **_stats([r["final_acc"] for r in rs]),
                    "max_lr": float(np.mean([r["max_lr"] for r in rs])),
                }
        if not fixed:
            continue
        best_lr = max(fixed, key=lambda k: fixed[k]["mean"])
        gap = one["large"]["mean"] - fixed[best_lr]["mean"] if "large" in one else None
        data[str(n)] = {"fixed": fixed, "best_fixed_lr": best_lr, "one_cycle": one, "gap": gap}
    out["data"] = data
    return out


def _z(a: dict[str, float], b: dict[str, float]) -> float:
    """``(a - b)`` in standard errors of the difference of two seed means."""
    se = math.sqrt(a["std"] ** 2 / max(a["n"], 1) + b["std"] ** 2 / max(b["n"], 1))
    diff = a["mean"] - b["mean"]
    return diff / se if se > 0 else math.copysign(math.inf, diff)


#: Differences under this many standard errors count as noise (3 seeds cannot tell them apart).
Z_SIGNIFICANT = 2.0


def verdicts(cfg: Config, a: dict[str, Any]) -> dict[str, str]:
    """One line per claim: does it hold here? Differences are judged against the standard error
    of a difference of seed means; below ``Z_SIGNIFICANT`` of them they count as noise."""
    v: dict[str, str] = {}
    st = a["step"]
    if len(st) >= 2:
        hi = max(st, key=lambda k: st[k]["mean"])
        lo = min(st, key=lambda k: st[k]["mean"])
        z = _z(st[hi], st[lo])
        v["step"] = (
            f"best {hi} epochs ({_fmt(st[hi])}), worst {lo} epochs ({_fmt(st[lo])}): "
            f"{100 * (st[hi]['mean'] - st[lo]['mean']):.1f} points, {z:.1f} standard "
            "errors; "
            + (
                "holds: the step sizes cannot be told apart"
                if z < Z_SIGNIFICANT
                else "does not hold: the step size matters here"
            )
        )
    b = a["bounds"]
    if b["auto"] and b["grid_best"]:
        g = b["grid"][b["grid_best"]]
        z = _z(b["auto"], g)
        v["bounds"] = (
            f"range-test bounds {_fmt(b['auto'])} vs the grid's best "
            f"({b['grid_best']}) {_fmt(g)}: rank {b['auto_rank']} of "
            f"{len(b['grid']) + 1}, {z:+.1f} standard errors; "
            + (
                "holds: as good as the grid's best within noise"
                if z > -Z_SIGNIFICANT
                else "falls short of the grid's best"
            )
        )
    d = a["data"]
    full = d.get(str(max(cfg.sizes)))
    if full and "large" in full["one_cycle"]:
        one, fx = full["one_cycle"]["large"], full["fixed"][full["best_fixed_lr"]]
        z = _z(one, fx)
        verdict = (
            "holds"
            if z >= Z_SIGNIFICANT
            else "holds, but within noise"
            if z > 0
            else "does not hold"
        )
        v["super"] = (
            f"1cycle {cfg.one_cycle_budget:,} it {_fmt(one)} vs best fixed LR "
            f"{cfg.fixed_budget:,} it {_fmt(fx)}: {z:+.1f} standard errors; {verdict}"
        )
    gaps = []
    for n, x in sorted(d.items(), key=lambda kv: int(kv[0])):
        if x["gap"] is None:
            continue
        one, fx = x["one_cycle"]["large"], x["fixed"][x["best_fixed_lr"]]
        se = math.sqrt(one["std"] ** 2 / one["n"] + fx["std"] ** 2 / fx["n"])
        gaps.append((int(n), x["gap"], se))
    if len(gaps) >= 2:
        _, g_full, se_full = gaps[-1]
        larger = [
            (n, (g - g_full) / math.hypot(se, se_full) if se or se_full else math.inf)
            for n, g, se in gaps[:-1]
        ]
        text = ", ".join(f"{n}: {100 * g:+.1f} ± {100 * se:.1f}" for n, g, se in gaps)
        if all(z >= Z_SIGNIFICANT for _, z in larger):
            verdict = "holds: the gap is larger with less data"
        elif all(z > 0 for _, z in larger):
            verdict = (
                "the gap is larger on every subset than on all the data, but within "
                "noise: consistent with the claim, not a confirmation"
            )
        else:
            verdict = "does not hold here"
        v["data"] = f"gap (1cycle − best fixed, points ± standard error) by n: {text}; {verdict}"
    return v


def markdown(cfg: Config, a: dict[str, Any], v: dict[str, str], command: str) -> str:
    ipe = base_task(cfg, max(cfg.sizes)).iters_per_epoch
    lines = [f"Command: `{command}`", ""]
    lines += [
        "#### Step size (§3.2)",
        "",
        "| step_size | cycles | iterations | final acc % (mean ± std) |",
        "|---|---:|---:|---:|",
    ]
    for ep, s in a["step"].items():
        lines.append(
            f"| {ep} epochs ({int(ep) * ipe} it) | {s['cycles']} | {s['iters']:,} | {_fmt(s)} |"
        )
    lines += ["", f"Verdict: {v.get('step', 'n/a')}.", ""]
    b = a["bounds"]
    lines += [
        "#### Bounds from the range test vs a grid (§3.3)",
        "",
        f"Triangular, step_size {cfg.bounds_step_epochs} epochs, {cfg.bounds_cycles} "
        f"cycles ({b['iters']:,} iterations).",
        "",
        "| bounds (base_lr – max_lr) | final acc % (mean ± std) |",
        "|---|---:|",
    ]
    if b["auto"]:
        rng = ", ".join(f"{lo:.3g}–{hi:.3g}" for lo, hi in b["auto_bounds"])
        lines.append(f"| **range test** (per seed: {rng}) | **{_fmt(b['auto'])}** |")
    for k, g in sorted(b["grid"].items(), key=lambda kv: -kv[1]["mean"]):
        star = " (grid best)" if k == b["grid_best"] else ""
        lines.append(f"| {g['base_lr']:.3g} – {g['max_lr']:.3g}{star} | {_fmt(g)} |")
    lines += ["", f"Verdict: {v.get('bounds', 'n/a')}.", ""]
    lines += [
        "#### Super-convergence and training-set size (Smith & Topin 2017)",
        "",
        f"Fixed LRs {', '.join(f'{x:g}' for x in cfg.fixed_lrs)} for "
        f"{cfg.fixed_budget:,} iterations against 1cycle (linear, annihilation, momentum "
        f"0.95–0.85) for {cfg.one_cycle_budget:,} iterations with the range test's bounds "
        f"('large') and with both bounds x{cfg.small_max_factor:g} ('small').",
        "",
        "| training examples | best fixed LR | fixed acc % | 1cycle large max_lr | "
        "1cycle acc % | 1cycle small max_lr acc % | gap (1cycle − fixed) |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for n, d in a["data"].items():
        fx = d["fixed"][d["best_fixed_lr"]]
        lg, sm = d["one_cycle"].get("large"), d["one_cycle"].get("small")
        head = f"| {int(n):,} | {d['best_fixed_lr']} | {_fmt(fx)} | "
        if lg is None:
            lines.append(head + "— | — | — | — |")
            continue
        lines.append(
            head + f"{lg['max_lr']:.3g} | {_fmt(lg)} | {_fmt(sm) if sm else '—'} | "
            f"{100 * d['gap']:+.1f} |"
        )
    lines += [
        "",
        f"Verdict (super-convergence): {v.get('super', 'n/a')}.",
        f"Verdict (less data): {v.get('data', 'n/a')}.",
        "",
    ]
    return "\n".join(lines)


#: The smallest accuracy range (percentage points) a panel shows.
MIN_SPAN = 10.0


def plot(cfg: Config, a: dict[str, Any], path: Path) -> None:
    """Three panels: step size, bounds (range test vs grid), 1cycle vs fixed LR by data size."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import NullFormatter

    fig, ax = plt.subplots(1, 3, figsize=(15, 4.3))
    st = a["step"]
    if st:
        eps = [int(k) for k in st]
        ax[0].errorbar(
            eps,
            [100 * s["mean"] for s in st.values()],
            yerr=[100 * s["std"] for s in st.values()],
            marker="o",
            capsize=3,
            label="triangular, range-test bounds",
        )
        ax[0].set_xticks(eps)
        ax[0].set_xlabel(f"step_size (epochs); whole cycles near {cfg.step_budget:,} iterations")
        ax[0].set_title("§3.2: step size 2–10 epochs")
        ax[0].legend(fontsize=8, loc="lower right")
    b = a["bounds"]
    if b["grid"]:
        good = [100 * g["mean"] for g in b["grid"].values()]
        if b["auto"]:
            good.append(100 * b["auto"]["mean"])
        top = max(good)
        floor = top - MIN_SPAN
        for i, (ratio, mk) in enumerate(zip(cfg.bounds_ratio, "os^v")):
            ks = [k for k, g in b["grid"].items() if k.endswith(f"/{ratio:g}")]
            xs = [b["grid"][k]["max_lr"] for k in ks]
            ys = [100 * b["grid"][k]["mean"] for k in ks]
            line = ax[1].errorbar(
                xs,
                [y if y > floor else np.nan for y in ys],
                yerr=[100 * b["grid"][k]["std"] if y > floor else 0 for k, y in zip(ks, ys)],
                marker=mk,
                capsize=3,
                label=f"grid, max_lr/base_lr = {ratio:g}",
            )
            for x, y in zip(xs, ys):
                if y <= floor:  # below the axis: an arrow at its place, labelled with its value
                    ax[1].annotate(
                        f"{y:.0f}%",
                        xy=(x, floor + 0.3),
                        xytext=(-24, 12 + 16 * i),
                        textcoords="offset points",
                        ha="center",
                        fontsize=8,
                        color=line.lines[0].get_color(),
                        arrowprops={"arrowstyle": "->", "color": line.lines[0].get_color()},
                    )
        if b["auto"]:
            his = [hi for _, hi in b["auto_bounds"]]
            ax[1].plot(
                his,
                [floor + 0.25] * len(his),
                "^",
                color="#d62728",
                ms=6,
                alpha=0.7,
                ls="none",
                label="each seed's range-test max_lr",
            )
            mx = float(np.mean(his))
            ax[1].errorbar(
                [mx],
                [100 * b["auto"]["mean"]],
                yerr=[100 * b["auto"]["std"]],
                marker="*",
                ms=14,
                color="#d62728",
                capsize=3,
                ls="none",
                label="range-test bounds (mean max_lr)",
            )
        ax[1].set_ylim(floor, top + 2)
        ax[1].set_xscale("log")
        ticks = sorted(cfg.bounds_max)
        ax[1].set_xlim(ticks[0] / 1.25, ticks[-1] * 1.25)
        ax[1].set_xticks(ticks, [f"{t:g}" for t in ticks])
        ax[1].xaxis.set_minor_formatter(NullFormatter())
        ax[1].set_xlabel("max_lr (log scale)")
        ax[1].set_title(f"§3.3: bounds, range test vs grid ({b['iters']:,} it)")
        ax[1].legend(fontsize=8, loc="lower left")
    d = a["data"]
    if d:
        ns = [int(n) for n in d]
        fx = [x["fixed"][x["best_fixed_lr"]] for x in d.values()]
        ax[2].errorbar(
            ns,
            [100 * f["mean"] for f in fx],
            yerr=[100 * f["std"] for f in fx],
            marker="o",
            color="#222222",
            capsize=3,
            label=f"best fixed LR, {cfg.fixed_budget:,} it",
        )
        for which, c in (("large", "#d62728"), ("small", "#ff9896")):
            pts = [(int(n), x["one_cycle"][which]) for n, x in d.items() if which in x["one_cycle"]]
            if pts:
                what = (
                    "range-test max_lr" if which == "large" else f"max_lr x{cfg.small_max_factor:g}"
                )
                ax[2].errorbar(
                    [n for n, _ in pts],
                    [100 * p["mean"] for _, p in pts],
                    yerr=[100 * p["std"] for _, p in pts],
                    marker="o",
                    color=c,
                    capsize=3,
                    label=f"1cycle, {what}, {cfg.one_cycle_budget:,} it",
                )
        ax[2].set_xscale("log")
        ax[2].set_xticks(ns, [f"{n:,}" for n in ns])
        ax[2].xaxis.set_minor_formatter(NullFormatter())
        ax[2].set_xlabel("training examples (log scale)")
        ax[2].set_title("super-convergence vs training-set size")
        ax[2].legend(fontsize=8, loc="lower right")
    for x in ax:
        x.set_ylabel("final test accuracy % (mean ± sd over seeds)")
        x.grid(alpha=0.3)
        lo, hi = x.get_ylim()
        if hi - lo < MIN_SPAN:  # never magnify differences smaller than the seed noise
            mid = (lo + hi) / 2
            x.set_ylim(mid - MIN_SPAN / 2, mid + MIN_SPAN / 2)
    fig.suptitle("MNIST-1D, 1D CNN, SGD momentum 0.9, batch 100", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=3, help="seeds (default 3)")
    ap.add_argument("--quick", action="store_true", help="tiny sizes, for smoke tests")
    ap.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1))
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
        report = json.loads(args.from_json.read_text())
        cfg = Config(
            **{k: tuple(x) if isinstance(x, list) else x for k, x in report["config"].items()}
        )
        rts = [r for r in report["runs"] if r["policy"] == "range_test"]
        runs = [r for r in report["runs"] if r["policy"] != "range_test"]
        report["results"] = analyse(cfg, rts, runs)
        report["verdicts"] = verdicts(cfg, report["results"])
        write(cfg, report, args.out)
        return 0
    cfg = Config.quick() if args.quick else Config()
    seeds = list(range(args.seeds))
    cmd = " ".join(["python benchmarks/paper_claims.py", *(sys.argv[1:] if argv is None else argv)])

    def log(msg: str) -> None:
        if not args.quiet:
            print(msg, file=sys.stderr, flush=True)

    t0 = time.perf_counter()
    rts, runs = run_pool(
        range_tests(cfg, seeds),
        lambda res: dependent_jobs(cfg, res),
        independent_jobs(cfg, seeds),
        args.workers,
        log,
    )
    wall = time.perf_counter() - t0
    a = analyse(cfg, rts, runs)
    v = verdicts(cfg, a)
    report = {
        "command": cmd,
        "quick": args.quick,
        "seeds": seeds,
        "workers": args.workers,
        "wall_s": wall,
        "config": {k: getattr(cfg, k) for k in cfg.__dataclass_fields__},
        "versions": {
            "cyclr": cyclr.__version__,
            "torch": torch.__version__,
            "python": platform.python_version(),
        },
        "git": provenance(),
        "results": a,
        "verdicts": v,
        "runs": [{k: x for k, x in r.items() if k not in ("schedule",)} for r in [*rts, *runs]],
    }
    write(cfg, report, args.out)
    return 0


def write(cfg: Config, report: dict[str, Any], out: Path) -> None:
    """Write ``paper_claims.{json,md,png}`` to ``out`` and print the tables."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "paper_claims.json").write_text(json.dumps(report, indent=1, default=float) + "\n")
    md = markdown(cfg, report["results"], report["verdicts"], report["command"])
    md += f"\nWall time: {report['wall_s'] / 60:.1f} min with {report['workers']} workers.\n"
    (out / "paper_claims.md").write_text(md)
    plot(cfg, report["results"], out / "paper_claims.png")
    print(md)


if __name__ == "__main__":
    sys.exit(main())
