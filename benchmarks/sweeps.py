"""Momentum and weight-decay sweeps (Smith 2018, §4.3-§4.4) on MNIST-1D, and whether they pay off.

1. **Sweeps.** ``cyclr.torch.sweep`` runs the LR range test (exponential, 1e-4 to 10) on the
   MNIST-1D CNN at momentum 0.99, 0.97, 0.95, 0.9 (weight decay 0), then at weight decay 1e-3,
   1e-4, 1e-5, 0 (momentum 0.9), on 3500 training examples, scoring 500 held-out training
   examples every 5 updates (60 points per curve). ``SweepResult.suggest()`` picks each value
   (the weight decay by the validation loss). The plots go to ``sweep_momentum.png`` and
   ``sweep_weight_decay.png``.
2. **Does the choice pay off?** Every swept value is trained, side by side in one run and
   interleaved per seed: SGD from the seed's initial weights, ``auto_schedule`` (its own range
   test, then 1cycle over ``--iters`` updates, constant momentum), the other hyper-parameter at
   its default (momentum 0.9, weight decay 0). Test accuracy on the 1000 MNIST-1D test examples,
   mean ± std over seeds, next to the sweep's reading of each value; then the chosen value (the
   leader, when there is no clear winner) against the default, paired per seed.

    python benchmarks/sweeps.py            # full run: 300-update sweeps, 1000 iterations, 3 seeds
    python benchmarks/sweeps.py --quick    # tiny smoke run (seconds)

Writes ``sweeps.{json,md}``, ``sweep_momentum.{json,png}`` and ``sweep_weight_decay.{json,png}``
to ``benchmarks/results/`` (``--out`` to change; ``--quick`` adds ``_quick`` to the names).
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

import cyclr
from cyclr.demo import mnist1d
from cyclr.torch import auto_schedule, sweep

RESULTS = Path(__file__).parent / "results"
DEFAULTS = {"momentum": 0.9, "weight_decay": 0.0}
VALUES = {"momentum": (0.99, 0.97, 0.95, 0.9), "weight_decay": (1e-3, 1e-4, 1e-5, 0.0)}
N_VAL = 500
CE = torch.nn.functional.cross_entropy


def _loader(
    x: torch.Tensor, y: torch.Tensor, batch_size: int, seed: int, shuffle: bool = True
) -> torch.utils.data.DataLoader:
    return torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(x, y),
        batch_size=batch_size,
        shuffle=shuffle,
        generator=torch.Generator().manual_seed(seed),
    )


def _optimizer(model: torch.nn.Module, momentum: float, weight_decay: float) -> torch.optim.SGD:
    return torch.optim.SGD(
        model.parameters(), lr=0.01, momentum=momentum, weight_decay=weight_decay
    )


def run_sweep(
    param: str, data: mnist1d.Data, num_iter: int, out: Path, suffix: str = ""
) -> dict[str, Any]:
    """One sweep on the sweep split; its plot, JSON and choice."""
    x, y = data.x_train, data.y_train
    train = _loader(x[:-N_VAL], y[:-N_VAL], 100, seed=0)
    val = _loader(x[-N_VAL:], y[-N_VAL:], 250, seed=0, shuffle=False)
    model = mnist1d.cnn(seed=0)
    opt = _optimizer(model, DEFAULTS["momentum"], DEFAULTS["weight_decay"])
    start = time.perf_counter()
    result = sweep(
        model,
        opt,
        CE,
        train,
        param=param,
        values=VALUES[param],
        num_iter=num_iter,
        start_lr=1e-4,
        end_lr=10.0,
        val_loader=val,
        val_every=max(2, num_iter // 60),
        val_batches=2,
        progress=False,
        seed=0,
    )
    seconds = time.perf_counter() - start
    choice = result.suggest()
    result.save(out / f"sweep_{param}{suffix}.json")
    png = out / f"sweep_{param}{suffix}.png"
    _plot(result, choice, png)
    return {
        "param": param,
        "values": list(result.values),
        "value": choice.value,
        "leader": choice.leader,
        "clear": choice.clear,
        "curve": choice.curve,
        "reason": choice.reason,
        "next_values": list(choice.next_values),
        "bounds": None if choice.bounds is None else [choice.bounds.base_lr, choice.bounds.max_lr],
        "readings": [r.to_dict() for r in choice.readings],
        "seconds": seconds,
        "updates": sum(len(r) for r in result.results),
        "png": png.name,
    }


def _plot(result: cyclr.SweepResult, choice: cyclr.SweepSuggestion, path: Path) -> None:
    from matplotlib.figure import Figure

    import cyclr.plot

    fig = Figure(figsize=(8, 5), dpi=110, layout="constrained")
    cyclr.plot.sweep(result, fig.add_subplot(), suggestion=choice)
    fig.savefig(path)


def train_arm(
    momentum: float,
    weight_decay: float,
    data: mnist1d.Data,
    iters: int,
    seed: int,
    auto_kw: dict[str, Any],
) -> dict[str, Any]:
    """auto 1cycle (constant momentum) from the seed's initial weights; test accuracy."""
    model = mnist1d.cnn(seed=seed)
    opt = _optimizer(model, momentum, weight_decay)
    start = time.perf_counter()
    sched = auto_schedule(
        model,
        opt,
        CE,
        mnist1d.loader(data, 100, seed),
        policy="one_cycle",
        total_steps=iters,
        momentum=False,
        progress=False,
        seed=seed,
        **auto_kw,
    )
    res = mnist1d.train(
        model, opt, data, iters, scheduler=sched, seed=seed, eval_every=max(1, iters)
    )
    return {
        "seed": seed,
        "momentum": momentum,
        "weight_decay": weight_decay,
        "final_acc": res.final_acc,
        "diverged": res.diverged,
        "max_lr": float(sched.bounds.max_lr),
        "seconds": time.perf_counter() - start,
    }


