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

    python benchmarks/paper_claims.py              # full run
    python benchmarks/paper_claims.py --seeds 1    # one seed, a quick look
    python benchmarks/paper_claims.py --quick      # tiny smoke run (seconds)

Writes ``paper_claims.{json,md,png}`` to ``benchmarks/results/`` (``--out`` to change).
"""

from __future__ import annotations

import argparse
import itertools
import json
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
from cyclr.bounds import Bounds

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
    rt_coarse: int = 100
    rt_linear: int = 400

    @classmethod
    def quick(cls) -> Config:
        return cls(step_epochs=(2, 4), step_budget=48, bounds_max=(0.1, 0.2),
                   bounds_ratio=(4.0,), bounds_step_epochs=2, bounds_cycles=3,
                   sizes=(400, 800), fixed_lrs=(0.05,), fixed_budget=40, one_cycle_budget=20,
                   eval_every=10, rt_coarse=30, rt_linear=60)  # fmt: skip


def whole_cycles(step: int, budget: int) -> int:
    """Iterations of the whole number (>= 3) of cycles of half-length ``step`` nearest
    ``budget``."""
    return 2 * step * max(3, round(budget / (2 * step)))


def base_task(cfg: Config, n_train: int | None) -> Task:
    t = TASKS["mnist1d-cnn-sgd"]
    full = n_train is None or n_train >= 4000
    return replace(t, key=f"cnn-n{n_train or 4000}", n_train=None if full else n_train,
                   eval_every=cfg.eval_every, rt_coarse=cfg.rt_coarse,
                   rt_linear=cfg.rt_linear)  # fmt: skip


def range_tests(cfg: Config, seeds: Sequence[int]) -> list[Job]:
    return [Job(base_task(cfg, n), s, "range_test", extra={"n": n})
            for n in cfg.sizes for s in seeds]  # fmt: skip


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
                jobs.append(Job(full, s, "triangular", iters, schedule=sched,
                                tag=f"grid {hi:g}/{ratio:g}",
                                extra={"exp": "bounds", "max_lr": hi, "ratio": ratio}))
    for n in cfg.sizes:
        task = base_task(cfg, n)
        for lr in cfg.fixed_lrs:
            for s in seeds:
                jobs.append(Job(task, s, "fixed", cfg.fixed_budget, lr=lr, tag=f"n={n} lr={lr:g}",
                                extra={"exp": "data", "n": n}))
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
                jobs.append(Job(task, seed, "triangular", iters,
                                schedule=b.triangular(step, ipe), tag=f"step {ep} ep",
                                extra={"exp": "step", "step_epochs": ep}))
            step = cfg.bounds_step_epochs * ipe
            jobs.append(Job(task, seed, "triangular", 2 * step * cfg.bounds_cycles,
                            schedule=b.triangular(step, ipe), tag="range-test bounds",
                            extra={"exp": "bounds", "max_lr": b.max_lr,
                                   "ratio": b.max_lr / b.base_lr, "auto": True}))
        total = cfg.one_cycle_budget
        small = Bounds(b.base_lr * cfg.small_max_factor, b.max_lr * cfg.small_max_factor,
                       method="scaled", reason="range-test bounds x factor")  # fmt: skip
        for label, bb in (("large", b), ("small", small)):
            jobs.append(Job(task, seed, "one_cycle", total, schedule=bb.one_cycle(total),
                            momentum=True, tag=f"n={n} 1cycle {label} max_lr",
                            extra={"exp": "data", "n": n, "max_lr": bb.max_lr,
                                   "which": label}))
    return jobs


# -- analysis -------------------------------------------------------------------------------
def _stats(xs: Sequence[float]) -> dict[str, float]:
    a = np.asarray(xs, dtype=float)
    return {"mean": float(a.mean()), "std": float(a.std(ddof=1)) if len(a) > 1 else 0.0,
            "n": len(a)}  # fmt: skip


def _fmt(s: dict[str, float]) -> str:
    return f"{100 * s['mean']:.1f} ± {100 * s['std']:.1f}"


def analyse(cfg: Config, rts: list[dict[str, Any]], runs: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    ipe = base_task(cfg, max(cfg.sizes)).iters_per_epoch
    out["range_tests"] = [{k: r.get(k) for k in ("n", "seed", "base_lr", "max_lr", "cost",
                                                  "error")} for r in rts]  # fmt: skip
    # step size
    step = {}
    for ep in cfg.step_epochs:
        rs = [r for r in runs if r.get("exp") == "step" and r["step_epochs"] == ep]
        if rs:
            step[str(ep)] = {**_stats([r["final_acc"] for r in rs]), "iters": rs[0]["budget"],
                             "cycles": rs[0]["budget"] // (2 * ep * ipe)}
    out["step"] = step
    # bounds
    grid: dict[str, Any] = {}
    for hi in cfg.bounds_max:
        for ratio in cfg.bounds_ratio:
            rs = [r for r in runs if r.get("exp") == "bounds" and not r.get("auto")
                  and r["max_lr"] == hi and r["ratio"] == ratio]  # fmt: skip
            if rs:
                grid[f"{hi:g}/{ratio:g}"] = {**_stats([r["final_acc"] for r in rs]),
                                             "base_lr": hi / ratio, "max_lr": hi}
    auto = [r for r in runs if r.get("exp") == "bounds" and r.get("auto")]
    best = max(grid, key=lambda k: grid[k]["mean"]) if grid else None
    out["bounds"] = {
        "grid": grid,
        "grid_best": best,
        "auto": _stats([r["final_acc"] for r in auto]) if auto else None,
        "auto_bounds": [[r["max_lr"] / r["ratio"], r["max_lr"]] for r in auto],
        "auto_rank": (1 + sum(g["mean"] > _stats([r["final_acc"] for r in auto])["mean"]
                              for g in grid.values())) if auto else None,
        "iters": 2 * cfg.bounds_cycles * cfg.bounds_step_epochs * ipe,
    }  # fmt: skip
    # super-convergence and data size
    data = {}
    for n in cfg.sizes:
        fixed = {}
        for lr in cfg.fixed_lrs:
            rs = [r for r in runs if r.get("exp") == "data" and r["n"] == n
                  and r["policy"] == "fixed" and r["lr"] == lr]  # fmt: skip
            if rs:
                fixed[f"{lr:g}"] = _stats([r["final_acc"] for r in rs])
        one = {}
        for which in ("large", "small"):
            rs = [r for r in runs if r.get("exp") == "data" and r["n"] == n
                  and r["policy"] == "one_cycle" and r["which"] == which]  # fmt: skip
            if rs:
                one[which] = {**_stats([r["final_acc"] for r in rs]),
                              "max_lr": float(np.mean([r["max_lr"] for r in rs]))}
        if not fixed:
            continue
        best_lr = max(fixed, key=lambda k: fixed[k]["mean"])
        gap = one["large"]["mean"] - fixed[best_lr]["mean"] if "large" in one else None
        data[str(n)] = {"fixed": fixed, "best_fixed_lr": best_lr, "one_cycle": one,
                        "gap": gap}  # fmt: skip
    out["data"] = data
    return out


def verdicts(cfg: Config, a: dict[str, Any]) -> dict[str, str]:
    """One line per claim: does it hold here?"""
    v: dict[str, str] = {}
    st = a["step"]
    if st:
        means = [s["mean"] for s in st.values()]
        spread = max(means) - min(means)
        noise = max(s["std"] for s in st.values())
        v["step"] = (f"spread of the means {100 * spread:.1f} points, largest seed std "
                     f"{100 * noise:.1f} points: "
                     + ("holds (within noise)" if spread <= 2 * noise + 0.005 else
                        "does not hold: the step size matters here"))  # fmt: skip
    b = a["bounds"]
    if b["auto"] and b["grid_best"]:
        g = b["grid"][b["grid_best"]]
        diff = b["auto"]["mean"] - g["mean"]
        v["bounds"] = (f"range-test bounds {_fmt(b['auto'])} vs the grid's best "
                       f"({b['grid_best']}) {_fmt(g)}: rank {b['auto_rank']} of "
                       f"{len(b['grid']) + 1}; "
                       + ("holds" if diff >= -max(g["std"], 0.005) else "falls short"))
    d = a["data"]
    full = d.get(str(max(cfg.sizes)))
    if full and "large" in full["one_cycle"]:
        one, fx = full["one_cycle"]["large"], full["fixed"][full["best_fixed_lr"]]
        v["super"] = (f"1cycle {cfg.one_cycle_budget} it {_fmt(one)} vs best fixed LR "
                      f"{cfg.fixed_budget} it {_fmt(fx)}: "
                      + ("holds" if one["mean"] >= fx["mean"] else "does not hold"))
    gaps = [(int(n), x["gap"]) for n, x in d.items() if x["gap"] is not None]
    if len(gaps) >= 2:
        gaps.sort()
        grows = all(g1 >= g2 for (_, g1), (_, g2) in itertools.pairwise(gaps))
        v["data"] = ("gap (1cycle - best fixed) by n: "
                     + ", ".join(f"{n}: {100 * g:+.1f}" for n, g in gaps) + " points: "
                     + ("holds (larger with less data)" if grows and gaps[0][1] > gaps[-1][1]
                        else "does not hold here"))  # fmt: skip
    return v


def markdown(cfg: Config, a: dict[str, Any], v: dict[str, str], command: str) -> str:
    ipe = base_task(cfg, max(cfg.sizes)).iters_per_epoch
    lines = [f"Command: `{command}`", ""]
    lines += ["#### Step size (§3.2)", "",
              "| step_size | cycles | iterations | final acc % (mean ± std) |",
              "|---|---:|---:|---:|"]  # fmt: skip
    for ep, s in a["step"].items():
        lines.append(f"| {ep} epochs ({int(ep) * ipe} it) | {s['cycles']} | {s['iters']:,} | "
                     f"{_fmt(s)} |")  # fmt: skip
    lines += ["", f"Verdict: {v.get('step', 'n/a')}.", ""]
    b = a["bounds"]
    lines += ["#### Bounds from the range test vs a grid (§3.3)", "",
              f"Triangular, step_size {cfg.bounds_step_epochs} epochs, {cfg.bounds_cycles} "
              f"cycles ({b['iters']:,} iterations).", "",
              "| bounds (base_lr – max_lr) | final acc % (mean ± std) |", "|---|---:|"]  # fmt: skip
    if b["auto"]:
        rng = ", ".join(f"{lo:.3g}–{hi:.3g}" for lo, hi in b["auto_bounds"])
        lines.append(f"| **range test** (per seed: {rng}) | **{_fmt(b['auto'])}** |")
    for k, g in sorted(b["grid"].items(), key=lambda kv: -kv[1]["mean"]):
        star = " (grid best)" if k == b["grid_best"] else ""
        lines.append(f"| {g['base_lr']:.3g} – {g['max_lr']:.3g}{star} | {_fmt(g)} |")
    lines += ["", f"Verdict: {v.get('bounds', 'n/a')}.", ""]
    lines += ["#### Super-convergence and training-set size (Smith & Topin 2017)", "",
              f"Fixed LRs {', '.join(f'{x:g}' for x in cfg.fixed_lrs)} for "
              f"{cfg.fixed_budget:,} iterations against 1cycle (linear, annihilation, momentum "
              f"0.95–0.85) for {cfg.one_cycle_budget:,} iterations with the range test's bounds "
              f"('large') and with both bounds x{cfg.small_max_factor:g} ('small').", "",
              "| training examples | best fixed LR | fixed acc % | 1cycle large max_lr | "
              "1cycle acc % | 1cycle small max_lr acc % | gap (1cycle − fixed) |",
              "|---:|---:|---:|---:|---:|---:|---:|"]  # fmt: skip
    for n, d in a["data"].items():
        fx = d["fixed"][d["best_fixed_lr"]]
        lg, sm = d["one_cycle"].get("large"), d["one_cycle"].get("small")
        head = f"| {int(n):,} | {d['best_fixed_lr']} | {_fmt(fx)} | "
        if lg is None:
            lines.append(head + "— | — | — | — |")
            continue
        lines.append(head + f"{lg['max_lr']:.3g} | {_fmt(lg)} | {_fmt(sm) if sm else '—'} | "
                     f"{100 * d['gap']:+.1f} |")
    lines += ["", f"Verdict (super-convergence): {v.get('super', 'n/a')}.",
              f"Verdict (less data): {v.get('data', 'n/a')}.", ""]  # fmt: skip
    return "\n".join(lines)


def plot(cfg: Config, a: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(1, 3, figsize=(14, 4))
    st = a["step"]
    if st:
        eps = [int(k) for k in st]
        ax[0].errorbar(eps, [100 * s["mean"] for s in st.values()],
                       yerr=[100 * s["std"] for s in st.values()], marker="o", capsize=3)
        ax[0].set_xlabel("step_size (epochs)")
        ax[0].set_ylabel("final test accuracy %")
        ax[0].set_title("§3.2: triangular CLR, step size")
        ax[0].grid(alpha=0.3)
    b = a["bounds"]
    if b["grid"]:
        for ratio in cfg.bounds_ratio:
            ks = [k for k, g in b["grid"].items() if k.endswith(f"/{ratio:g}")]
            ax[1].errorbar([b["grid"][k]["max_lr"] for k in ks],
                           [100 * b["grid"][k]["mean"] for k in ks],
                           yerr=[100 * b["grid"][k]["std"] for k in ks], marker="o", capsize=3,
                           label=f"grid, max/base = {ratio:g}")  # fmt: skip
        if b["auto"]:
            mx = float(np.mean([hi for _, hi in b["auto_bounds"]]))
            ax[1].errorbar([mx], [100 * b["auto"]["mean"]], yerr=[100 * b["auto"]["std"]],
                           marker="*", ms=14, color="#d62728", capsize=3,
                           label="range-test bounds (mean max_lr)")  # fmt: skip
        ax[1].set_xscale("log")
        ax[1].set_xlabel("max_lr")
        ax[1].set_title("§3.3: bounds, range test vs grid")
        ax[1].legend(fontsize=8)
        ax[1].grid(alpha=0.3)
    d = a["data"]
    if d:
        ns = [int(n) for n in d]
        fixed = [100 * x["fixed"][x["best_fixed_lr"]]["mean"] for x in d.values()]
        ax[2].plot(ns, fixed, marker="o", color="#222222",
                   label=f"best fixed LR, {cfg.fixed_budget:,} it")  # fmt: skip
        for which, c in (("large", "#d62728"), ("small", "#ff9896")):
            pts = [(int(n), 100 * x["one_cycle"][which]["mean"]) for n, x in d.items()
                   if which in x["one_cycle"]]  # fmt: skip
            if pts:
                ax[2].plot(*zip(*pts), marker="o", color=c,
                           label=f"1cycle {which} max_lr, {cfg.one_cycle_budget:,} it")
        ax[2].set_xscale("log")
        ax[2].set_xticks(ns, [str(n) for n in ns])
        ax[2].set_xlabel("training examples")
        ax[2].set_title("super-convergence vs training-set size")
        ax[2].legend(fontsize=8)
        ax[2].grid(alpha=0.3)
    for x in ax:
        x.set_ylabel("final test accuracy % (mean ± std)")
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
    args = ap.parse_args(argv)
    if args.seeds < 1:
        ap.error("--seeds must be >= 1")
    cfg = Config.quick() if args.quick else Config()
    seeds = list(range(args.seeds))
    cmd = " ".join(["python benchmarks/paper_claims.py",
                    *(sys.argv[1:] if argv is None else argv)])  # fmt: skip

    def log(msg: str) -> None:
        if not args.quiet:
            print(msg, file=sys.stderr, flush=True)

    t0 = time.perf_counter()
    rts, runs = run_pool(range_tests(cfg, seeds), lambda res: dependent_jobs(cfg, res),
                         independent_jobs(cfg, seeds), args.workers, log)  # fmt: skip
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
        "versions": {"cyclr": cyclr.__version__, "torch": torch.__version__,
                     "python": platform.python_version()},
        "git": provenance(),
        "results": a,
        "verdicts": v,
        "runs": [{k: x for k, x in r.items() if k not in ("schedule",)} for r in [*rts, *runs]],
    }  # fmt: skip
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "paper_claims.json").write_text(json.dumps(report, indent=1, default=float)
                                                + "\n")  # fmt: skip
    md = markdown(cfg, a, v, cmd) + f"\nWall time: {wall / 60:.1f} min with {args.workers} "
    md += "workers.\n"
    (args.out / "paper_claims.md").write_text(md)
    plot(cfg, a, args.out / "paper_claims.png")
    print(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