Runs = dict[tuple[float, float], list[dict[str, Any]]]


def train_all(data: mnist1d.Data, iters: int, seeds: list[int], auto_kw: dict[str, Any]) -> Runs:
    """Every swept value (the other hyper-parameter at its default), interleaved per seed."""
    configs = [(m, DEFAULTS["weight_decay"]) for m in VALUES["momentum"]]
    configs += [
        (DEFAULTS["momentum"], wd)
        for wd in VALUES["weight_decay"]
        if (DEFAULTS["momentum"], wd) not in configs
    ]
    runs: Runs = {c: [] for c in configs}
    for seed in seeds:
        for m, wd in configs:
            runs[(m, wd)].append(train_arm(m, wd, data, iters, seed, auto_kw))
    return runs


def compare(sweep_summary: dict[str, Any], runs: Runs) -> dict[str, Any]:
    """The swept values' training results, and the chosen value (the leader) against the default."""
    param = sweep_summary["param"]

    def key(value: float) -> tuple[float, float]:
        hp = dict(DEFAULTS)
        hp[param] = value
        return hp["momentum"], hp["weight_decay"]

    readings = {r["value"]: r for r in sweep_summary["readings"]}
    rows = []
    for value in sweep_summary["values"]:
        acc = np.array([r["final_acc"] for r in runs[key(value)]])
        rows.append(
            {
                "value": value,
                "acc_mean": float(acc.mean()),
                "acc_std": float(acc.std()),
                "acc": acc.tolist(),
                "stable_lr": readings[value]["stable_lr"],
                "floor": readings[value]["floor"],
                "max_lr_mean": float(np.mean([r["max_lr"] for r in runs[key(value)]])),
            }
        )
    chosen, default = sweep_summary["leader"], DEFAULTS[param]
    diff = np.array(
        [c["final_acc"] - d["final_acc"] for c, d in zip(runs[key(chosen)], runs[key(default)])]
    )
    best = max(rows, key=lambda r: r["acc_mean"])
    return {
        "param": param,
        "default_value": default,
        "chosen_value": chosen,
        "clear": sweep_summary["clear"],
        "same_as_default": chosen == default,
        "rows": rows,
        "best_trained_value": best["value"],
        "paired_diff_mean": float(diff.mean()),
        "paired_diff_std": float(diff.std()),
        "chosen_wins": int((diff > 0).sum()),
        "seeds": len(diff),
    }


def markdown(report: dict[str, Any]) -> str:
    lines = [
        "| sweep | values | choice | LR bounds of the choice | curve | sweep time |",
        "|---|---|---|---|---|---|",
    ]
    for s in report["sweeps"]:
        vals = ", ".join(f"{v:g}" for v in s["values"])
        choice = f"{s['value']:g}" if s["clear"] else f"no clear winner (leader {s['leader']:g})"
        b = s["bounds"]
        bounds = f"{b[0]:.3g} - {b[1]:.3g}" if b else "-"
        lines.append(
            f"| {s['param']} | {vals} | {choice} | {bounds} | {s['curve']} | "
            f"{s['seconds']:.1f} s ({s['updates']} updates) |"
        )
    lines += [
        "",
        f"Every value trained: auto 1cycle, {report['iters']} iterations, "
        f"{len(report['seeds'])} seed(s), test accuracy (mean ± std); the sweep's "
        "reading of its curve beside it:",
        "",
        "| hyper-parameter | value | test accuracy | sweep: stable up to lr | "
        "sweep: floor | auto max_lr |",
        "|---|---|---|---|---|---|",
    ]
    for c in report["comparisons"]:
        for r in c["rows"]:
            tags = [
                t
                for t, on in (
                    ("default", r["value"] == c["default_value"]),
                    ("chosen" if c["clear"] else "leader", r["value"] == c["chosen_value"]),
                )
                if on
            ]
            name = f"{r['value']:g}" + (f" ({', '.join(tags)})" if tags else "")
            stable = "-" if r["stable_lr"] is None else f"{r['stable_lr']:.3g}"
            floor = "-" if r["floor"] is None else f"{r['floor']:.3f}"
            lines.append(
                f"| {c['param']} | {name} | {100 * r['acc_mean']:.2f} ± "
                f"{100 * r['acc_std']:.2f} % | {stable} | {floor} | "
                f"{r['max_lr_mean']:.3g} |"
            )
    lines += [
        "",
        "| hyper-parameter | chosen - default (paired, per seed) | chosen better | "
        "best trained value |",
        "|---|---|---|---|",
    ]
    for c in report["comparisons"]:
        same = " (chosen = default)" if c["same_as_default"] else ""
        lines.append(
            f"| {c['param']} | {100 * c['paired_diff_mean']:+.2f} ± "
            f"{100 * c['paired_diff_std']:.2f} pt{same} | {c['chosen_wins']}/"
            f"{c['seeds']} | {c['best_trained_value']:g} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny smoke run")
    parser.add_argument("--seeds", type=int, default=3, help="training seeds (default 3)")
    parser.add_argument("--iters", type=int, default=1000, help="1cycle iterations (default 1000)")
    parser.add_argument("--num-iter", type=int, default=300, help="updates per range test")
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder for the results")
    parser.add_argument(
        "--replot",
        action="store_true",
        help="redraw the sweep plots from the saved sweeps in --out (no training)",
    )
    args = parser.parse_args(argv)
    if args.replot:
        for param in ("momentum", "weight_decay"):
            result = cyclr.SweepResult.load(args.out / f"sweep_{param}.json")
            _plot(result, result.suggest(), args.out / f"sweep_{param}.png")
        return 0
    torch.set_num_threads(1)
    n_train = None
    if args.quick:
        args.seeds, args.iters, args.num_iter, n_train = 1, 60, 40, 1000
    args.out.mkdir(parents=True, exist_ok=True)
    data = mnist1d.load(n_train=n_train)
    start = time.perf_counter()
    suffix = "_quick" if args.quick else ""
    sweeps = [
        run_sweep(p, data, args.num_iter, args.out, suffix) for p in ("momentum", "weight_decay")
    ]
    seeds = list(range(args.seeds))
    auto_kw = {"coarse_iter": 40, "linear_iter": 60} if args.quick else {}
    runs = train_all(data, args.iters, seeds, auto_kw)
    comparisons = [compare(s, runs) for s in sweeps]
    report = {
        "quick": args.quick,
        "iters": args.iters,
        "num_iter": args.num_iter,
        "seeds": seeds,
        "n_train": len(data.x_train),
        "sweeps": sweeps,
        "comparisons": comparisons,
        "seconds": time.perf_counter() - start,
        "versions": {
            "cyclr": cyclr.__version__,
            "torch": torch.__version__,
            "python": platform.python_version(),
        },
    }
    name = f"sweeps{suffix}"
    (args.out / f"{name}.json").write_text(json.dumps(report, indent=1) + "\n")
    md = markdown(report)
    (args.out / f"{name}.md").write_text(md)
    print(md)
    for s in sweeps:
        print(f"{s['param']}: {s['reason']}")
    print(f"total {report['seconds']:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
